# Service accounts and their grants. Every grant is on one resource (the bucket, the
# dataset, a job) except ONE, documented below: roles/bigquery.jobUser on the project.
#
# Crawl duty (collector): create objects (new Parquet files, state), read and list them
# (the crawl state, lake listings), overwrite the crawl state
# (`<prefix>/_polit/state/<board>.json`) and watch's heartbeat (`<prefix>/_polit/status/`),
# and renew, take over and delete the crawl leases (`<prefix>/_polit/lease/`: one crawler
# per lake and board). Overwriting or deleting an object needs storage.objects.delete, which
# objectCreator does not have, so roles/storage.objectUser is granted with an IAM condition
# limited to those prefixes.
#
# Load duty (loader): read the lake (BigQuery load jobs read gs:// with the caller's
# permissions), write and compact the load manifest (`<prefix>/_polit/manifest/`: objectUser
# on that prefix only, as compacting deletes the documents it folded in, and `polit rebuild`
# drops the manifest), edit tables in the dataset, and run jobs.
#
# The one project-level role: roles/bigquery.jobUser. Its permission
# bigquery.jobs.create exists only at project level (a job belongs to a project, not to a
# dataset), so it cannot be granted on the dataset. It lets the account run jobs, not read
# or change any data: data access still comes from the dataset-level dataEditor grant.

locals {
  identities = var.split_identities ? {
    collector = "polit crawl: writes the lake"
    loader    = "polit load + transform: lake -> BigQuery"
    } : {
    pipeline = "polit run: crawl, load and transform"
  }
  collector_key    = var.split_identities ? "collector" : "pipeline"
  loader_key       = var.split_identities ? "loader" : "pipeline"
  prefix           = var.lake_prefix == "" ? "" : "${trimsuffix(var.lake_prefix, "/")}/"
  objects          = "projects/_/buckets/${var.bucket_name}/objects/${local.prefix}"
  collector_member = "serviceAccount:${google_service_account.runtime[local.collector_key].email}"
  loader_member    = "serviceAccount:${google_service_account.runtime[local.loader_key].email}"
}

resource "google_service_account" "runtime" {
  for_each     = local.identities
  project      = var.project_id
  account_id   = "${var.name_prefix}-${each.key}"
  display_name = each.value
  description  = "Runs ${each.value} (managed by terraform/modules/iam)."
}

resource "google_service_account" "invoker" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-invoker"
  display_name = "polit scheduler invoker"
  description  = "Cloud Scheduler's identity: may run the polit Cloud Run jobs, nothing else."
}

# ---- crawl duty: on the bucket ----------------------------------------------------------
resource "google_storage_bucket_iam_member" "collector_object_creator" {
  bucket = var.bucket_name
  role   = "roles/storage.objectCreator"
  member = local.collector_member
}

resource "google_storage_bucket_iam_member" "collector_object_viewer" {
  bucket = var.bucket_name
  role   = "roles/storage.objectViewer"
  member = local.collector_member
}

resource "google_storage_bucket_iam_member" "collector_state_overwrite" {
  bucket = var.bucket_name
  role   = "roles/storage.objectUser"
  member = local.collector_member

  condition {
    title       = "polit-crawl-state-only"
    description = "Overwrite the crawl state, watch's heartbeat and the crawl leases only (an overwrite needs storage.objects.delete)."
    expression  = "resource.name.startsWith(\"${local.objects}_polit/state/\") || resource.name.startsWith(\"${local.objects}_polit/status/\") || resource.name.startsWith(\"${local.objects}_polit/lease/\")"
  }
}

# ---- load duty: on the bucket, the dataset, and jobUser on the project --------------------
resource "google_storage_bucket_iam_member" "loader_object_viewer" {
  count  = var.split_identities ? 1 : 0 # the pipeline account has it from the crawl duty
  bucket = var.bucket_name
  role   = "roles/storage.objectViewer"
  member = local.loader_member
}

resource "google_storage_bucket_iam_member" "loader_manifest_writer" {
  bucket = var.bucket_name
  role   = "roles/storage.objectUser"
  member = local.loader_member

  condition {
    title       = "polit-load-manifest-only"
    description = "Write, compact and drop the load manifest documents only."
    expression  = "resource.name.startsWith(\"${local.objects}_polit/manifest/\")"
  }
}

resource "google_bigquery_dataset_iam_member" "loader_data_editor" {
  project    = var.project_id
  dataset_id = var.dataset_id
  role       = "roles/bigquery.dataEditor"
  member     = local.loader_member
}

# The documented exception (see the top of this file): jobs exist only at project level.
resource "google_project_iam_member" "loader_job_user" {
  project = var.project_id
  role    = "roles/bigquery.jobUser"
  member  = local.loader_member
}

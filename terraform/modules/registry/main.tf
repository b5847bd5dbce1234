# Docker repository for the polit image. Tags are immutable: deploy by commit tag, never
# by re-pointing a tag the running job uses. Storage is billed past 0.5 GiB a month: the
# cleanup keeps the newest `keep_versions` and deletes the others after `delete_after_days`.
resource "google_artifact_registry_repository" "images" {
  #checkov:skip=CKV_GCP_84:Google-managed encryption; the image holds open-source code and no secrets, so a customer-managed key adds cost and nothing to protect.
  project       = var.project_id
  location      = var.region
  repository_id = var.repository_id
  description   = "polit container images"
  format        = "DOCKER"
  labels        = var.labels

  docker_config {
    immutable_tags = true
  }

  cleanup_policy_dry_run = false

  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = var.keep_versions
    }
  }

  cleanup_policies {
    id     = "delete-old"
    action = "DELETE"
    condition {
      tag_state  = "ANY"
      older_than = "${var.delete_after_days * 86400}s"
    }
  }
}

# Who may pull the image: the VM's service account (Cloud Run pulls as its service agent).
resource "google_artifact_registry_repository_iam_member" "readers" {
  for_each   = toset(var.reader_members)
  project    = var.project_id
  location   = var.region
  repository = google_artifact_registry_repository.images.name
  role       = "roles/artifactregistry.reader"
  member     = each.value
}

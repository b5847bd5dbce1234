# The lake bucket: private (uniform bucket-level access, public access prevention
# enforced), raw Parquet files deleted by age (and moved to a colder class before, if asked).
resource "google_storage_bucket" "lake" {
  #checkov:skip=CKV_GCP_62:Access logs would go to a second bucket for a single-writer pipeline; Cloud Audit Logs (data access) can be turned on per project instead.
  #checkov:skip=CKV_GCP_78:Versioning is a variable (off by default): lake files are write-once and the crawl state is rewritten hourly, so versions add cost, not safety; soft delete keeps deleted objects recoverable.
  name                        = var.bucket_name
  project                     = var.project_id
  location                    = var.location
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false
  labels                      = var.labels

  versioning {
    enabled = var.versioning
  }

  soft_delete_policy {
    retention_duration_seconds = var.soft_delete_days * 86400
  }

  # Raw objects: STANDARD -> colder class after cold_after_days (unless null: a month of
  # /pol/'s raw files, ~1 GiB, fits the free 5 GiB of Standard, and every move is an operation).
  dynamic "lifecycle_rule" {
    for_each = var.cold_after_days == null ? [] : [var.cold_after_days]
    content {
      condition {
        age                   = lifecycle_rule.value
        matches_prefix        = [var.raw_prefix]
        matches_storage_class = ["STANDARD"]
      }
      action {
        type          = "SetStorageClass"
        storage_class = var.cold_storage_class
      }
    }
  }

  # Raw objects: deleted after delete_after_days (the raw retention).
  lifecycle_rule {
    condition {
      age            = var.delete_after_days
      matches_prefix = [var.raw_prefix]
    }
    action {
      type = "Delete"
    }
  }

  dynamic "lifecycle_rule" {
    for_each = var.versioning ? [1] : []
    content {
      condition {
        days_since_noncurrent_time = var.noncurrent_delete_days
        with_state                 = "ARCHIVED"
      }
      action {
        type = "Delete"
      }
    }
  }
}

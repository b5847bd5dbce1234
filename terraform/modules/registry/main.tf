# Docker repository for the polit image. Tags are immutable: deploy by commit tag, never
# by re-pointing a tag the running job uses.
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
      older_than = "2592000s"
    }
  }
}

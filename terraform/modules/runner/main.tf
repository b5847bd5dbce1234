# One Cloud Run job (`polit run` by default) and a Cloud Scheduler job that runs it on a cron
# schedule with an OAuth token of the invoker account. (The continuous crawler, `polit watch`,
# runs on the always-free VM instead: modules/vm.)

resource "google_cloud_run_v2_job" "job" {
  name                = var.job_name
  project             = var.project_id
  location            = var.region
  labels              = var.labels
  deletion_protection = var.deletion_protection

  template {
    task_count  = 1
    parallelism = 1
    labels      = var.labels

    template {
      service_account = var.service_account_email
      timeout         = "${var.task_timeout_seconds}s"
      max_retries     = var.max_retries

      containers {
        image   = var.image
        command = var.command
        args    = var.args

        resources {
          limits = {
            cpu    = var.cpu
            memory = var.memory
          }
        }

        env {
          name  = "POLIT_LAKE"
          value = var.lake_url
        }
        env {
          name  = "POLIT_WAREHOUSE"
          value = var.warehouse_url
        }
        env {
          name  = "POLIT_MAX_RPS"
          value = tostring(var.max_rps)
        }
        env {
          name  = "POLIT_BOARDS"
          value = var.boards
        }
        env {
          name  = "POLIT_BIGQUERY_LOCATION"
          value = var.bigquery_location
        }
        env {
          name  = "POLIT_DBT_PROJECT"
          value = var.dbt_project_dir
        }
        dynamic "env" {
          for_each = var.extra_env
          content {
            name  = env.key
            value = env.value
          }
        }
      }
    }
  }
}

# The scheduler's identity may run THIS job and nothing else.
resource "google_cloud_run_v2_job_iam_member" "invoker" {
  project  = var.project_id
  location = var.region
  name     = google_cloud_run_v2_job.job.name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${var.invoker_service_account_email}"
}

resource "google_cloud_scheduler_job" "trigger" {
  name             = "${var.job_name}-trigger"
  project          = var.project_id
  region           = var.region
  description      = "Runs the ${var.job_name} Cloud Run job on \"${var.schedule}\" (${var.time_zone})."
  schedule         = var.schedule
  time_zone        = var.time_zone
  attempt_deadline = "180s"

  retry_config {
    retry_count = 1
  }

  http_target {
    http_method = "POST"
    uri         = "https://run.googleapis.com/v2/projects/${var.project_id}/locations/${var.region}/jobs/${google_cloud_run_v2_job.job.name}:run"

    oauth_token {
      service_account_email = var.invoker_service_account_email
      scope                 = "https://www.googleapis.com/auth/cloud-platform"
    }
  }

  depends_on = [google_cloud_run_v2_job_iam_member.invoker]
}

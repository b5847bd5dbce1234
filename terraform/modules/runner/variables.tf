variable "project_id" {
  description = "Google Cloud project of the job and its scheduler."
  type        = string
}

variable "region" {
  description = "Region of the Cloud Run job and the Cloud Scheduler job."
  type        = string
  default     = "us-central1"
}

variable "job_name" {
  description = "Cloud Run job name; the scheduler job is `<job_name>-trigger`."
  type        = string
  default     = "polit-run"
}

variable "image" {
  description = "Container image (REGION-docker.pkg.dev/PROJECT/REPO/polit:TAG) whose entrypoint is `polit`."
  type        = string
}

variable "command" {
  description = "Entrypoint override; null keeps the image's (`polit`)."
  type        = list(string)
  default     = null
}

variable "args" {
  description = "Arguments to the entrypoint: [\"run\"] = one crawl cycle, then load, then transform."
  type        = list(string)
  default     = ["run"]
}

variable "schedule" {
  description = "Cron schedule of the job (the seed crawls at :25 past every hour)."
  type        = string
  default     = "25 * * * *"
}

variable "time_zone" {
  description = "Time zone of the schedule."
  type        = string
  default     = "Etc/UTC"
}

variable "service_account_email" {
  description = "Service account the job runs as."
  type        = string
}

variable "invoker_service_account_email" {
  description = "Service account Cloud Scheduler uses (OAuth token) to run the job; granted roles/run.invoker on this job only."
  type        = string
}

variable "lake_url" {
  description = "POLIT_LAKE: the lake, gs://BUCKET/PREFIX."
  type        = string

  validation {
    condition     = startswith(var.lake_url, "gs://")
    error_message = "lake_url must be a gs:// URL."
  }
}

variable "warehouse_url" {
  description = "POLIT_WAREHOUSE: bigquery://PROJECT/DATASET."
  type        = string

  validation {
    condition     = startswith(var.warehouse_url, "bigquery://")
    error_message = "warehouse_url must be a bigquery://PROJECT/DATASET URL."
  }
}

variable "bigquery_location" {
  description = "POLIT_BIGQUERY_LOCATION: location of the dataset, where dbt runs its jobs."
  type        = string
  default     = "US"
}

variable "boards" {
  description = "POLIT_BOARDS: boards to crawl, comma-separated."
  type        = string
  default     = "pol"
}

variable "max_rps" {
  description = "POLIT_MAX_RPS: API requests per second. The API's rules allow at most 1."
  type        = number
  default     = 1

  validation {
    condition     = var.max_rps > 0 && var.max_rps <= 1
    error_message = "max_rps must be above 0 and at most 1 (the 4chan API's limit)."
  }
}

variable "dbt_project_dir" {
  description = "POLIT_DBT_PROJECT: where the image keeps the dbt project."
  type        = string
  default     = "/app/dbt"
}

variable "extra_env" {
  description = "More environment variables for the container (no secrets: polit authenticates with the job's service account)."
  type        = map(string)
  default     = {}

  validation {
    condition     = length(setintersection(keys(var.extra_env), ["POLIT_LAKE", "POLIT_WAREHOUSE", "POLIT_MAX_RPS", "POLIT_BOARDS", "POLIT_BIGQUERY_LOCATION", "POLIT_DBT_PROJECT"])) == 0
    error_message = "extra_env must not set the variables this module sets itself."
  }
}

variable "cpu" {
  description = "vCPUs of the job's container (Cloud Run limits syntax, e.g. \"1\")."
  type        = string
  default     = "1"
}

variable "memory" {
  description = "Memory of the job's container (e.g. \"2Gi\": dbt, pyarrow and DuckDB in one process)."
  type        = string
  default     = "2Gi"
}

variable "task_timeout_seconds" {
  description = "Task timeout. Below the schedule interval, so that two runs never write the crawl state at once."
  type        = number
  default     = 3000

  validation {
    condition     = var.task_timeout_seconds >= 60 && var.task_timeout_seconds < 3600
    error_message = "task_timeout_seconds must be between 60 and 3599 (an hourly job must end before the next one starts)."
  }
}

variable "max_retries" {
  description = "Retries of a failed task within one execution."
  type        = number
  default     = 1
}

variable "deletion_protection" {
  description = "Refuse `terraform destroy` of the job."
  type        = bool
  default     = true
}

variable "labels" {
  description = "Labels put on the job and the scheduler-started executions."
  type        = map(string)
  default     = {}
}

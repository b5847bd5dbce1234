variable "project_id" {
  description = "Google Cloud project to deploy into."
  type        = string
}

variable "region" {
  description = "Region of the bucket, the Cloud Run jobs, the scheduler and the image repository."
  type        = string
  default     = "us-central1"
}

variable "bucket_name" {
  description = "Globally unique name of the lake bucket."
  type        = string
}

variable "lake_prefix" {
  description = "Prefix of the lake inside the bucket, without slashes at the ends: the lake is gs://BUCKET/PREFIX."
  type        = string
  default     = "lake"

  validation {
    condition     = !startswith(var.lake_prefix, "/") && !endswith(var.lake_prefix, "/")
    error_message = "lake_prefix must not start or end with a slash."
  }
}

variable "dataset_id" {
  description = "BigQuery dataset of the warehouse."
  type        = string
  default     = "polit"
}

variable "bigquery_location" {
  description = "Location of the BigQuery dataset (US multi-region loads from the us-central1 bucket)."
  type        = string
  default     = "US"
}

variable "cold_storage_class" {
  description = "Storage class raw lake objects move to after cold_after_days: NEARLINE or COLDLINE."
  type        = string
  default     = "NEARLINE"
}

variable "cold_after_days" {
  description = "Days after which raw lake objects move to the colder class."
  type        = number
  default     = 7
}

variable "raw_retention_days" {
  description = "Days after which raw lake objects are deleted; greater than cold_after_days."
  type        = number
  default     = 30
}

variable "bucket_versioning" {
  description = "Object versioning on the lake bucket."
  type        = bool
  default     = false
}

variable "image_tag" {
  description = "Tag of the polit image in the repository (a commit id; tags are immutable)."
  type        = string
}

variable "schedule" {
  description = "Cron schedule of `polit run` in UTC: crawl, load and transform at :25 past every hour."
  type        = string
  default     = "25 * * * *"
}

variable "load_schedule" {
  description = "With split_identities: cron schedule of the load + transform job (the seed loads at :35)."
  type        = string
  default     = "35 * * * *"
}

variable "split_identities" {
  description = "false: one `polit run` job as one pipeline account. true: a crawl job (collector account) at `schedule` and a load + transform job (loader account) at `load_schedule`."
  type        = bool
  default     = false
}

variable "boards" {
  description = "Boards to crawl, comma-separated."
  type        = string
  default     = "pol"
}

variable "max_rps" {
  description = "API requests per second (at most 1)."
  type        = number
  default     = 1
}

variable "job_cpu" {
  description = "vCPUs of the job's container."
  type        = string
  default     = "1"
}

variable "job_memory" {
  description = "Memory of the job's container."
  type        = string
  default     = "2Gi"
}

variable "enable_watch" {
  description = "Also run `polit watch` continuously as a Cloud Run service (see modules/runner)."
  type        = bool
  default     = false
}

variable "deletion_protection" {
  description = "Refuse `terraform destroy` of the Cloud Run job and service."
  type        = bool
  default     = true
}

variable "labels" {
  description = "Labels put on every resource that takes labels."
  type        = map(string)
  default = {
    app = "polit"
    env = "dev"
  }
}

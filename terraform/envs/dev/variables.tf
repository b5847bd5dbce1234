variable "project_id" {
  description = "Google Cloud project to deploy into."
  type        = string
}

variable "runner" {
  description = "What crawls, loads and transforms. vm (the default, complete and always free): `polit watch` on an e2-micro VM, with load and transform on timers there. cloud_run: the hourly Cloud Run job (`polit run`) from Cloud Scheduler. Exactly one of them exists, so two crawlers never share the lake."
  type        = string
  default     = "vm"

  validation {
    condition     = contains(["vm", "cloud_run"], var.runner)
    error_message = "runner must be vm or cloud_run."
  }
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
  description = "Days after which raw lake objects move to the colder class; null (the default) keeps them Standard until deleted (inside the free 5 GiB for /pol/)."
  type        = number
  default     = null
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
  description = "runner = cloud_run: cron schedule of `polit run` in UTC: crawl, load and transform at :25 past every hour."
  type        = string
  default     = "25 * * * *"
}

variable "load_schedule" {
  description = "With split_identities: cron schedule of the load + transform job (the seed loads at :35)."
  type        = string
  default     = "35 * * * *"
}

variable "split_identities" {
  description = "runner = cloud_run only. false: one `polit run` job as one pipeline account. true: a crawl job (collector account) at `schedule` and a load + transform job (loader account) at `load_schedule`."
  type        = bool
  default     = false

  validation {
    condition     = !(var.split_identities && var.runner == "vm")
    error_message = "split_identities applies to runner = cloud_run; the VM runs every duty as one account."
  }
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

variable "deletion_protection" {
  description = "Refuse `terraform destroy` of the VM or the Cloud Run job."
  type        = bool
  default     = true
}

variable "vm_zone" {
  description = "runner = vm: zone of the VM, in `region` (us-central1, us-east1 or us-west1: the free tier)."
  type        = string
  default     = "us-central1-a"
}

variable "vm_external_ipv4" {
  description = "runner = vm: also give the VM an external IPv4 address (charged; only if the API stops answering over IPv6). See `polit cost --vm-network ipv4`."
  type        = bool
  default     = false
}

variable "watch_interval" {
  description = "runner = vm: seconds between the cycles of `polit watch`."
  type        = number
  default     = 60
}

variable "flush_minutes" {
  description = "runner = vm: how often `polit watch` writes its files to the lake."
  type        = number
  default     = 10
}

variable "heartbeat_seconds" {
  description = "runner = vm: `polit watch --heartbeat-seconds` (one Cloud Storage write each)."
  type        = number
  default     = 300

  validation {
    condition     = var.heartbeat_seconds >= 0 && var.heartbeat_seconds <= 600
    error_message = "heartbeat_seconds must be between 0 and 600 (the health check allows 900 s)."
  }
}

variable "load_calendar" {
  description = "runner = vm: when `polit load` runs (systemd OnCalendar, UTC): every hour at :35."
  type        = string
  default     = "*-*-* *:35:00 UTC"
}

variable "transform_calendar" {
  description = "runner = vm: when `polit transform` runs (systemd OnCalendar, UTC): every second hour at :45, which keeps BigQuery's queries inside its free TiB a month; `*-*-* *:45:00 UTC` every hour (~$4.60 a month more at /pol/'s volume: `polit cost --transform-every-hours 1`)."
  type        = string
  default     = "*-*-* 00/2:45:00 UTC"
}

variable "labels" {
  description = "Labels put on every resource that takes labels."
  type        = map(string)
  default = {
    app = "polit"
    env = "dev"
  }
}

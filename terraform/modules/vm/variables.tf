variable "project_id" {
  description = "Google Cloud project of the VM and its network."
  type        = string
}

variable "name" {
  description = "Name of the VM; its network, subnet and firewall rules are named after it."
  type        = string
  default     = "polit"
}

variable "region" {
  description = "Region of the subnet: us-central1, us-east1 or us-west1 (the e2-micro free tier)."
  type        = string
  default     = "us-central1"

  validation {
    condition     = contains(["us-central1", "us-east1", "us-west1"], var.region)
    error_message = "The always-free e2-micro runs in us-central1, us-east1 or us-west1 only."
  }
}

variable "zone" {
  description = "Zone of the VM, in the region."
  type        = string
  default     = "us-central1-a"
}

variable "machine_type" {
  description = "Machine type. e2-micro is always free (one a month per billing account)."
  type        = string
  default     = "e2-micro"
}

variable "boot_image" {
  description = "Boot image: Container-Optimized OS, which runs the polit image with Docker and reads the cloud-init in `user-data`."
  type        = string
  default     = "cos-cloud/cos-stable"
}

variable "disk_gb" {
  description = "Boot disk size in GB (standard persistent disk; 30 GB-months are free)."
  type        = number
  default     = 10

  validation {
    condition     = var.disk_gb >= 10 && var.disk_gb <= 30
    error_message = "disk_gb must be between 10 (Container-Optimized OS) and 30 (the free tier)."
  }
}

variable "subnet_cidr" {
  description = "Internal IPv4 range of the subnet (every VM has an internal IPv4 address)."
  type        = string
  default     = "10.20.0.0/28"
}

variable "external_ipv4" {
  description = "Also give the VM an ephemeral external IPv4 address. Charged (see src/polit/prices.toml); only for when the API cannot be reached over IPv6."
  type        = bool
  default     = false
}

variable "image" {
  description = "Container image (REGION-docker.pkg.dev/PROJECT/REPO/polit:TAG) whose entrypoint is `polit`."
  type        = string
}

variable "service_account_email" {
  description = "Service account of the VM (the crawl and load duties, and reading the image repository)."
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
  description = "More environment variables for the containers (no secrets: polit authenticates as the VM's service account)."
  type        = map(string)
  default     = {}

  validation {
    condition     = length(setintersection(keys(var.extra_env), ["POLIT_LAKE", "POLIT_WAREHOUSE", "POLIT_MAX_RPS", "POLIT_BOARDS", "POLIT_BIGQUERY_LOCATION", "POLIT_DBT_PROJECT"])) == 0
    error_message = "extra_env must not set the variables this module sets itself."
  }
}

variable "watch_interval" {
  description = "Seconds between the cycles of `polit watch`."
  type        = number
  default     = 60

  validation {
    condition     = var.watch_interval >= 10
    error_message = "watch_interval must be at least 10 seconds (the API's minimum per thread)."
  }
}

variable "flush_minutes" {
  description = "`polit watch --flush-minutes`: how often it writes its Parquet files and state to the lake."
  type        = number
  default     = 10
}

variable "heartbeat_seconds" {
  description = "`polit watch --heartbeat-seconds`: it writes its heartbeat (one Cloud Storage write) after the first cycle, then at most this often. `polit status --max-age 900` (the image's health check) needs it well under 900."
  type        = number
  default     = 300

  validation {
    condition     = var.heartbeat_seconds >= 0 && var.heartbeat_seconds <= 600
    error_message = "heartbeat_seconds must be between 0 and 600 (the health check allows 900 s)."
  }
}

variable "load_calendar" {
  description = "When `polit load` runs: a systemd OnCalendar expression, UTC (the seed loads at :35)."
  type        = string
  default     = "*-*-* *:35:00 UTC"
}

variable "transform_calendar" {
  description = "When `polit transform` runs: a systemd OnCalendar expression, UTC. Every second hour at :45, after that hour's load: an hourly `dbt build` bills ~1.7 TiB a month on BigQuery, beyond its free TiB (`polit cost --transform-every-hours 1`); `*-*-* *:45:00 UTC` for every hour."
  type        = string
  default     = "*-*-* 00/2:45:00 UTC"
}

variable "deletion_protection" {
  description = "Refuse `terraform destroy` of the VM."
  type        = bool
  default     = true
}

variable "labels" {
  description = "Labels put on the VM."
  type        = map(string)
  default     = {}
}

variable "project_id" {
  description = "Google Cloud project that owns the dataset."
  type        = string
}

variable "dataset_id" {
  description = "BigQuery dataset for raw_posts, raw_threads and the dbt models (POLIT_WAREHOUSE=bigquery://PROJECT/DATASET)."
  type        = string
  default     = "polit"

  validation {
    condition     = can(regex("^[A-Za-z0-9_]{1,1024}$", var.dataset_id))
    error_message = "dataset_id may hold only letters, digits and underscores."
  }
}

variable "location" {
  description = "Dataset location. US (multi-region) loads from any US bucket, the lake's us-central1 included; it must not change after creation."
  type        = string
  default     = "US"
}

variable "max_time_travel_hours" {
  description = "Time travel window in hours (48 to 168); physical-storage billing charges for it, logical billing does not."
  type        = number
  default     = 168

  validation {
    condition     = var.max_time_travel_hours >= 48 && var.max_time_travel_hours <= 168 && var.max_time_travel_hours % 24 == 0
    error_message = "max_time_travel_hours must be a multiple of 24 between 48 and 168."
  }
}

variable "labels" {
  description = "Labels put on the dataset."
  type        = map(string)
  default     = {}
}

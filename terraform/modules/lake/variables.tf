variable "project_id" {
  description = "Google Cloud project that owns the bucket."
  type        = string
}

variable "bucket_name" {
  description = "Globally unique name of the lake bucket (polit's lake is gs://BUCKET/PREFIX)."
  type        = string
}

variable "location" {
  description = "Bucket location. A single US region (us-central1) is the cheapest and BigQuery's US multi-region loads from it."
  type        = string
  default     = "us-central1"
}

variable "raw_prefix" {
  description = "Object prefix the lifecycle rules apply to: the lake's raw Parquet files (`<lake prefix>/raw/`). Crawl state and load manifests under `_polit/` are never moved or deleted."
  type        = string
  default     = "raw/"
}

variable "cold_storage_class" {
  description = "Colder class raw objects move to after `cold_after_days` (NEARLINE: 30-day minimum storage, COLDLINE: 90-day minimum; both counted from the object's creation)."
  type        = string
  default     = "NEARLINE"

  validation {
    condition     = contains(["NEARLINE", "COLDLINE"], var.cold_storage_class)
    error_message = "cold_storage_class must be NEARLINE or COLDLINE."
  }
}

variable "cold_after_days" {
  description = "Age in days after which raw objects move to `cold_storage_class`; null (the default) keeps them Standard until deleted, the cheapest while the raw files fit Cloud Storage's free 5 GiB."
  type        = number
  default     = null

  validation {
    condition     = var.cold_after_days == null ? true : var.cold_after_days >= 1 && floor(var.cold_after_days) == var.cold_after_days
    error_message = "cold_after_days must be null or a whole number of days, at least 1."
  }
}

variable "delete_after_days" {
  description = "Age in days after which raw objects are deleted (raw retention). Must be greater than cold_after_days. BigQuery keeps its own copy of every row."
  type        = number
  default     = 30

  validation {
    condition     = floor(var.delete_after_days) == var.delete_after_days && var.delete_after_days > coalesce(var.cold_after_days, 0)
    error_message = "delete_after_days must be a whole number of days greater than cold_after_days."
  }
}

variable "versioning" {
  description = "Keep noncurrent object versions (off by default: lake files are written once; the crawl state is rewritten every cycle and would pile up versions)."
  type        = bool
  default     = false
}

variable "noncurrent_delete_days" {
  description = "With versioning on, delete noncurrent versions this many days after they became noncurrent."
  type        = number
  default     = 7

  validation {
    condition     = var.noncurrent_delete_days >= 1
    error_message = "noncurrent_delete_days must be at least 1."
  }
}

variable "soft_delete_days" {
  description = "Soft-delete retention in days (Cloud Storage's default is 7; 0 turns it off). Soft-deleted objects are billed at their storage class until purged."
  type        = number
  default     = 7

  validation {
    condition     = var.soft_delete_days == 0 || (var.soft_delete_days >= 7 && var.soft_delete_days <= 90)
    error_message = "soft_delete_days must be 0 (off) or between 7 and 90."
  }
}

variable "labels" {
  description = "Labels put on the bucket."
  type        = map(string)
  default     = {}
}

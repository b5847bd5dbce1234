variable "project_id" {
  description = "Google Cloud project that owns the repository."
  type        = string
}

variable "region" {
  description = "Repository location; the same region as the VM or the Cloud Run jobs (pulls within a region are free)."
  type        = string
  default     = "us-central1"
}

variable "repository_id" {
  description = "Artifact Registry repository id."
  type        = string
  default     = "polit"
}

variable "keep_versions" {
  description = "Cleanup policy: keep this many most recent image versions, delete older ones (storage is billed per GB-month past the free 0.5 GiB)."
  type        = number
  default     = 2

  validation {
    condition     = var.keep_versions >= 1
    error_message = "keep_versions must be at least 1."
  }
}

variable "delete_after_days" {
  description = "Cleanup policy: delete versions older than this many days, but the `keep_versions` newest."
  type        = number
  default     = 7

  validation {
    condition     = var.delete_after_days >= 1
    error_message = "delete_after_days must be at least 1."
  }
}

variable "reader_members" {
  description = "Members granted roles/artifactregistry.reader on this repository only (the VM's service account)."
  type        = list(string)
  default     = []
}

variable "labels" {
  description = "Labels put on the repository."
  type        = map(string)
  default     = {}
}

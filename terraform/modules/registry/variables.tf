variable "project_id" {
  description = "Google Cloud project that owns the repository."
  type        = string
}

variable "region" {
  description = "Repository location; the same region as the Cloud Run jobs (pulls within a region are free)."
  type        = string
  default     = "us-central1"
}

variable "repository_id" {
  description = "Artifact Registry repository id."
  type        = string
  default     = "polit"
}

variable "keep_versions" {
  description = "Cleanup policy: keep this many most recent image versions, delete older ones (storage is billed per GB-month)."
  type        = number
  default     = 5

  validation {
    condition     = var.keep_versions >= 1
    error_message = "keep_versions must be at least 1."
  }
}

variable "labels" {
  description = "Labels put on the repository."
  type        = map(string)
  default     = {}
}

variable "project_id" {
  description = "Google Cloud project that owns the service accounts."
  type        = string
}

variable "bucket_name" {
  description = "Lake bucket the crawl and load identities are granted on (bucket-level grants only)."
  type        = string
}

variable "lake_prefix" {
  description = "Object prefix of the lake inside the bucket, without a trailing slash (\"\" = the bucket root). Scopes the conditional grants on `<prefix>/_polit/`."
  type        = string
  default     = "lake"
}

variable "dataset_id" {
  description = "BigQuery dataset the load identity may edit (dataset-level grant only)."
  type        = string
}

variable "split_identities" {
  description = "false: one `pipeline` service account runs `polit run` (crawl + load + transform in one job) and holds both the crawl and the load grants. true: a `collector` account (crawl) and a `loader` account (load + transform) each hold only their own grants, for two separate jobs."
  type        = bool
  default     = false
}

variable "name_prefix" {
  description = "Prefix of the service account ids (6-30 characters with the suffix)."
  type        = string
  default     = "polit"
}

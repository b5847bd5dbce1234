# The warehouse dataset. Tables are created by polit itself: raw_posts and raw_threads by
# the first load job, posts/threads/marts by dbt. Nothing here expires: no default table
# or partition expiration, and `terraform destroy` refuses to drop a dataset with tables.
resource "google_bigquery_dataset" "warehouse" {
  #checkov:skip=CKV_GCP_81:Google-managed encryption; CMEK would add a KMS key ring and key-use permissions for BigQuery's service agent, which public board data does not need.
  project                     = var.project_id
  dataset_id                  = var.dataset_id
  friendly_name               = "polit"
  description                 = "polit: 4chan board posts and threads (raw tables loaded from the lake, dbt models)."
  location                    = var.location
  default_table_expiration_ms = null
  delete_contents_on_destroy  = false
  max_time_travel_hours       = var.max_time_travel_hours
  storage_billing_model       = "LOGICAL"
  labels                      = var.labels
}

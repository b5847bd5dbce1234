output "dataset_id" {
  description = "Dataset id."
  value       = google_bigquery_dataset.warehouse.dataset_id
}

output "location" {
  description = "Dataset location."
  value       = google_bigquery_dataset.warehouse.location
}

output "warehouse_url" {
  description = "polit's warehouse URL for this dataset (POLIT_WAREHOUSE)."
  value       = "bigquery://${var.project_id}/${google_bigquery_dataset.warehouse.dataset_id}"
}

output "bucket_name" {
  description = "Name of the lake bucket."
  value       = google_storage_bucket.lake.name
}

output "bucket_url" {
  description = "gs:// URL of the bucket."
  value       = google_storage_bucket.lake.url
}

output "location" {
  description = "Location of the bucket."
  value       = google_storage_bucket.lake.location
}

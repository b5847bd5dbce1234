output "collector_email" {
  description = "Service account that crawls (the pipeline account when identities are not split)."
  value       = google_service_account.runtime[local.collector_key].email
}

output "loader_email" {
  description = "Service account that loads and transforms (the pipeline account when identities are not split)."
  value       = google_service_account.runtime[local.loader_key].email
}

output "invoker_email" {
  description = "Service account Cloud Scheduler uses to run the jobs."
  value       = google_service_account.invoker.email
}

output "runtime_emails" {
  description = "Every runtime service account, by duty name."
  value       = { for k, sa in google_service_account.runtime : k => sa.email }
}

output "job_name" {
  description = "Name of the Cloud Run job."
  value       = google_cloud_run_v2_job.job.name
}

output "job_id" {
  description = "Full id of the Cloud Run job."
  value       = google_cloud_run_v2_job.job.id
}

output "scheduler_job_name" {
  description = "Name of the Cloud Scheduler job that runs it."
  value       = google_cloud_scheduler_job.trigger.name
}

output "schedule" {
  description = "Cron schedule and time zone of the job."
  value       = "${google_cloud_scheduler_job.trigger.schedule} (${google_cloud_scheduler_job.trigger.time_zone})"
}

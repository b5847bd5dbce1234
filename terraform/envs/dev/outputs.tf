output "lake_url" {
  description = "POLIT_LAKE for this environment."
  value       = local.lake_url
}

output "warehouse_url" {
  description = "POLIT_WAREHOUSE for this environment (point the dashboard here)."
  value       = local.warehouse_url
}

output "image_repository" {
  description = "Where to push the polit image: docker push IMAGE_REPOSITORY/polit:TAG."
  value       = module.registry.repository_url
}

output "image" {
  description = "The image the jobs run."
  value       = local.image
}

output "job_name" {
  description = "The hourly Cloud Run job (run it now: gcloud run jobs execute NAME --region REGION)."
  value       = module.runner.job_name
}

output "schedule" {
  description = "When the hourly job runs."
  value       = module.runner.schedule
}

output "load_job_name" {
  description = "With split identities: the load + transform job."
  value       = var.split_identities ? module.load_runner[0].job_name : null
}

output "service_accounts" {
  description = "Runtime service accounts by duty, and the scheduler's invoker."
  value       = merge(module.iam.runtime_emails, { invoker = module.iam.invoker_email })
}

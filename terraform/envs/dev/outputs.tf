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

output "runner" {
  description = "What crawls: vm (polit watch on the e2-micro VM) or cloud_run (the hourly job)."
  value       = var.runner
}

output "vm_name" {
  description = "runner = vm: the VM (gcloud compute instances describe NAME --zone ZONE)."
  value       = local.on_vm ? module.vm[0].instance_name : null
}

output "vm_zone" {
  description = "runner = vm: the VM's zone."
  value       = local.on_vm ? module.vm[0].zone : null
}

output "job_name" {
  description = "runner = cloud_run: the hourly Cloud Run job (run it now: gcloud run jobs execute NAME --region REGION)."
  value       = local.on_cloud_run ? module.runner[0].job_name : null
}

output "schedule" {
  description = "runner = cloud_run: when the hourly job runs."
  value       = local.on_cloud_run ? module.runner[0].schedule : null
}

output "load_job_name" {
  description = "runner = cloud_run with split identities: the load + transform job."
  value       = local.on_cloud_run && var.split_identities ? module.load_runner[0].job_name : null
}

output "service_accounts" {
  description = "Runtime service accounts by duty, and the scheduler's invoker."
  value       = merge(module.iam.runtime_emails, { invoker = module.iam.invoker_email })
}

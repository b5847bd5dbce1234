# polit on Google Cloud, dev environment: the lake bucket, the BigQuery dataset, the image
# repository, least-privilege service accounts, and one runner (`var.runner`): the
# always-free VM running `polit watch` with load and transform on timers (default), or the
# hourly Cloud Run job. Only one of them is ever created: two crawlers never share the lake.

locals {
  on_vm         = var.runner == "vm"
  on_cloud_run  = var.runner == "cloud_run"
  lake_url      = "gs://${module.lake.bucket_name}/${var.lake_prefix}"
  warehouse_url = module.warehouse.warehouse_url
  image         = "${module.registry.repository_url}/polit:${var.image_tag}"
  services = [
    "artifactregistry.googleapis.com",
    "bigquery.googleapis.com",
    "cloudscheduler.googleapis.com",
    "compute.googleapis.com",
    "iam.googleapis.com",
    "run.googleapis.com",
    "storage.googleapis.com",
  ]
}

resource "google_project_service" "apis" {
  for_each           = toset(local.services)
  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

module "lake" {
  source             = "../../modules/lake"
  project_id         = var.project_id
  bucket_name        = var.bucket_name
  location           = var.region
  raw_prefix         = "${var.lake_prefix}/raw/"
  cold_storage_class = var.cold_storage_class
  cold_after_days    = var.cold_after_days
  delete_after_days  = var.raw_retention_days
  versioning         = var.bucket_versioning
  labels             = var.labels

  depends_on = [google_project_service.apis]
}

module "warehouse" {
  source     = "../../modules/warehouse"
  project_id = var.project_id
  dataset_id = var.dataset_id
  location   = var.bigquery_location
  labels     = var.labels

  depends_on = [google_project_service.apis]
}

module "registry" {
  source         = "../../modules/registry"
  project_id     = var.project_id
  region         = var.region
  reader_members = local.on_vm ? ["serviceAccount:${module.iam.collector_email}"] : []
  labels         = var.labels

  depends_on = [google_project_service.apis]
}

module "iam" {
  source           = "../../modules/iam"
  project_id       = var.project_id
  bucket_name      = module.lake.bucket_name
  lake_prefix      = var.lake_prefix
  dataset_id       = module.warehouse.dataset_id
  split_identities = var.split_identities

  depends_on = [google_project_service.apis]
}

# runner = vm: `polit watch` all the time, `polit load` at :35 and `polit transform` at :45 of every second hour,
# on one always-free e2-micro VM, as the pipeline account.
module "vm" {
  count                 = local.on_vm ? 1 : 0
  source                = "../../modules/vm"
  project_id            = var.project_id
  region                = var.region
  zone                  = var.vm_zone
  image                 = local.image
  service_account_email = module.iam.collector_email
  lake_url              = local.lake_url
  warehouse_url         = local.warehouse_url
  bigquery_location     = module.warehouse.location
  boards                = var.boards
  max_rps               = var.max_rps
  external_ipv4         = var.vm_external_ipv4
  watch_interval        = var.watch_interval
  flush_minutes         = var.flush_minutes
  heartbeat_seconds     = var.heartbeat_seconds
  load_calendar         = var.load_calendar
  transform_calendar    = var.transform_calendar
  deletion_protection   = var.deletion_protection
  labels                = var.labels

  depends_on = [google_project_service.apis, module.registry]
}

# runner = cloud_run: `polit run` (crawl + load + transform) every hour at :25, or with split
# identities the crawl alone at :25 as the collector account.
module "runner" {
  count                         = local.on_cloud_run ? 1 : 0
  source                        = "../../modules/runner"
  project_id                    = var.project_id
  region                        = var.region
  job_name                      = var.split_identities ? "polit-crawl" : "polit-run"
  image                         = local.image
  args                          = var.split_identities ? ["crawl", "--once"] : ["run"]
  schedule                      = var.schedule
  time_zone                     = "Etc/UTC"
  service_account_email         = module.iam.collector_email
  invoker_service_account_email = module.iam.invoker_email
  lake_url                      = local.lake_url
  warehouse_url                 = local.warehouse_url
  bigquery_location             = module.warehouse.location
  boards                        = var.boards
  max_rps                       = var.max_rps
  cpu                           = var.job_cpu
  memory                        = var.job_memory
  deletion_protection           = var.deletion_protection
  labels                        = var.labels
}

# runner = cloud_run with split identities only: load + transform at :35 as the loader account.
module "load_runner" {
  count                         = local.on_cloud_run && var.split_identities ? 1 : 0
  source                        = "../../modules/runner"
  project_id                    = var.project_id
  region                        = var.region
  job_name                      = "polit-load"
  image                         = local.image
  command                       = ["sh", "-c"]
  args                          = ["polit load && polit transform"]
  schedule                      = var.load_schedule
  time_zone                     = "Etc/UTC"
  service_account_email         = module.iam.loader_email
  invoker_service_account_email = module.iam.invoker_email
  lake_url                      = local.lake_url
  warehouse_url                 = local.warehouse_url
  bigquery_location             = module.warehouse.location
  boards                        = var.boards
  max_rps                       = var.max_rps
  cpu                           = var.job_cpu
  memory                        = var.job_memory
  deletion_protection           = var.deletion_protection
  labels                        = var.labels
}

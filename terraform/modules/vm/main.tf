# The always-free runner: one e2-micro VM (Container-Optimized OS) running the polit image
# under systemd: `polit watch` all the time, `polit load` and `polit transform` on timers.
#
# Network: a VPC of its own with one dual-stack subnet. The VM has an external IPv6 address
# and no external IPv4 address, because Google does not charge for the first and does for the
# second (prices in src/polit/prices.toml). It reaches the 4chan API and Google's APIs over
# IPv6, and Google's APIs over IPv4 through Private Google Access (free). No ingress is
# allowed: the only firewall rule denies it all. `external_ipv4 = true` adds an ephemeral
# IPv4 address (charged) for an API that stopped answering over IPv6.

locals {
  registry = split("/", var.image)[0]
  env = merge(var.extra_env, {
    POLIT_LAKE              = var.lake_url
    POLIT_WAREHOUSE         = var.warehouse_url
    POLIT_MAX_RPS           = tostring(var.max_rps)
    POLIT_BOARDS            = var.boards
    POLIT_BIGQUERY_LOCATION = var.bigquery_location
    POLIT_DBT_PROJECT       = var.dbt_project_dir
  })
  cloud_init = templatefile("${path.module}/cloud-init.yaml.tftpl", {
    image              = var.image
    registry           = local.registry
    env                = local.env
    watch_interval     = var.watch_interval
    flush_minutes      = var.flush_minutes
    heartbeat_seconds  = var.heartbeat_seconds
    load_calendar      = var.load_calendar
    transform_calendar = var.transform_calendar
  })
}

resource "google_compute_network" "vpc" {
  name                    = "${var.name}-vpc"
  project                 = var.project_id
  auto_create_subnetworks = false
  routing_mode            = "REGIONAL"
}

resource "google_compute_subnetwork" "subnet" {
  #checkov:skip=CKV_GCP_26:VPC flow logs are billed by volume (Cloud Logging) for a subnet with one VM that accepts no ingress; the crawl's requests are logged by polit itself.
  name                     = "${var.name}-subnet"
  project                  = var.project_id
  region                   = var.region
  network                  = google_compute_network.vpc.id
  ip_cidr_range            = var.subnet_cidr
  stack_type               = "IPV4_IPV6"
  ipv6_access_type         = "EXTERNAL"
  private_ip_google_access = true
  # Google's APIs over internal IPv6 as well, for the VM's internal address
  private_ipv6_google_access = "ENABLE_OUTBOUND_VM_ACCESS_TO_GOOGLE"
}

# Nothing comes in (the implied rules already deny ingress; these state it, one rule per
# address family, as a rule holds either IPv4 or IPv6 ranges).
resource "google_compute_firewall" "deny_ingress" {
  for_each  = { ipv4 = "0.0.0.0/0", ipv6 = "::/0" }
  name      = "${var.name}-deny-ingress-${each.key}"
  project   = var.project_id
  network   = google_compute_network.vpc.id
  direction = "INGRESS"
  priority  = 65534

  deny {
    protocol = "all"
  }

  source_ranges = [each.value]
}

resource "google_compute_instance" "vm" {
  #checkov:skip=CKV_GCP_40:The crawler must reach the 4chan API: the VM has an external IPv6 address (free; an IPv4 one only with external_ipv4, charged), outbound only, as the firewall denies all ingress.
  #checkov:skip=CKV_GCP_38:Google-managed disk encryption; the boot disk holds the public image and no data (the lake is in Cloud Storage), so a customer-supplied key protects nothing.
  name                      = var.name
  project                   = var.project_id
  zone                      = var.zone
  machine_type              = var.machine_type
  labels                    = var.labels
  deletion_protection       = var.deletion_protection
  allow_stopping_for_update = true
  can_ip_forward            = false

  boot_disk {
    auto_delete = true

    initialize_params {
      image = var.boot_image
      size  = var.disk_gb
      type  = "pd-standard"
    }
  }

  network_interface {
    subnetwork = google_compute_subnetwork.subnet.id
    stack_type = "IPV4_IPV6"

    ipv6_access_config {
      network_tier = "PREMIUM"
    }

    dynamic "access_config" {
      for_each = var.external_ipv4 ? [1] : []
      content {
        network_tier = "PREMIUM"
      }
    }
  }

  service_account {
    email  = var.service_account_email
    scopes = ["cloud-platform"] # what it may do is its IAM grants, nothing else
  }

  shielded_instance_config {
    enable_secure_boot          = true
    enable_vtpm                 = true
    enable_integrity_monitoring = true
  }

  scheduling {
    preemptible         = false # the free tier's e2-micro is a standard VM
    automatic_restart   = true
    on_host_maintenance = "MIGRATE"
  }

  metadata = {
    user-data                 = local.cloud_init
    block-project-ssh-keys    = "true"
    enable-oslogin            = "TRUE"
    google-logging-enabled    = "false"
    google-monitoring-enabled = "false"
  }
}

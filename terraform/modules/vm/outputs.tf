output "instance_name" {
  description = "Name of the VM (gcloud compute instances describe NAME --zone ZONE)."
  value       = google_compute_instance.vm.name
}

output "zone" {
  description = "Zone of the VM."
  value       = google_compute_instance.vm.zone
}

output "external_ipv6" {
  description = "The VM's external IPv6 range (outbound only: no ingress is allowed)."
  value       = google_compute_instance.vm.network_interface[0].ipv6_access_config[0].external_ipv6
}

output "units" {
  description = "The systemd units on the VM: watch all the time, load and transform on timers."
  value       = ["polit-watch.service", "polit-load.timer", "polit-transform.timer"]
}

# Remote state in a GCS bucket made once by hand (see the README: it cannot be managed by
# the state it stores). The bucket is passed at init:
#   terraform init -backend-config=bucket=STATE_BUCKET
terraform {
  backend "gcs" {
    prefix = "polit/dev"
  }
}

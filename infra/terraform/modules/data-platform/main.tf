# Lake (Cloud Storage) and warehouse (BigQuery datasets, one per lake layer), matching the
# `gcp` profile: gcp.bucket and gcp.bigqueryDatasetPrefix in telco.config.yaml.

variable "project" { type = string }
variable "region" { type = string }
variable "env" { type = string }
variable "dataset_prefix" {
  type        = string
  description = "Prefix of the layer datasets (PREFIX_bronze, …); telco.config.yaml gcp.bigqueryDatasetPrefix"
}
variable "raw_retention_days" {
  type    = number
  default = 3650
}

resource "google_storage_bucket" "lake" {
  name                        = "${var.project}-telco-lake-${var.env}"
  project                     = var.project
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  versioning { enabled = true } # raw is immutable; versioning keeps an accidental overwrite recoverable

  lifecycle_rule {
    condition {
      age            = var.raw_retention_days
      matches_prefix = ["lake/raw/"]
    }
    action { type = "Delete" }
  }
}

resource "google_bigquery_dataset" "layer" {
  for_each                   = toset(["bronze", "silver", "gold", "meta", "logs"])
  project                    = var.project
  dataset_id                 = "${var.dataset_prefix}_${each.key}"
  location                   = var.region
  delete_contents_on_destroy = false
  labels                     = { env = var.env, layer = each.key, app = "telecom-ml-llmops" }
}

output "bucket" { value = google_storage_bucket.lake.name }
output "datasets" { value = { for k, d in google_bigquery_dataset.layer : k => d.dataset_id } }

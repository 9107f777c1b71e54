# Vertex AI (pipelines, registry, endpoints) prerequisites: APIs, Artifact Registry for the
# `telco` image that every pipeline step and the serving container run, pipeline root bucket.

variable "project" { type = string }
variable "region" { type = string }
variable "env" { type = string }

resource "google_project_service" "apis" {
  for_each = toset([
    "aiplatform.googleapis.com",
    "artifactregistry.googleapis.com",
    "bigquery.googleapis.com",
    "run.googleapis.com",
    "storage.googleapis.com",
    "monitoring.googleapis.com",
    "discoveryengine.googleapis.com",
    "iamcredentials.googleapis.com",
  ])
  project            = var.project
  service            = each.key
  disable_on_destroy = false
}

resource "google_artifact_registry_repository" "images" {
  project       = var.project
  location      = var.region
  repository_id = "telco-${var.env}"
  format        = "DOCKER"
  depends_on    = [google_project_service.apis]
}

resource "google_storage_bucket" "pipeline_root" {
  name                        = "${var.project}-telco-pipelines-${var.env}"
  project                     = var.project
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  lifecycle_rule {
    condition { age = 30 }
    action { type = "Delete" }
  }
}

output "artifact_registry" {
  value = "${var.region}-docker.pkg.dev/${var.project}/${google_artifact_registry_repository.images.repository_id}"
}
output "pipeline_root" { value = "gs://${google_storage_bucket.pipeline_root.name}" }

# Vertex AI (pipelines, registry, endpoints) prerequisites: APIs, Artifact Registry for the
# `telco` image that every pipeline step and the serving container run, pipeline root bucket.

variable "project" { type = string }
variable "region" { type = string }
variable "env" { type = string }
variable "create_default_firestore_database" {
  description = "Create the project's (default) Firestore database (online features, pipeline-run metadata). Set false when it already exists or another environment in the same project creates it."
  type        = bool
  default     = true
}

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
    "firestore.googleapis.com",
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

# The online feature store (platform/adapters/gcp/firestore-online-store.ts) and pipeline-run metadata
# (platform/adapters/gcp/firestore-pipeline-metadata.ts, collections telco_pipelines_*) live in the
# project's (default) database. The assistant's sessions have their own database (modules/assistant).
resource "google_firestore_database" "default" {
  count       = var.create_default_firestore_database ? 1 : 0
  project     = var.project
  name        = "(default)"
  location_id = var.region
  type        = "FIRESTORE_NATIVE"
  depends_on  = [google_project_service.apis]
}

# Listing one pipeline's runs newest first (`telco pipeline list --pipeline NAME`: pipeline = NAME,
# ordered by started_at descending) needs this composite index; the adapter's other queries use
# single-field indexes.
resource "google_firestore_index" "pipeline_runs_by_pipeline" {
  project    = var.project
  database   = "(default)"
  collection = "telco_pipelines_runs"
  fields {
    field_path = "pipeline"
    order      = "ASCENDING"
  }
  fields {
    field_path = "started_at"
    order      = "DESCENDING"
  }
  depends_on = [google_firestore_database.default]
}

output "artifact_registry" {
  value = "${var.region}-docker.pkg.dev/${var.project}/${google_artifact_registry_repository.images.repository_id}"
}
output "pipeline_root" { value = "gs://${google_storage_bucket.pipeline_root.name}" }

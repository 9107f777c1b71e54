# Runtime identities (least privilege) and the Cloud Run service for the churn API and assistant.

variable "project" { type = string }
variable "region" { type = string }
variable "env" { type = string }
variable "image" {
  type        = string
  description = "Full image reference built by the CD workflow (REGION-docker.pkg.dev/PROJECT/REPO/telco:SHA)"
}
variable "lake_bucket" { type = string }
variable "min_instances" {
  type    = number
  default = 0
}

resource "google_service_account" "serving" {
  project      = var.project
  account_id   = "telco-serving-${var.env}"
  display_name = "telco churn API and assistant (${var.env})"
}

resource "google_service_account" "pipelines" {
  project      = var.project
  account_id   = "telco-pipelines-${var.env}"
  display_name = "telco Vertex AI pipelines (${var.env})"
}

locals {
  serving_roles   = ["roles/aiplatform.user", "roles/bigquery.dataViewer", "roles/bigquery.jobUser", "roles/monitoring.metricWriter", "roles/cloudtrace.agent"]
  pipelines_roles = ["roles/aiplatform.user", "roles/bigquery.dataEditor", "roles/bigquery.jobUser", "roles/artifactregistry.reader"]
}

resource "google_project_iam_member" "serving" {
  for_each = toset(local.serving_roles)
  project  = var.project
  role     = each.key
  member   = "serviceAccount:${google_service_account.serving.email}"
}

resource "google_project_iam_member" "pipelines" {
  for_each = toset(local.pipelines_roles)
  project  = var.project
  role     = each.key
  member   = "serviceAccount:${google_service_account.pipelines.email}"
}

resource "google_storage_bucket_iam_member" "serving_lake_reader" {
  bucket = var.lake_bucket
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.serving.email}"
}

resource "google_storage_bucket_iam_member" "pipelines_lake_admin" {
  bucket = var.lake_bucket
  role   = "roles/storage.objectAdmin"
  member = "serviceAccount:${google_service_account.pipelines.email}"
}

resource "google_cloud_run_v2_service" "api" {
  project  = var.project
  name     = "telco-api-${var.env}"
  location = var.region
  ingress  = "INGRESS_TRAFFIC_ALL"

  template {
    service_account = google_service_account.serving.email
    scaling {
      min_instance_count = var.min_instances
      max_instance_count = 10
    }
    containers {
      image = var.image
      args  = ["serve"]
      ports { container_port = 8080 }
      env {
        name  = "TELCO_PROFILE"
        value = "gcp"
      }
      env {
        name  = "TELCO_GCP__PROJECT"
        value = var.project
      }
      env {
        name  = "TELCO_GCP__BUCKET"
        value = var.lake_bucket
      }
      resources {
        limits = { cpu = "2", memory = "2Gi" }
      }
      startup_probe {
        http_get { path = "/readyz" }
      }
      liveness_probe {
        http_get { path = "/healthz" }
      }
    }
  }
}

output "serving_service_account" { value = google_service_account.serving.email }
output "pipelines_service_account" { value = google_service_account.pipelines.email }
output "api_url" { value = google_cloud_run_v2_service.api.uri }

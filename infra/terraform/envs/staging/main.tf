# Environment "staging": one project per environment is recommended; state in a GCS bucket
# created once by infra/gcloud/bootstrap.sh.

terraform {
  required_version = ">= 1.6"
  required_providers {
    google = { source = "hashicorp/google", version = "~> 6.0" }
  }
  backend "gcs" {
    prefix = "telecom-ml-llmops/staging"
  }
}

variable "project" { type = string }
variable "region" {
  type    = string
  default = "southamerica-east1"
}
variable "image" { type = string }
variable "github_repository" { type = string }
variable "alert_notification_channels" {
  type        = list(string)
  default     = []
  description = "Cloud Monitoring notification channel ids for the assistant's alerts"
}

provider "google" {
  project = var.project
  region  = var.region
}

module "ml_platform" {
  source  = "../../modules/ml-platform"
  project = var.project
  region  = var.region
  env     = "staging"
}

module "data_platform" {
  source         = "../../modules/data-platform"
  project        = var.project
  region         = var.region
  env            = "staging"
  dataset_prefix = "telco_staging"
}

module "runtime" {
  source        = "../../modules/runtime"
  project       = var.project
  region        = var.region
  env           = "staging"
  image         = var.image
  lake_bucket   = module.data_platform.bucket
  min_instances = 0
}

module "assistant" {
  source                  = "../../modules/assistant"
  project                 = var.project
  region                  = var.region
  env                     = "staging"
  image                   = var.image
  lake_bucket             = module.data_platform.bucket
  serving_service_account = module.runtime.serving_service_account
  min_instances           = 0
  notification_channels   = var.alert_notification_channels
}

module "github_wif" {
  source            = "../../modules/github-wif"
  project           = var.project
  env               = "staging"
  github_repository = var.github_repository
}

# The values telco.config.yaml's gcp section needs for this environment.
output "telco_config" {
  value = {
    profile = "gcp"
    gcp = {
      project               = var.project
      region                = var.region
      bucket                = module.data_platform.bucket
      bigqueryDatasetPrefix = "telco_staging"
      artifactRegistry      = module.ml_platform.artifact_registry
      serviceAccount        = module.runtime.pipelines_service_account
    }
  }
}
output "api_url" { value = module.runtime.api_url }
output "workload_identity_provider" { value = module.github_wif.workload_identity_provider }
output "deployer_service_account" { value = module.github_wif.deployer_service_account }
output "assistant_url" { value = module.assistant.assistant_url }
output "assistant_secrets" { value = module.assistant.secret_ids }

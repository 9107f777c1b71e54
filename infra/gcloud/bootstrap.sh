#!/usr/bin/env bash
# One-time bootstrap of a GCP project for telecom-ml-llmops: enables the APIs Terraform itself
# needs and creates the Terraform state bucket. Usage: infra/gcloud/bootstrap.sh PROJECT [REGION]
set -euo pipefail
project="${1:?usage: bootstrap.sh PROJECT [REGION]}"
region="${2:-southamerica-east1}"
gcloud services enable cloudresourcemanager.googleapis.com iam.googleapis.com serviceusage.googleapis.com \
  storage.googleapis.com --project "$project"
bucket="gs://${project}-tfstate"
gcloud storage buckets describe "$bucket" --project "$project" >/dev/null 2>&1 ||
  gcloud storage buckets create "$bucket" --project "$project" --location "$region" --uniform-bucket-level-access
gcloud storage buckets update "$bucket" --versioning
echo "state bucket: $bucket"
echo "next: cd infra/terraform/envs/dev && terraform init -backend-config=bucket=${project}-tfstate && terraform apply -var project=$project -var image=... -var github_repository=OWNER/NAME"

# The assistant on Google Cloud: its Cloud Run service (with the Managed Service for Prometheus
# sidecar that ships the assistant_* series of llmops/observability/metrics.ts to Cloud Monitoring),
# Secret Manager entries for the WhatsApp and LLM keys, the Vertex AI Search data store for the
# knowledge base, a Firestore (native mode) database for sessions, a daily eval job, alert policies
# and a dashboard.
#
# Secret VALUES are never in Terraform (they would land in the state): add them once with
#   printf %s "$TOKEN" | gcloud secrets versions add whatsapp-access-token-ENV --data-file=-

variable "project" { type = string }
variable "region" { type = string }
variable "env" { type = string }
variable "image" {
  type        = string
  description = "Full image reference built by the CD workflow (REGION-docker.pkg.dev/PROJECT/REPO/telco:SHA)"
}
variable "lake_bucket" { type = string }
variable "serving_service_account" {
  type        = string
  description = "Email of the runtime service account (modules/runtime output serving_service_account)"
}
variable "min_instances" {
  type    = number
  default = 0
}
variable "firestore_location" {
  type        = string
  default     = ""
  description = "Firestore location id (default: the region)"
}
variable "session_retention_days" {
  type        = number
  default     = 90
  description = "Days after their last turn Firestore's TTL policy deletes assistant sessions and turns"
}
variable "notification_channels" {
  type        = list(string)
  default     = []
  description = "Cloud Monitoring notification channel ids the alerts go to"
}
variable "turn_latency_p95_seconds" {
  type    = number
  default = 5
}
variable "tool_error_ratio" {
  type        = number
  default     = 0.05
  description = "Share of tool calls that fail (assistant_tool_errors_total / assistant_tool_calls_total)"
}
variable "guardrail_triggers_per_minute" {
  type    = number
  default = 5
}
variable "llm_cost_per_hour" {
  type        = number
  default     = 10
  description = "Model spend per hour (assistant_llm_cost_total, in llm.prices' currency) that raises an alert"
}
variable "eval_schedule" {
  type        = string
  default     = "0 6 * * *"
  description = "When the eval job runs (cron, America/Sao_Paulo)"
}
variable "eval_engine" {
  type        = string
  default     = "llm"
  description = "telco eval run --engine: llm (the deployed model, catches model-side drift) or local"
}

locals {
  service_name = "telco-assistant-${var.env}"
  eval_job     = "telco-assistant-eval-${var.env}"
  # Environment variable → secret id. The names are the defaults the code reads
  # (platform/config/sections/channels.ts and llm.ts).
  secrets = {
    WHATSAPP_ACCESS_TOKEN = "whatsapp-access-token-${var.env}"
    WHATSAPP_APP_SECRET   = "whatsapp-app-secret-${var.env}"
    WHATSAPP_VERIFY_TOKEN = "whatsapp-verify-token-${var.env}"
    LLM_API_KEY           = "llm-api-key-${var.env}"
  }
  serving_member = "serviceAccount:${var.serving_service_account}"
  # Managed Service for Prometheus sidecar for Cloud Run: scrapes the app's /metrics on :8080.
  gmp_sidecar = "us-docker.pkg.dev/cloud-ops-agents-artifacts/cloud-run-gmp-sidecar/cloud-run-gmp-sidecar:1.2.0"
}

resource "google_project_service" "apis" {
  for_each = toset([
    "secretmanager.googleapis.com",
    "firestore.googleapis.com",
    "discoveryengine.googleapis.com",
    "cloudscheduler.googleapis.com",
    "monitoring.googleapis.com",
    "run.googleapis.com",
  ])
  project            = var.project
  service            = each.key
  disable_on_destroy = false
}

# --- Secrets -------------------------------------------------------------------------------------

resource "google_secret_manager_secret" "assistant" {
  for_each  = local.secrets
  project   = var.project
  secret_id = each.value
  labels    = { app = "telecom-ml-llmops", env = var.env }
  replication {
    auto {}
  }
  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret_iam_member" "serving" {
  for_each  = google_secret_manager_secret.assistant
  project   = var.project
  secret_id = each.value.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = local.serving_member
}

# --- Sessions (Firestore, native mode) -----------------------------------------------------------

resource "google_firestore_database" "sessions" {
  project                           = var.project
  name                              = "telco-assistant-${var.env}"
  location_id                       = var.firestore_location != "" ? var.firestore_location : var.region
  type                              = "FIRESTORE_NATIVE"
  point_in_time_recovery_enablement = "POINT_IN_TIME_RECOVERY_ENABLED"
  delete_protection_state           = "DELETE_PROTECTION_ENABLED"
  depends_on                        = [google_project_service.apis]
}

# TTL policies: Firestore deletes a session, and each of its turns, once expires_at has passed. The
# session store (platform/adapters/gcp/firestore-assistant-sessions.ts) writes that field when
# gcp.sessionRetentionDays is set (the service below sets it); documents without it are kept.
resource "google_firestore_field" "session_ttl" {
  project    = var.project
  database   = google_firestore_database.sessions.name
  collection = "sessions"
  field      = "expires_at"
  ttl_config {}
}

resource "google_firestore_field" "turn_ttl" {
  project    = var.project
  database   = google_firestore_database.sessions.name
  collection = "turns"
  field      = "expires_at"
  ttl_config {}
}

# Finding idle sessions to register (status = open, ordered by updated_at) needs this composite index.
resource "google_firestore_index" "sessions_idle" {
  project    = var.project
  database   = google_firestore_database.sessions.name
  collection = "sessions"
  fields {
    field_path = "status"
    order      = "ASCENDING"
  }
  fields {
    field_path = "updated_at"
    order      = "ASCENDING"
  }
}

resource "google_project_iam_member" "serving_firestore" {
  project = var.project
  role    = "roles/datastore.user"
  member  = local.serving_member
}

# --- Knowledge base (Vertex AI Search) -----------------------------------------------------------

resource "google_discovery_engine_data_store" "knowledge_base" {
  project                     = var.project
  location                    = "global"
  data_store_id               = "telco-kb-${var.env}"
  display_name                = "telco knowledge base (${var.env})"
  industry_vertical           = "GENERIC"
  content_config              = "CONTENT_REQUIRED"
  solution_types              = ["SOLUTION_TYPE_SEARCH"]
  create_advanced_site_search = false
  depends_on                  = [google_project_service.apis]
}

resource "google_project_iam_member" "serving_search" {
  project = var.project
  role    = "roles/discoveryengine.user"
  member  = local.serving_member
}

# --- The assistant's Cloud Run service -----------------------------------------------------------

resource "google_cloud_run_v2_service" "assistant" {
  project  = var.project
  name     = local.service_name
  location = var.region
  # The WhatsApp webhook is called by Meta from the internet; every route keeps its own auth (API
  # keys, the webhook's X-Hub-Signature-256).
  ingress = "INGRESS_TRAFFIC_ALL"

  template {
    service_account = var.serving_service_account
    scaling {
      min_instance_count = var.min_instances
      max_instance_count = 10
    }
    containers {
      name  = "app"
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
        name  = "TELCO_GCP__REGION"
        value = var.region
      }
      env {
        name  = "TELCO_GCP__BUCKET"
        value = var.lake_bucket
      }
      env {
        name  = "TELCO_GCP__ASSISTANT_DATABASE"
        value = google_firestore_database.sessions.name
      }
      env {
        name  = "TELCO_GCP__SESSION_RETENTION_DAYS"
        value = tostring(var.session_retention_days)
      }
      env {
        name  = "TELCO_GCP__SEARCH_DATA_STORE"
        value = google_discovery_engine_data_store.knowledge_base.data_store_id
      }
      dynamic "env" {
        for_each = local.secrets
        content {
          name = env.key
          value_source {
            secret_key_ref {
              secret  = google_secret_manager_secret.assistant[env.key].secret_id
              version = "latest"
            }
          }
        }
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
    containers {
      name       = "collector"
      image      = local.gmp_sidecar
      depends_on = ["app"]
      resources {
        limits = { cpu = "0.5", memory = "256Mi" }
      }
    }
  }
  depends_on = [google_secret_manager_secret_iam_member.serving]
}

resource "google_cloud_run_v2_service_iam_member" "public" {
  project  = var.project
  location = var.region
  name     = google_cloud_run_v2_service.assistant.name
  role     = "roles/run.invoker"
  member   = "allUsers"
}

# --- Daily eval run (its failure is the eval-regression alert) -----------------------------------

resource "google_cloud_run_v2_job" "eval" {
  project  = var.project
  name     = local.eval_job
  location = var.region
  template {
    template {
      service_account = var.serving_service_account
      max_retries     = 0
      timeout         = "3600s"
      containers {
        image   = var.image
        command = ["sh", "-c"]
        # `telco eval run` exits 1 on a threshold miss or a regression against the baseline in the image.
        args = ["telco rag ingest --builtin && telco eval run --no-report --engine ${var.eval_engine}"]
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
        env {
          name = "LLM_API_KEY"
          value_source {
            secret_key_ref {
              secret  = google_secret_manager_secret.assistant["LLM_API_KEY"].secret_id
              version = "latest"
            }
          }
        }
        resources {
          limits = { cpu = "2", memory = "2Gi" }
        }
      }
    }
  }
  depends_on = [google_secret_manager_secret_iam_member.serving]
}

resource "google_cloud_run_v2_job_iam_member" "scheduler" {
  project  = var.project
  location = var.region
  name     = google_cloud_run_v2_job.eval.name
  role     = "roles/run.invoker"
  member   = local.serving_member
}

resource "google_cloud_scheduler_job" "eval" {
  project   = var.project
  region    = var.region
  name      = "${local.eval_job}-daily"
  schedule  = var.eval_schedule
  time_zone = "America/Sao_Paulo"
  http_target {
    http_method = "POST"
    uri         = "https://run.googleapis.com/v2/${google_cloud_run_v2_job.eval.id}:run"
    oauth_token {
      service_account_email = var.serving_service_account
    }
  }
  depends_on = [google_project_service.apis]
}

# --- Alerts (PromQL over the assistant_* series the sidecar writes to Cloud Monitoring) ----------

locals {
  alerts = {
    turn_latency = {
      name  = "Assistant turn latency p95 above ${var.turn_latency_p95_seconds} s"
      query = "histogram_quantile(0.95, sum by (le) (rate(assistant_turn_duration_seconds_bucket[5m]))) > ${var.turn_latency_p95_seconds}"
      doc   = "p95 of assistant_turn_duration_seconds over 5 min. Check the traces (telco traces / Cloud Trace) for the slow stage: model calls, tools (operator systems) or retrieval."
    }
    tool_errors = {
      name  = "Assistant tool errors above ${var.tool_error_ratio * 100}% of calls"
      query = "sum(rate(assistant_tool_errors_total[10m])) / sum(rate(assistant_tool_calls_total[10m])) > ${var.tool_error_ratio}"
      doc   = "assistant_tool_errors_total by tool and code shows which operator system fails (CRM, billing, network, offers)."
    }
    guardrail_triggers = {
      name  = "Assistant guardrail triggers above ${var.guardrail_triggers_per_minute}/min"
      query = "sum(rate(assistant_guardrail_triggers_total[10m])) * 60 > ${var.guardrail_triggers_per_minute}"
      doc   = "A jump in assistant_guardrail_triggers_total (by guardrail, stage, action) means abuse, an injection campaign or a prompt regression."
    }
    token_cost = {
      name  = "Assistant model spend above ${var.llm_cost_per_hour} per hour"
      query = "sum(increase(assistant_llm_cost_total[1h])) > ${var.llm_cost_per_hour}"
      doc   = "assistant_llm_cost_total (by provider and model) from llm.prices; compare with assistant_llm_tokens_total to see whether traffic or tokens per turn grew."
    }
  }
}

resource "google_monitoring_alert_policy" "assistant" {
  for_each              = local.alerts
  project               = var.project
  display_name          = "[${var.env}] ${each.value.name}"
  combiner              = "OR"
  notification_channels = var.notification_channels
  conditions {
    display_name = each.value.name
    condition_prometheus_query_language {
      query               = each.value.query
      duration            = "300s"
      evaluation_interval = "60s"
    }
  }
  documentation {
    content   = each.value.doc
    mime_type = "text/markdown"
  }
  depends_on = [google_project_service.apis]
}

# The daily `telco eval run` exits 1 on a regression: a failed execution of the job is the alert.
resource "google_monitoring_alert_policy" "eval_regression" {
  project               = var.project
  display_name          = "[${var.env}] Assistant eval regression (daily telco eval run failed)"
  combiner              = "OR"
  notification_channels = var.notification_channels
  conditions {
    display_name = "eval job execution failed"
    condition_threshold {
      filter          = "resource.type = \"cloud_run_job\" AND resource.labels.job_name = \"${local.eval_job}\" AND metric.type = \"run.googleapis.com/job/completed_execution_count\" AND metric.labels.result = \"failed\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period   = "3600s"
        per_series_aligner = "ALIGN_SUM"
      }
    }
  }
  documentation {
    content   = "The eval job ${local.eval_job} failed: a suite missed its threshold or regressed against llmops/evaluations/baseline.json. Its log holds the gate report; rerun locally with `telco eval run --engine ${var.eval_engine}`."
    mime_type = "text/markdown"
  }
  depends_on = [google_project_service.apis]
}

# --- Dashboard -----------------------------------------------------------------------------------

locals {
  dashboard_charts = [
    ["Turn latency p50 / p95 (s)", "histogram_quantile(0.5, sum by (le) (rate(assistant_turn_duration_seconds_bucket[5m])))", "histogram_quantile(0.95, sum by (le) (rate(assistant_turn_duration_seconds_bucket[5m])))"],
    ["Turns per second by outcome", "sum by (outcome) (rate(assistant_turns_total[5m]))", ""],
    ["Tool error ratio by tool", "sum by (tool) (rate(assistant_tool_errors_total[10m])) / sum by (tool) (rate(assistant_tool_calls_total[10m]))", ""],
    ["Guardrail triggers per minute", "sum by (guardrail) (rate(assistant_guardrail_triggers_total[10m])) * 60", ""],
    ["Tokens per second by type", "sum by (type) (rate(assistant_llm_tokens_total[5m]))", ""],
    ["Model spend per hour", "sum by (model) (increase(assistant_llm_cost_total[1h]))", ""],
    ["Escalations to a person per hour", "sum by (reason) (increase(assistant_escalations_total[1h]))", ""],
    ["Model calls per second by outcome", "sum by (outcome) (rate(assistant_llm_calls_total[5m]))", ""],
  ]
}

resource "google_monitoring_dashboard" "assistant" {
  project = var.project
  dashboard_json = jsonencode({
    displayName = "telco assistant (${var.env})"
    mosaicLayout = {
      columns = 12
      tiles = [for i, c in local.dashboard_charts : {
        xPos   = (i % 2) * 6
        yPos   = floor(i / 2) * 4
        width  = 6
        height = 4
        widget = {
          title = c[0]
          xyChart = {
            dataSets = [for q in compact([c[1], c[2]]) : {
              plotType        = "LINE"
              timeSeriesQuery = { prometheusQuery = q }
            }]
          }
        }
      }]
    }
  })
  depends_on = [google_project_service.apis]
}

output "assistant_url" { value = google_cloud_run_v2_service.assistant.uri }
output "firestore_database" { value = google_firestore_database.sessions.name }
output "search_data_store" { value = google_discovery_engine_data_store.knowledge_base.data_store_id }
output "secret_ids" { value = { for k, s in google_secret_manager_secret.assistant : k => s.secret_id } }
output "eval_job" { value = google_cloud_run_v2_job.eval.name }

import type { MonitoringConfig } from "../../platform/config/sections/monitoring.ts";
import { logger } from "../../platform/telemetry/logger.ts";
import type { PerformancePeriod } from "./performance.ts";
import type { DriftReport } from "./reference-profile.ts";

export type AlertRule = MonitoringConfig["alerts"]["rules"][number];
export type AlertChannel = AlertRule["channels"][number];

/** A fired rule, with what made it fire. */
export interface Alert {
  rule: string;
  when: AlertRule["when"];
  severity: AlertRule["severity"];
  message: string;
  model: string;
  at: string;
  channels: AlertChannel[];
  retrain: boolean;
  details: Record<string, unknown>;
}

/** What one channel did with one alert. */
export interface AlertDelivery {
  rule: string;
  channel: AlertChannel;
  ok: boolean;
  /** HTTP status of webhook / Cloud Monitoring calls. */
  status?: number;
  error?: string;
  /** Cloud Monitoring dry run: the request that would have been sent. */
  request?: { method: string; url: string; body: unknown };
}

/** Checks every rule against a monitor run's results; returns the alerts that fire. */
export function evaluateAlertRules(
  rules: readonly AlertRule[],
  input: { model: string; report: DriftReport; performance: readonly PerformancePeriod[]; at?: string },
): Alert[] {
  const at = input.at ?? new Date().toISOString();
  const out: Alert[] = [];
  const fire = (rule: AlertRule, message: string, details: Record<string, unknown>) =>
    out.push({
      rule: rule.name,
      when: rule.when,
      severity: rule.severity,
      message: `${input.model}: ${message}`,
      model: input.model,
      at,
      channels: [...rule.channels],
      retrain: rule.retrain,
      details,
    });
  for (const rule of rules) {
    if (rule.when === "drift") {
      const drifted = input.report.features.filter((f) => f.drift);
      if (drifted.length >= rule.minFeatures)
        fire(rule, `drift in ${drifted.length} feature(s): ${drifted.map((f) => f.name).join(", ")}`, {
          features: drifted.map((f) => ({
            name: f.name,
            test: f.test,
            score: f.score,
            threshold: f.threshold,
          })),
        });
    } else if (rule.when === "prediction_drift") {
      const p = input.report.predictionDrift;
      if (p?.drift)
        fire(
          rule,
          `score distribution drifted (${p.test} ${p.score.toPrecision(3)}, mean ${p.referenceMean.toFixed(3)} → ${p.currentMean.toFixed(3)})`,
          {
            score: p.score,
            referenceMean: p.referenceMean,
            currentMean: p.currentMean,
          },
        );
    } else if (rule.when === "quality") {
      const issues = input.report.quality.issues;
      if (issues.length > 0)
        fire(
          rule,
          `${issues.length} data-quality issue(s): ${issues.map((i) => `${i.feature} ${i.kind}`).join(", ")}`,
          {
            issues,
          },
        );
    } else if (rule.when === "auc_below") {
      const threshold = rule.threshold ?? 0.7;
      const latest = [...input.performance].reverse().find((p) => p.auc !== null);
      if (latest && latest.auc !== null && latest.auc < threshold)
        fire(rule, `AUC ${latest.auc.toFixed(3)} in ${latest.period} is below ${threshold}`, {
          period: latest.period,
          auc: latest.auc,
          n: latest.n,
          threshold,
        });
    }
  }
  return out;
}

/** Where channels send alerts. */
export interface AlertTargets {
  webhookUrl?: string;
  webhookTimeoutMs: number;
  /** GCP project for Cloud Monitoring (absent locally: the channel reports it cannot send). */
  gcpProject?: string;
  cloudMonitoringDryRun: boolean;
  /** Bearer token provider for Cloud Monitoring (default: Application Default Credentials). */
  accessToken?: () => Promise<string>;
}

/** The Cloud Monitoring custom-metric write (projects.timeSeries.create) for one alert. */
export function cloudMonitoringRequest(
  alert: Alert,
  project: string,
): { method: string; url: string; body: unknown } {
  return {
    method: "POST",
    url: `https://monitoring.googleapis.com/v3/projects/${encodeURIComponent(project)}/timeSeries`,
    body: {
      timeSeries: [
        {
          metric: {
            type: "custom.googleapis.com/telco/churn_monitoring_alert",
            labels: { rule: alert.rule, model: alert.model, severity: alert.severity },
          },
          resource: { type: "global", labels: { project_id: project } },
          points: [{ interval: { endTime: alert.at }, value: { int64Value: "1" } }],
        },
      ],
    },
  };
}

async function defaultAccessToken(): Promise<string> {
  const { GoogleAuth } = await import("google-auth-library");
  const auth = new GoogleAuth({ scopes: ["https://www.googleapis.com/auth/monitoring.write"] });
  const token = await auth.getAccessToken();
  if (!token) throw new Error("no access token from Application Default Credentials");
  return token;
}

/** Sends every alert to each of its channels; never throws (failures are reported per delivery). */
export async function dispatchAlerts(
  alerts: readonly Alert[],
  targets: AlertTargets,
): Promise<AlertDelivery[]> {
  const out: AlertDelivery[] = [];
  for (const alert of alerts) {
    for (const channel of alert.channels) {
      try {
        if (channel === "log") {
          logger().warn({ alert }, `monitoring alert: ${alert.message}`);
          out.push({ rule: alert.rule, channel, ok: true });
        } else if (channel === "webhook") {
          if (!targets.webhookUrl) {
            out.push({
              rule: alert.rule,
              channel,
              ok: false,
              error: "monitoring.alerts.webhookUrl is not set",
            });
            continue;
          }
          const res = await fetch(targets.webhookUrl, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ source: "telco-monitoring", alert }),
            signal: AbortSignal.timeout(targets.webhookTimeoutMs),
          });
          out.push({
            rule: alert.rule,
            channel,
            ok: res.ok,
            status: res.status,
            ...(res.ok ? {} : { error: `HTTP ${res.status}` }),
          });
        } else {
          const project = targets.gcpProject ?? "PROJECT_ID";
          const request = cloudMonitoringRequest(alert, project);
          if (targets.cloudMonitoringDryRun) {
            out.push({ rule: alert.rule, channel, ok: true, request });
            continue;
          }
          if (!targets.gcpProject) {
            out.push({ rule: alert.rule, channel, ok: false, error: "gcp.project is not set", request });
            continue;
          }
          const token = await (targets.accessToken ?? defaultAccessToken)();
          const res = await fetch(request.url, {
            method: "POST",
            headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
            body: JSON.stringify(request.body),
            signal: AbortSignal.timeout(targets.webhookTimeoutMs),
          });
          out.push({
            rule: alert.rule,
            channel,
            ok: res.ok,
            status: res.status,
            ...(res.ok ? {} : { error: `HTTP ${res.status}` }),
          });
        }
      } catch (err) {
        out.push({
          rule: alert.rule,
          channel,
          ok: false,
          error: err instanceof Error ? err.message : String(err),
        });
      }
    }
  }
  return out;
}

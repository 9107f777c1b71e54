import type { MonitoringConfig } from "../../platform/config/sections/monitoring.ts";
import type { AlertSink } from "../../platform/ports/alert-sink.ts";
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

/**
 * Sends every alert to the sink of each channel it names (sinks come from the composition root:
 * `app.alertSinks()`); never throws: failures, and channels without a sink, are reported per delivery.
 */
export async function dispatchAlerts(
  alerts: readonly Alert[],
  sinks: readonly AlertSink[],
): Promise<AlertDelivery[]> {
  const out: AlertDelivery[] = [];
  for (const alert of alerts) {
    for (const channel of alert.channels) {
      const sink = sinks.find((s) => s.channel === channel);
      if (!sink) {
        out.push({ rule: alert.rule, channel, ok: false, error: `no ${channel} alert sink is configured` });
        continue;
      }
      try {
        out.push({ rule: alert.rule, channel, ...(await sink.send(alert)) });
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

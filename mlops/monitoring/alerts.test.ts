import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LogAlertSink, WebhookAlertSink } from "../../platform/adapters/alerts/sinks.ts";
import {
  CloudMonitoringAlertSink,
  cloudMonitoringRequest,
} from "../../platform/adapters/gcp/cloud-monitoring-alerts.ts";
import { monitoringConfigSchema } from "../../platform/config/sections/monitoring.ts";
import { type AlertRule, dispatchAlerts, evaluateAlertRules } from "./alerts.ts";

/** The sinks platform/context.ts builds, from the same settings. */
function sinks(t: {
  webhookUrl?: string;
  webhookTimeoutMs: number;
  gcpProject?: string;
  cloudMonitoringDryRun: boolean;
}) {
  return [
    new LogAlertSink(),
    new WebhookAlertSink({ url: t.webhookUrl, timeoutMs: t.webhookTimeoutMs }),
    new CloudMonitoringAlertSink({
      project: t.gcpProject,
      dryRun: t.cloudMonitoringDryRun,
      timeoutMs: t.webhookTimeoutMs,
    }),
  ];
}

import type { PerformancePeriod } from "./performance.ts";
import type { DriftReport } from "./reference-profile.ts";

function report(drifted: string[], opts: { predictionDrift?: boolean; issues?: number } = {}): DriftReport {
  const names = ["monthly_price_brl", "tenure_months", "segment"];
  return {
    drift: drifted.length > 0 || Boolean(opts.predictionDrift),
    enoughData: true,
    minSamples: 100,
    nReference: 1000,
    nCurrent: 1000,
    features: names.map((name) => ({
      name,
      test: "psi" as const,
      score: drifted.includes(name) ? 0.6 : 0.01,
      threshold: 0.25,
      drift: drifted.includes(name),
      warn: false,
    })),
    predictionDrift: {
      name: "churn_probability",
      test: "psi",
      score: opts.predictionDrift ? 0.4 : 0.01,
      threshold: 0.25,
      drift: Boolean(opts.predictionDrift),
      warn: false,
      referenceMean: 0.1,
      currentMean: opts.predictionDrift ? 0.2 : 0.1,
    },
    quality: {
      ok: !opts.issues,
      issues: Array.from({ length: opts.issues ?? 0 }, () => ({
        feature: "tenure_months",
        kind: "null_rate" as const,
        value: 0.2,
        reference: 0,
        tolerance: 0.05,
      })),
    },
  };
}

const perf = (auc: number | null): PerformancePeriod[] => [
  { period: "2026-W40", n: 500, positives: 40, auc, ece: 0.02, meanProbability: 0.08, positiveRate: 0.08 },
];
const rule = (r: Partial<AlertRule> & Pick<AlertRule, "name" | "when">): AlertRule => ({
  minFeatures: 1,
  channels: ["log"],
  severity: "warning",
  retrain: false,
  ...r,
});

describe("alert rules", () => {
  it("fire on drift, prediction drift, quality and low AUC, and stay quiet otherwise", () => {
    const rules = [
      rule({ name: "d", when: "drift" }),
      rule({ name: "p", when: "prediction_drift" }),
      rule({ name: "q", when: "quality" }),
      rule({ name: "a", when: "auc_below", threshold: 0.7 }),
    ];
    expect(
      evaluateAlertRules(rules, { model: "churn@1", report: report([]), performance: perf(0.8) }),
    ).toEqual([]);
    const fired = evaluateAlertRules(rules, {
      model: "churn@1",
      report: report(["monthly_price_brl"], { predictionDrift: true, issues: 1 }),
      performance: perf(0.65),
    });
    expect(fired.map((a) => a.rule)).toEqual(["d", "p", "q", "a"]);
    expect(fired[0].message).toBe("churn@1: drift in 1 feature(s): monthly_price_brl");
    expect(fired[3].details).toMatchObject({ auc: 0.65, threshold: 0.7 });
  });

  it("respects minFeatures and ignores periods without an AUC", () => {
    const rules = [
      rule({ name: "d2", when: "drift", minFeatures: 2 }),
      rule({ name: "a", when: "auc_below", threshold: 0.9 }),
    ];
    expect(
      evaluateAlertRules(rules, { model: "m", report: report(["segment"]), performance: perf(null) }),
    ).toEqual([]);
    expect(
      evaluateAlertRules(rules, {
        model: "m",
        report: report(["segment", "tenure_months"]),
        performance: [],
      }).map((a) => a.rule),
    ).toEqual(["d2"]);
  });

  it("ship with sensible defaults in the monitoring config", () => {
    const cfg = monitoringConfigSchema.parse({});
    expect(cfg.alerts.rules.map((r) => r.when)).toEqual(["drift", "quality", "auc_below"]);
    expect(() =>
      monitoringConfigSchema.parse({ alerts: { rules: [{ name: "x", when: "bogus" }] } }),
    ).toThrow();
  });
});

describe("alert channels", () => {
  let server: Server;
  let url: string;
  const received: { headers: Record<string, unknown>; body: unknown }[] = [];
  let status = 200;
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => {
        body += c;
      });
      req.on("end", () => {
        received.push({ headers: req.headers, body: JSON.parse(body) });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("POSTs the alert as JSON to the webhook and reports HTTP failures without throwing", async () => {
    const [alert] = evaluateAlertRules([rule({ name: "d", when: "drift", channels: ["webhook"] })], {
      model: "churn@2",
      report: report(["monthly_price_brl"]),
      performance: [],
    });
    const ok = await dispatchAlerts(
      [alert],
      sinks({
        webhookUrl: url,
        webhookTimeoutMs: 2000,
        cloudMonitoringDryRun: true,
      }),
    );
    expect(ok).toEqual([{ rule: "d", channel: "webhook", ok: true, status: 200 }]);
    expect(received[0].headers["content-type"]).toBe("application/json");
    expect(received[0].body).toMatchObject({
      source: "telco-monitoring",
      alert: { rule: "d", model: "churn@2", when: "drift" },
    });
    status = 500;
    const failed = await dispatchAlerts(
      [alert],
      sinks({
        webhookUrl: url,
        webhookTimeoutMs: 2000,
        cloudMonitoringDryRun: true,
      }),
    );
    expect(failed[0]).toMatchObject({ ok: false, status: 500, error: "HTTP 500" });
    const unreachable = await dispatchAlerts(
      [alert],
      sinks({
        webhookUrl: "http://127.0.0.1:1/x",
        webhookTimeoutMs: 2000,
        cloudMonitoringDryRun: true,
      }),
    );
    expect(unreachable[0].ok).toBe(false);
    const unset = await dispatchAlerts(
      [alert],
      sinks({ webhookTimeoutMs: 2000, cloudMonitoringDryRun: true }),
    );
    expect(unset[0].error).toMatch(/webhookUrl/);
  });

  it("builds the Cloud Monitoring custom-metric write in dry-run mode", async () => {
    const [alert] = evaluateAlertRules(
      [rule({ name: "q", when: "quality", channels: ["cloud_monitoring"], severity: "critical" })],
      {
        model: "churn@2",
        report: report([], { issues: 2 }),
        performance: [],
        at: "2026-11-25T12:00:00.000Z",
      },
    );
    const [delivery] = await dispatchAlerts(
      [alert],
      sinks({
        gcpProject: "aurora-prod",
        webhookTimeoutMs: 1000,
        cloudMonitoringDryRun: true,
      }),
    );
    expect(delivery.ok).toBe(true);
    expect(delivery.request).toEqual(cloudMonitoringRequest(alert, "aurora-prod"));
    expect(delivery.request?.url).toBe(
      "https://monitoring.googleapis.com/v3/projects/aurora-prod/timeSeries",
    );
    expect(delivery.request?.body).toMatchObject({
      timeSeries: [
        {
          metric: {
            type: "custom.googleapis.com/telco/churn_monitoring_alert",
            labels: { rule: "q", severity: "critical" },
          },
          resource: { type: "global", labels: { project_id: "aurora-prod" } },
          points: [{ interval: { endTime: "2026-11-25T12:00:00.000Z" }, value: { int64Value: "1" } }],
        },
      ],
    });
    const noProject = await dispatchAlerts(
      [alert],
      sinks({ webhookTimeoutMs: 1000, cloudMonitoringDryRun: false }),
    );
    expect(noProject[0]).toMatchObject({ ok: false, error: "gcp.project is not set" });
  });
});

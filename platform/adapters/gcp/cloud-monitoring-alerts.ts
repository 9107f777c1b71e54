import type { AlertNotice, AlertSendResult, AlertSink } from "../../ports/alert-sink.ts";

/** The Cloud Monitoring custom-metric write (projects.timeSeries.create) for one alert. */
export function cloudMonitoringRequest(
  alert: Pick<AlertNotice, "rule" | "model" | "severity" | "at">,
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

/**
 * Writes one point of the custom metric `telco/churn_monitoring_alert` per alert (an alert policy on
 * that metric notifies people). Dry run: reports the request without sending it.
 */
export class CloudMonitoringAlertSink implements AlertSink {
  readonly channel = "cloud_monitoring" as const;
  private readonly project: string | undefined;
  private readonly dryRun: boolean;
  private readonly timeoutMs: number;
  private readonly accessToken: () => Promise<string>;
  private readonly fetchImpl: typeof globalThis.fetch;
  private readonly endpoint: string | undefined;

  constructor(opts: {
    project?: string;
    dryRun: boolean;
    timeoutMs: number;
    /** Bearer token source (default: Application Default Credentials). */
    accessToken?: () => Promise<string>;
    fetch?: typeof globalThis.fetch;
    /** Replaces https://monitoring.googleapis.com (tests: a local fake server). */
    endpoint?: string;
  }) {
    this.project = opts.project;
    this.dryRun = opts.dryRun;
    this.timeoutMs = opts.timeoutMs;
    this.accessToken = opts.accessToken ?? defaultAccessToken;
    this.fetchImpl = opts.fetch ?? globalThis.fetch;
    this.endpoint = opts.endpoint?.replace(/\/$/, "");
  }

  async send(alert: AlertNotice): Promise<AlertSendResult> {
    const request = cloudMonitoringRequest(alert, this.project ?? "PROJECT_ID");
    if (this.dryRun) return { ok: true, request };
    if (!this.project) return { ok: false, error: "gcp.project is not set", request };
    try {
      const url = this.endpoint
        ? request.url.replace("https://monitoring.googleapis.com", this.endpoint)
        : request.url;
      const token = await this.accessToken();
      const res = await this.fetchImpl(url, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify(request.body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      return { ok: res.ok, status: res.status, ...(res.ok ? {} : { error: `HTTP ${res.status}` }) };
    } catch (err) {
      return { ok: false, error: err instanceof Error ? err.message : String(err) };
    }
  }
}

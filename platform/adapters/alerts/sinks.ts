import type { AlertNotice, AlertSendResult, AlertSink } from "../../ports/alert-sink.ts";
import { logger } from "../../telemetry/logger.ts";

/** Writes the alert to the process log (pino, warn level). */
export class LogAlertSink implements AlertSink {
  readonly channel = "log" as const;
  async send(alert: AlertNotice): Promise<AlertSendResult> {
    logger().warn({ alert }, `monitoring alert: ${alert.message}`);
    return { ok: true };
  }
}

/** POSTs `{ source: "telco-monitoring", alert }` as JSON; without a URL every send reports the missing setting. */
export class WebhookAlertSink implements AlertSink {
  readonly channel = "webhook" as const;
  private readonly url: string | undefined;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof globalThis.fetch;

  constructor(opts: { url?: string; timeoutMs: number; fetch?: typeof globalThis.fetch }) {
    this.url = opts.url;
    this.timeoutMs = opts.timeoutMs;
    this.fetchImpl = opts.fetch ?? globalThis.fetch;
  }

  async send(alert: AlertNotice): Promise<AlertSendResult> {
    if (!this.url) return { ok: false, error: "monitoring.alerts.webhookUrl is not set" };
    try {
      const res = await this.fetchImpl(this.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ source: "telco-monitoring", alert }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      return { ok: res.ok, status: res.status, ...(res.ok ? {} : { error: `HTTP ${res.status}` }) };
    } catch (err) {
      return { ok: false, error: err instanceof Error ? err.message : String(err) };
    }
  }
}

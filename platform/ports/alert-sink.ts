/**
 * Alert sink port (version 1): where monitoring alerts go. Monitoring decides which alerts fire and
 * which channels each names; the composition root (platform/context.ts `alertSinks()`) builds one
 * sink per channel from config. Adapters: platform/adapters/alerts/ (log, webhook) and
 * platform/adapters/gcp/cloud-monitoring-alerts.ts (Cloud Monitoring custom metric).
 */
export type AlertChannelName = "log" | "webhook" | "cloud_monitoring";

/** What a sink receives: one fired rule. */
export interface AlertNotice {
  rule: string;
  when: string;
  severity: string;
  message: string;
  model: string;
  /** ISO timestamp of the monitoring run. */
  at: string;
  details: Record<string, unknown>;
}

/** What a sink did with one alert. Sinks never throw for delivery failures: they report them. */
export interface AlertSendResult {
  ok: boolean;
  /** HTTP status, for sinks that call HTTP. */
  status?: number;
  error?: string;
  /** Dry runs: the request that would have been sent. */
  request?: { method: string; url: string; body: unknown };
}

export interface AlertSink {
  readonly channel: AlertChannelName;
  send(alert: AlertNotice): Promise<AlertSendResult>;
}

import { vi } from "vitest";
import type { AlertNotice } from "../../ports/alert-sink.ts";
import { alertSinkContract } from "../../ports/testing/alert-sink.contract.ts";
import { logger } from "../../telemetry/logger.ts";
import { LogAlertSink, WebhookAlertSink } from "./sinks.ts";
import { type FakeReceiver, startFakeReceiver, unreachableUrl } from "./testing/fake-receiver.ts";

// The port's shared contract against the log sink (its delivery is the warn line the process logs,
// captured here) and the webhook sink (a local HTTP receiver).
alertSinkContract("LogAlertSink (process log)", async () => {
  const lines: unknown[][] = [];
  const spy = vi.spyOn(logger(), "warn").mockImplementation((...args: unknown[]) => {
    lines.push(args);
  });
  return {
    sink: new LogAlertSink(),
    channel: "log",
    delivered: () => lines.map(([obj]) => (obj as { alert: AlertNotice }).alert),
    async dispose() {
      spy.mockRestore();
    },
  };
});

alertSinkContract("WebhookAlertSink (local HTTP receiver)", async () => {
  const hook: FakeReceiver = await startFakeReceiver();
  const down = await unreachableUrl();
  return {
    sink: new WebhookAlertSink({ url: `${hook.url}/hooks/alerts`, timeoutMs: 2000 }),
    channel: "webhook",
    delivered: () =>
      hook.received
        .filter((r) => r.path === "/hooks/alerts")
        .map((r) => {
          const body = r.body as { source: string; alert: AlertNotice };
          if (body.source !== "telco-monitoring") throw new Error(`unexpected source ${body.source}`);
          return body.alert;
        }),
    failing: () => new WebhookAlertSink({ url: `${hook.url}/fail`, timeoutMs: 2000 }),
    unreachable: () => new WebhookAlertSink({ url: down, timeoutMs: 2000 }),
    silent: () => ({
      sink: new WebhookAlertSink({ url: `${hook.url}/silent`, timeoutMs: 100 }),
      release: hook.release,
    }),
    dispose: () => hook.close(),
  };
});

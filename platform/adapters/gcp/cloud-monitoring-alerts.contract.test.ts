import { alertSinkContract } from "../../ports/testing/alert-sink.contract.ts";
import { type FakeReceiver, startFakeReceiver, unreachableUrl } from "../alerts/testing/fake-receiver.ts";
import { CloudMonitoringAlertSink } from "./cloud-monitoring-alerts.ts";

// The port's shared contract against the Cloud Monitoring sink, over HTTP to a local server standing
// in for monitoring.googleapis.com (`projects.timeSeries.create`, bodies read as the v3 REST
// reference defines them; never run against Cloud Monitoring). A point carries the alert's rule,
// model and severity as metric labels and its time as the interval's end.
interface TimeSeriesBody {
  timeSeries: {
    metric: { type: string; labels: Record<string, string> };
    points: { interval: { endTime: string }; value: { int64Value: string } }[];
  }[];
}

alertSinkContract("CloudMonitoringAlertSink (fake Cloud Monitoring API)", async () => {
  const api: FakeReceiver = await startFakeReceiver();
  const down = await unreachableUrl();
  const sink = (endpoint: string, timeoutMs = 2000) =>
    new CloudMonitoringAlertSink({
      project: "aurora-prod",
      dryRun: false,
      timeoutMs,
      endpoint,
      accessToken: async () => "token",
    });
  return {
    sink: sink(api.url),
    channel: "cloud_monitoring",
    delivered: () =>
      api.received
        .filter(
          (r) =>
            r.path === "/v3/projects/aurora-prod/timeSeries" && r.headers.authorization === "Bearer token",
        )
        .flatMap((r) =>
          (r.body as TimeSeriesBody).timeSeries
            .filter((ts) => ts.metric.type === "custom.googleapis.com/telco/churn_monitoring_alert")
            .map((ts) => ({
              rule: ts.metric.labels.rule,
              model: ts.metric.labels.model,
              severity: ts.metric.labels.severity,
              at: ts.points[0]?.interval.endTime,
            })),
        ),
    failing: () => sink(`${api.url}/fail`),
    unreachable: () => sink(down),
    silent: () => ({ sink: sink(`${api.url}/silent`, 100), release: api.release }),
    dispose: () => api.close(),
  };
});

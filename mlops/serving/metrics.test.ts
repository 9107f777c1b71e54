import { Counter, Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { FastHistogram, ServingMetrics } from "./metrics.ts";

describe("FastHistogram", () => {
  it("exposes exactly what a prom-client Histogram (and request Counter) exposes for the same observations", async () => {
    const buckets = [0.001, 0.01, 0.1, 1];
    const ours = new ServingMetrics();
    const ref = new Registry();
    const refLatency = new Histogram({
      name: "http_request_duration_seconds",
      help: "HTTP request latency by route and status",
      labelNames: ["method", "route", "status"],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [ref],
    });
    const refCount = new Counter({
      name: "http_requests_total",
      help: "HTTP requests by route and status",
      labelNames: ["method", "route", "status"],
      registers: [ref],
    });
    const values = [0, 0.0005, 0.0007, 0.001, 0.003, 0.05, 0.1, 2, 2.5, 7, 0.02];
    for (const [i, v] of values.entries()) {
      const labels = { method: "POST", route: "/v1/churn/predict", status: i % 3 === 0 ? "400" : "200" };
      ours.latency.labels(labels).observe(v);
      refLatency.observe(labels, v);
      refCount.inc(labels);
    }
    const text = await ours.render();
    const expected = await ref.metrics();
    for (const block of expected.trim().split("\n\n")) expect(text).toContain(block);

    const alone = new Registry();
    const h = new FastHistogram({ name: "x", help: "h", buckets, registers: [alone] });
    h.labels({ a: "1" }).observe(Number.NaN); // ignored, like a metric never fed garbage
    h.labels({ a: "1" }).observe(0.5);
    expect(await alone.metrics()).toContain(
      'x_bucket{le="1",a="1"} 1\nx_bucket{le="+Inf",a="1"} 1\nx_sum{a="1"} 0.5',
    );
  });
});

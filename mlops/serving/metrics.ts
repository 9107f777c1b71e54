import { existsSync, readFileSync, statSync } from "node:fs";
import { Counter, Gauge, Histogram, Registry } from "prom-client";

/** The drift summary a monitor run leaves for the server's /metrics (see mlops/monitoring/monitor.ts). */
export interface DriftSnapshot {
  at: string;
  drift: boolean;
  features: { name: string; test: string; score: number; drift: boolean }[];
  prediction_drift?: { score: number; drift: boolean } | null;
}

/**
 * Prometheus metrics of one server (own registry, so tests and several servers never collide):
 * request counts and latency per route and status, the score distribution, which model version is
 * served, and the drift gauges of the last monitor run (re-read when its file changes).
 */
export class ServingMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<"method" | "route" | "status">;
  readonly latency: Histogram<"method" | "route" | "status">;
  readonly scores: Histogram<"model_version" | "shadow">;
  readonly modelInfo: Gauge<"model" | "version" | "alias">;
  private readonly driftScore: Gauge<"feature" | "test">;
  private readonly driftFlag: Gauge<"feature">;
  private readonly driftFile: string | undefined;
  private driftMtime = 0;

  constructor(opts: { driftFile?: string } = {}) {
    this.driftFile = opts.driftFile;
    const registers = [this.registry];
    this.requests = new Counter({
      name: "http_requests_total",
      help: "HTTP requests by route and status",
      labelNames: ["method", "route", "status"],
      registers,
    });
    this.latency = new Histogram({
      name: "http_request_duration_seconds",
      help: "HTTP request latency by route and status",
      labelNames: ["method", "route", "status"],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.scores = new Histogram({
      name: "churn_prediction_probability",
      help: "Churn probabilities returned (or shadow-scored)",
      labelNames: ["model_version", "shadow"],
      buckets: [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1],
      registers,
    });
    this.modelInfo = new Gauge({
      name: "churn_model_info",
      help: "1 for the model version currently served at the alias",
      labelNames: ["model", "version", "alias"],
      registers,
    });
    this.driftScore = new Gauge({
      name: "churn_feature_drift_score",
      help: "Drift score of each feature in the last monitor run (PSI/JS, or p-value for KS/chi2)",
      labelNames: ["feature", "test"],
      registers,
    });
    this.driftFlag = new Gauge({
      name: "churn_feature_drift_detected",
      help: "1 when the last monitor run flagged the feature (feature=_any: any drift)",
      labelNames: ["feature"],
      registers,
    });
  }

  /** Marks `version` as the one served (resets the previous one). */
  setModel(model: string, version: number, alias: string): void {
    this.modelInfo.reset();
    this.modelInfo.set({ model, version: String(version), alias }, 1);
  }

  /** Loads the last monitor run's drift gauges when the file changed since the last scrape. */
  private refreshDrift(): void {
    if (!this.driftFile || !existsSync(this.driftFile)) return;
    const mtime = statSync(this.driftFile).mtimeMs;
    if (mtime === this.driftMtime) return;
    this.driftMtime = mtime;
    try {
      const snap = JSON.parse(readFileSync(this.driftFile, "utf8")) as DriftSnapshot;
      this.driftScore.reset();
      this.driftFlag.reset();
      for (const f of snap.features ?? []) {
        this.driftScore.set({ feature: f.name, test: f.test }, f.score);
        this.driftFlag.set({ feature: f.name }, f.drift ? 1 : 0);
      }
      if (snap.prediction_drift) {
        this.driftScore.set({ feature: "churn_probability", test: "psi" }, snap.prediction_drift.score);
        this.driftFlag.set({ feature: "churn_probability" }, snap.prediction_drift.drift ? 1 : 0);
      }
      this.driftFlag.set({ feature: "_any" }, snap.drift ? 1 : 0);
    } catch {
      // A half-written or foreign file: keep the previous gauges.
    }
  }

  /** The Prometheus text exposition. */
  async render(): Promise<string> {
    this.refreshDrift();
    return this.registry.metrics();
  }
}

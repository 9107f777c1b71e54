import { existsSync, readFileSync, statSync } from "node:fs";
import { Counter, Gauge, Registry } from "prom-client";

/** The drift summary a monitor run leaves for the server's /metrics (see mlops/monitoring/monitor.ts). */
export interface DriftSnapshot {
  at: string;
  drift: boolean;
  features: { name: string; test: string; score: number; drift: boolean }[];
  prediction_drift?: { score: number; drift: boolean } | null;
}

/** Worker-thread state for /metrics (see ServingMetrics.watchThreads). */
export interface ThreadStats {
  logThreadUp: boolean;
  explainThreadUp: boolean;
  explainRows: number;
  logRecords: number;
}

/** One labelled histogram series: cumulative-at-export bucket counts, sum and count in plain numbers. */
export class HistogramSeries {
  readonly labels: Readonly<Record<string, string>>;
  private readonly bounds: Float64Array;
  /** counts[i] = observations in (bounds[i-1], bounds[i]]; the last slot is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(labels: Record<string, string>, bounds: Float64Array) {
    this.labels = labels;
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) return;
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > b[i]) i++;
    this.counts[i]++;
    this.sum += value;
    this.count++;
  }
}

/** A metric value in prom-client's exposition shape (what Registry formats). */
interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

/** What a custom metric's `get()` returns to prom-client's Registry. */
interface MetricSnapshot {
  name: string;
  help: string;
  type: string;
  values: MetricValue[];
  aggregator: string;
}

/**
 * A Prometheus histogram whose labelled series are held by the caller: `observe` is a bucket scan and
 * three additions. prom-client's Histogram validates and hashes the label set on every observe, even
 * on a `labels()` child (~3 µs, twice per request in the serving profile). Registered in a prom-client
 * Registry like any metric (Registry only calls `get()`), so /metrics output is unchanged.
 */
export class FastHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = "histogram";
  readonly aggregator = "sum";
  private readonly bounds: Float64Array;
  private readonly series = new Map<string, HistogramSeries>();

  constructor(opts: { name: string; help: string; buckets: number[]; registers: Registry[] }) {
    this.name = opts.name;
    this.help = opts.help;
    this.bounds = Float64Array.from(opts.buckets).sort();
    for (const r of opts.registers) r.registerMetric(this as never);
  }

  /** The series of this label set (created at first use, then reused: keep it for hot paths). */
  labels(labels: Record<string, string>): HistogramSeries {
    const key = JSON.stringify(labels);
    let s = this.series.get(key);
    if (!s) {
      s = new HistogramSeries({ ...labels }, this.bounds);
      this.series.set(key, s);
    }
    return s;
  }

  /** Every series (for derived metrics such as request counts). */
  all(): IterableIterator<HistogramSeries> {
    return this.series.values();
  }

  reset(): void {
    for (const s of this.series.values()) {
      s.counts.fill(0);
      s.sum = 0;
      s.count = 0;
    }
  }

  async get(): Promise<MetricSnapshot> {
    const values: MetricValue[] = [];
    for (const s of this.series.values()) {
      let cumulative = 0;
      for (let i = 0; i <= this.bounds.length; i++) {
        cumulative += s.counts[i];
        values.push({
          labels: { le: i < this.bounds.length ? this.bounds[i] : "+Inf", ...s.labels },
          value: cumulative,
          metricName: `${this.name}_bucket`,
        });
      }
      values.push({ labels: { ...s.labels }, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...s.labels }, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}

/** A counter read from a FastHistogram's series counts (requests = latency observations per label set). */
class SeriesCountCounter {
  readonly name: string;
  readonly help: string;
  readonly type = "counter";
  readonly aggregator = "sum";
  private readonly source: FastHistogram;

  constructor(opts: { name: string; help: string; source: FastHistogram; registers: Registry[] }) {
    this.name = opts.name;
    this.help = opts.help;
    this.source = opts.source;
    for (const r of opts.registers) r.registerMetric(this as never);
  }

  async get(): Promise<MetricSnapshot> {
    const values = [...this.source.all()].map((s) => ({ labels: { ...s.labels }, value: s.count }));
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  reset(): void {}
}

/**
 * Prometheus metrics of one server (own registry, so tests and several servers never collide):
 * request counts and latency per route and status, the score distribution, which model version is
 * served, and the drift gauges of the last monitor run (re-read when its file changes).
 */
export class ServingMetrics {
  readonly registry = new Registry();
  /** Request latency by method, route and status; `http_requests_total` is derived from its counts. */
  readonly latency: FastHistogram;
  readonly scores: FastHistogram;
  readonly modelInfo: Gauge<"model" | "version" | "alias">;
  private readonly driftScore: Gauge<"feature" | "test">;
  private readonly driftFlag: Gauge<"feature">;
  private readonly driftFile: string | undefined;
  private driftMtime = 0;
  private readonly included: Registry[] = [];

  constructor(opts: { driftFile?: string } = {}) {
    this.driftFile = opts.driftFile;
    const registers = [this.registry];
    this.latency = new FastHistogram({
      name: "http_request_duration_seconds",
      help: "HTTP request latency by route and status",
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    new SeriesCountCounter({
      name: "http_requests_total",
      help: "HTTP requests by route and status",
      source: this.latency,
      registers,
    });
    this.scores = new FastHistogram({
      name: "churn_prediction_probability",
      help: "Churn probabilities returned (or shadow-scored)",
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

  /**
   * Exposes the worker threads' state, read at scrape time (nothing per request):
   * `churn_worker_thread_up{thread}` (1 while the thread is in use, 0 when off or failed: the request
   * thread does its work), `churn_explain_thread_rows_total`, `churn_prediction_log_records_total`.
   */
  watchThreads(read: () => ThreadStats): void {
    const registers = [this.registry];
    new Gauge({
      name: "churn_worker_thread_up",
      help: "1 while the worker thread does its work (prediction_log, explain); 0 when off or failed",
      labelNames: ["thread"],
      registers,
      collect() {
        const s = read();
        this.set({ thread: "prediction_log" }, s.logThreadUp ? 1 : 0);
        this.set({ thread: "explain" }, s.explainThreadUp ? 1 : 0);
      },
    });
    new Counter({
      name: "churn_explain_thread_rows_total",
      help: "Rows whose TreeSHAP values were computed on the explain thread",
      registers,
      collect() {
        this.reset();
        this.inc(read().explainRows);
      },
    });
    new Counter({
      name: "churn_prediction_log_records_total",
      help: "Predictions written to the prediction log in the lake",
      registers,
      collect() {
        this.reset();
        this.inc(read().logRecords);
      },
    });
  }

  /**
   * Exposes the HTTP sockets (read at scrape time): `http_open_connections` and
   * `http_connections_shed_total{reason}` (evicted idle sockets, refused connections at the cap).
   */
  watchConnections(read: () => { open: number; evicted: number; refused: number }): void {
    const registers = [this.registry];
    new Gauge({
      name: "http_open_connections",
      help: "Open client sockets (capped by serving.http.maxConnections)",
      registers,
      collect() {
        this.set(read().open);
      },
    });
    new Counter({
      name: "http_connections_shed_total",
      help: "Sockets closed at the connection cap: evicted (idle, no request yet) or refused (all busy)",
      labelNames: ["reason"],
      registers,
      collect() {
        const s = read();
        this.reset();
        this.inc({ reason: "evicted" }, s.evicted);
        this.inc({ reason: "refused" }, s.refused);
      },
    });
  }

  /** `access_log_dropped_lines_total`: access-log lines dropped because stderr fell too far behind. */
  watchAccessLog(dropped: () => number): void {
    new Counter({
      name: "access_log_dropped_lines_total",
      help: "Access-log lines dropped because the log destination could not keep up (bounded buffer)",
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(dropped());
      },
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
    let text = await this.registry.metrics();
    for (const r of this.included) text += `\n${await r.metrics()}`;
    return text;
  }

  /** Another module's registry (the assistant's series), exposed on the same /metrics. */
  include(registry: Registry): void {
    if (registry !== this.registry && !this.included.includes(registry)) this.included.push(registry);
  }
}

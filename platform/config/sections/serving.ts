import { z } from "zod";

/** Online serving and batch scoring settings (see docs/mlops/serving.md). */
export const servingConfigSchema = z
  .object({
    /** Overridden by env PORT (Cloud Run sets it). */
    port: z.number().int().min(0).max(65535).default(8080),
    host: z.string().default("127.0.0.1"),
    /** Registered model served by default, at `alias`. */
    modelName: z.string().min(1).default("churn"),
    alias: z.string().min(1).default("champion"),
    /** Alias scored in shadow (logged with shadow: true, never returned); null disables. */
    shadowAlias: z.string().min(1).nullable().default(null),
    /** How often the server re-resolves the alias in the registry (hot swap without restart). */
    pollIntervalMs: z.number().int().min(100).default(5000),
    /** Largest number of customers (ids or feature rows) in one predict request. */
    maxBatch: z.number().int().min(1).max(100_000).default(100),
    /** Largest request body, in bytes (larger → 413). */
    bodyLimitBytes: z.number().int().min(1024).default(1_048_576),
    /** Probability cut-offs of the risk bands: < medium → low, < high → medium, else high. */
    riskBands: z
      .object({ medium: z.number().gt(0).lt(1).default(0.3), high: z.number().gt(0).lt(1).default(0.6) })
      .strict()
      .refine((b) => b.medium < b.high, { message: "riskBands.medium must be below riskBands.high" })
      .default({ medium: 0.3, high: 0.6 }),
    /**
     * Where the risk band cut-offs come from: "card" uses the served model's own bands (set at
     * registration from its training score distribution, see riskBandShares) when it has them,
     * else `riskBands`; "config" always uses `riskBands`.
     */
    riskBandSource: z.enum(["card", "config"]).default("card"),
    /** Shares of the training customers put in the high and medium bands when a model's bands are set. */
    riskBandShares: z
      .object({ high: z.number().gt(0).lt(1).default(0.05), medium: z.number().gt(0).lt(1).default(0.15) })
      .strict()
      .refine((s) => s.high + s.medium < 1, { message: "riskBandShares.high + medium must be below 1" })
      .default({ high: 0.05, medium: 0.15 }),
    /** Number of TreeSHAP reasons returned per prediction. */
    topReasons: z.number().int().min(0).max(50).default(3),
    /** API keys accepted as `Authorization: Bearer KEY` (TELCO_API_KEYS adds more). */
    apiKeys: z.array(z.string().min(16)).default([]),
    /** Per-API-key rate limit. */
    rateLimit: z
      .object({
        max: z.number().int().min(1).default(60_000),
        timeWindowMs: z.number().int().min(1000).default(60_000),
      })
      .strict()
      .default({ max: 60_000, timeWindowMs: 60_000 }),
    /** OpenTelemetry span exporter: none, console (stderr) or memory (tests). */
    tracing: z.enum(["none", "console", "memory"]).default("none"),
    /** Prediction log: flush when this many records are buffered, or every flushIntervalMs (small
     * flushes keep each synchronous JSON.stringify pause short for the API's tail latency). */
    logBufferSize: z.number().int().min(1).default(1000),
    logFlushIntervalMs: z.number().int().min(100).default(10_000),
    /**
     * Worker threads for the prediction log (line building, gzip) and for TreeSHAP of uncached rows:
     * "auto" uses them when the machine has more than one CPU (they only add hand-off cost on one).
     */
    workerThreads: z.enum(["auto", "on", "off"]).default("auto"),
    /** Rows per chunk in batch scoring (bounds memory). */
    batchChunkRows: z.number().int().min(100).default(50_000),
    /**
     * What a kill -9 of the server may lose from the prediction log (docs/operations/reliability.md):
     * "buffered" loses the records not yet in the lake (the buffer: < logBufferSize records, at most
     * logFlushIntervalMs of traffic, plus flushes still queued); "journal" appends each request's records to a local journal (one write(2) per request)
     * before answering, so a killed process loses none (replayed into the lake on the next start);
     * "journal-fsync" also fsyncs it, which survives a power cut too (much slower).
     */
    predictionLog: z
      .object({
        durability: z.enum(["buffered", "journal", "journal-fsync"]).default("buffered"),
      })
      .strict()
      .default({ durability: "buffered" }),
    /** HTTP limits: slow or idle clients cannot hold the server's sockets (docs/operations/reliability.md). */
    http: z
      .object({
        /** Whole request (headers and body) must arrive within this; else 408 and the socket closes. */
        requestTimeoutMs: z.number().int().min(100).default(30_000),
        /** Request headers must arrive within this (slowloris); else 408 and the socket closes. */
        headersTimeoutMs: z.number().int().min(100).default(10_000),
        /** A socket with no traffic at all (no request yet, or a stalled one) is closed after this. */
        idleTimeoutMs: z.number().int().min(100).default(30_000),
        /** A keep-alive socket waiting for its next request is closed after this. */
        keepAliveTimeoutMs: z.number().int().min(100).default(5_000),
        /**
         * Open sockets at most (keep well below `ulimit -n`): at the cap a new connection first evicts
         * the oldest socket that has not sent a request yet, then idle keep-alive ones, else it is refused.
         */
        maxConnections: z.number().int().min(1).default(4096),
      })
      .strict()
      .refine((h) => h.headersTimeoutMs <= h.requestTimeoutMs, {
        message: "http.headersTimeoutMs must not exceed http.requestTimeoutMs",
      })
      .default({
        requestTimeoutMs: 30_000,
        headersTimeoutMs: 10_000,
        idleTimeoutMs: 30_000,
        keepAliveTimeoutMs: 5_000,
        maxConnections: 4096,
      }),
  })
  .strict();

export type ServingConfig = z.infer<typeof servingConfigSchema>;

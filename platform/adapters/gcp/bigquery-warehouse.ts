import { TelcoError } from "../../errors.ts";
import type {
  DryRunResult,
  JobOutcome,
  LoadBatch,
  LoadResult,
  LoadTableSpec,
  Row,
  Warehouse,
} from "../../ports/warehouse.ts";
import {
  type BigQueryJobLookup,
  type BigQueryJobsLike,
  BigQueryLoader,
  bigqueryJobOutcome,
} from "./bigquery-loader.ts";
import { gcpPreflight } from "./preflight.ts";

/** The slice of @google-cloud/bigquery's client this adapter uses (lets tests pass a fake). */
export interface BigQueryLike extends Partial<BigQueryJobsLike>, Partial<BigQueryJobLookup> {
  query(options: {
    query: string;
    params?: unknown[];
    location?: string;
    jobId?: string;
  }): Promise<[Row[], ...unknown[]]>;
  createQueryJob(options: {
    query: string;
    params?: unknown[];
    location?: string;
    dryRun?: boolean;
  }): Promise<
    [
      {
        metadata?: { statistics?: { totalBytesProcessed?: string | number } };
        getQueryResults(options: {
          maxResults: number;
          pageToken?: string;
          autoPaginate: false;
        }): Promise<[Row[], { pageToken?: string } | null | undefined, ...unknown[]]>;
      },
      ...unknown[],
    ]
  >;
}

/** Warehouse schemas (lake layers) that map to BigQuery datasets. */
const LAYERS = ["raw", "bronze", "silver", "gold", "meta", "logs"];

/**
 * Warehouse on BigQuery. The domain's SQL names tables `layer.table` (bronze.crm_customers); here each
 * layer is a dataset, optionally prefixed (`prefix_bronze`) so dev/staging/prod can share a project.
 */
export class BigQueryWarehouse implements Warehouse {
  readonly kind = "bigquery" as const;
  readonly dialect = "bigquery" as const;
  private readonly clientPromise: Promise<BigQueryLike>;
  private readonly location: string;
  private readonly prefix: string;
  private readonly project: string | undefined;

  constructor(opts: {
    project?: string;
    location: string;
    datasetPrefix?: string;
    client?: BigQueryLike;
    /** Another API root (a local fake in tests); no credentials are looked for then. */
    apiEndpoint?: string;
  }) {
    this.location = opts.location;
    this.prefix = opts.datasetPrefix ?? "";
    this.project = opts.project;
    this.clientPromise = opts.client
      ? Promise.resolve(opts.client)
      : openClient(opts.project, opts.apiEndpoint);
    // Rejections (no credentials, no network) reach the first query, not the process as unhandled.
    this.clientPromise.catch(() => {});
  }

  /** Rewrites `layer.table` references (and `schema layer`) to the configured datasets. */
  qualify(sql: string): string {
    if (!this.prefix) return sql;
    const pattern = new RegExp(`(?<![\\w.\`])(${LAYERS.join("|")})\\.(?=[A-Za-z_])`, "g");
    const schema = new RegExp(`\\b(schema\\s+(?:if\\s+not\\s+exists\\s+)?)(${LAYERS.join("|")})\\b`, "gi");
    const code = (part: string) =>
      part
        .replace(pattern, (_m, layer: string) => `${this.prefix}_${layer}.`)
        .replace(schema, (_m, head: string, layer: string) => `${head}${this.prefix}_${layer}`);
    // String literals are data ('gold.churn_training' names a table in meta, unprefixed) and comments
    // are prose: only the code between them is rewritten. Hand-written: a quote-aware split is a few lines.
    let out = "";
    let from = 0;
    for (let i = 0; i < sql.length; i++) {
      const q = sql[i];
      if (q === "-" && sql[i + 1] === "-") {
        // a comment (its apostrophes open no string) stays as written
        out += code(sql.slice(from, i));
        const eol = sql.indexOf("\n", i);
        const end = eol < 0 ? sql.length : eol;
        out += sql.slice(i, end);
        from = end;
        i = end - 1;
        continue;
      }
      if (q !== "'" && q !== '"') continue;
      out += code(sql.slice(from, i));
      let j = i + 1;
      while (j < sql.length && sql[j] !== q) j += sql[j] === "\\" ? 2 : 1;
      out += sql.slice(i, j + 1);
      from = j + 1;
      i = j;
    }
    return out + code(sql.slice(from));
  }

  /** The dataset a lake layer maps to (`dev_bronze` with prefix `dev`). */
  dataset(layer: string): string {
    return this.prefix ? `${this.prefix}_${layer}` : layer;
  }

  /** BigQuery's dry run: the statement is parsed, its tables resolved and its bytes estimated. */
  async dryRun(sql: string): Promise<DryRunResult> {
    const client = await this.clientPromise;
    const [job] = await client.createQueryJob({
      query: this.qualify(sql),
      location: this.location,
      dryRun: true,
    });
    return { bytesProcessed: Number(job.metadata?.statistics?.totalBytesProcessed ?? 0) };
  }

  async query<T extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    const client = await this.clientPromise;
    const [rows] = await client.query({
      query: this.qualify(sql),
      params: params ? [...params] : undefined,
      location: this.location,
    });
    return rows as T[];
  }

  async exec(sql: string): Promise<void> {
    await this.query(sql);
  }

  /** One script as one job with a known id (jobs.insert), so `jobOutcome` can find it. */
  async execJob(sql: string, jobId: string): Promise<void> {
    const client = await this.clientPromise;
    await client.query({ query: this.qualify(sql), location: this.location, jobId });
  }

  /** A job's state by its id (jobs.get; see bigqueryJobOutcome). */
  async jobOutcome(jobId: string): Promise<JobOutcome> {
    const client = await this.clientPromise;
    if (!client.job) throw new TelcoError("unsupported", "this BigQuery client cannot look jobs up");
    return bigqueryJobOutcome(client as BigQueryJobLookup, jobId, this.location);
  }

  /** Raw files from Cloud Storage into bronze through a load job (see bigquery-loader.ts). */
  async loadFiles(spec: LoadTableSpec, batch: LoadBatch): Promise<LoadResult> {
    const client = await this.clientPromise;
    if (!client.createJob) throw new TelcoError("unsupported", "this BigQuery client cannot run load jobs");
    if (!this.project) {
      throw new TelcoError("config", "a load job needs the project of its destination table", {
        hint: "Set gcp.project (TELCO_GCP__PROJECT).",
      });
    }
    const loader = new BigQueryLoader({
      jobs: client as BigQueryJobsLike,
      warehouse: this,
      project: this.project,
      location: this.location,
    });
    return loader.load(spec, batch);
  }

  async *stream<T extends Row = Row>(sql: string, params?: readonly unknown[]): AsyncIterable<T[]> {
    const client = await this.clientPromise;
    const [job] = await client.createQueryJob({
      query: this.qualify(sql),
      params: params ? [...params] : undefined,
      location: this.location,
    });
    let pageToken: string | undefined;
    do {
      const [rows, next] = await job.getQueryResults({ maxResults: 10_000, pageToken, autoPaginate: false });
      if (rows.length > 0) yield rows as T[];
      pageToken = next?.pageToken ?? undefined;
    } while (pageToken);
  }

  async tables(): Promise<string[]> {
    const names: string[] = [];
    for (const layer of LAYERS) {
      const dataset = this.prefix ? `${this.prefix}_${layer}` : layer;
      const from = this.project ? `\`${this.project}.${dataset}\`` : `\`${dataset}\``;
      try {
        const rows = await (await this.clientPromise).query({
          query: `select table_name from ${from}.INFORMATION_SCHEMA.TABLES order by table_name`,
          location: this.location,
        });
        for (const r of rows[0]) names.push(`${layer}.${String(r.table_name)}`);
      } catch (err) {
        // A layer whose dataset does not exist yet simply has no tables.
        if (!/not found/i.test(String(err))) throw err;
      }
    }
    return names;
  }

  async close(): Promise<void> {}
}

async function openClient(project: string | undefined, endpoint?: string): Promise<BigQueryLike> {
  // BIGQUERY_EMULATOR_HOST is the SDK's own switch to another API root (an emulator or a local fake).
  const emulator = process.env.BIGQUERY_EMULATOR_HOST;
  const apiEndpoint = endpoint ?? emulator;
  await gcpPreflight({
    endpoint: apiEndpoint ?? "https://bigquery.googleapis.com",
    emulator: apiEndpoint !== undefined,
  });
  // Loaded on first use so the local profile never pays for the SDK's import time.
  const { BigQuery } = await import("@google-cloud/bigquery");
  return new BigQuery({
    ...(project ? { projectId: project } : {}),
    ...(apiEndpoint ? { apiEndpoint } : {}),
  }) as unknown as BigQueryLike;
}

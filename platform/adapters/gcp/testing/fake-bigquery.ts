import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local stand-in for the BigQuery v2 REST API (jobs.insert, jobs.get, jobs.query,
 * jobs.getQueryResults), enough for the real @google-cloud/bigquery client pointed at it with
 * `apiEndpoint`. Responses follow the shapes of recorded BigQuery answers: a dry run returns
 * `statistics.totalBytesProcessed` and no job id; a load job is RUNNING when inserted and DONE, with
 * its bad records in `status.errors`, when fetched; an unknown table is a 404 "Not found: Table …".
 * Every request is kept so a test asserts what was sent.
 *
 * It also keeps a coarse model of what BigQuery would hold (`held`): the tables scripts and load
 * jobs created, and for each the DML statements that wrote it (a "row" is the INSERT that wrote it;
 * `DELETE … WHERE` drops the inserts holding all its string literals). Scripts follow the Jobs
 * reference's multi-statement rules: statements run in order and stop at the first error; writes
 * between BEGIN TRANSACTION and COMMIT TRANSACTION land together at the commit, or not at all when
 * a statement in between fails (and BigQuery refuses DDL on permanent tables inside one).
 * `failOn`/`failLoad` inject failures, so tests can judge the end state after each step.
 */
export interface FakeBigQueryOptions {
  /** Tables ("layer.table") a query may read; a query naming another is refused as not found. */
  tables?: string[];
  /** Bytes a dry run reports per statement (default: 1024 × statement length). */
  bytesFor?: (sql: string) => number;
  /** status.errors and output rows of a load job, by its source URI. */
  loadOutcome?: (uris: string[]) => {
    outputRows: number;
    badRecords: number;
    errors?: { message: string; location?: string }[];
  };
  /** Rows of a (non-dry) query, by its SQL (default none). */
  rowsFor?: (sql: string) => Record<string, string | null>[];
  /** A message when a statement of a (non-dry) query must fail, as BigQuery's invalidQuery. */
  failOn?: (statement: string) => string | undefined;
  /** A message when a load job must fail (status.errorResult), by its source URIs. */
  failLoad?: (uris: string[]) => string | undefined;
  /**
   * The answer to a query job (jobs.insert) is lost: the job runs and is kept (jobs.get finds it,
   * DONE, with its errorResult if it failed), then the connection is cut without a response.
   */
  loseAnswer?: (sql: string) => boolean;
  /** A message when jobs.get of this job id must fail (403 accessDenied), as when the lookup cannot run. */
  failJobGet?: (jobId: string) => string | undefined;
  /** How many jobs.get of this (query) job answer RUNNING before its real state (a slow commit). */
  runningFor?: (jobId: string) => number;
}

export interface FakeBigQueryRequest {
  method: string;
  path: string;
  body: Record<string, unknown> | undefined;
}

export interface FakeBigQuery {
  url: string;
  requests: FakeBigQueryRequest[];
  /** SQL of every query job and jobs.query call, dry runs included, in order. */
  queries: { sql: string; dryRun: boolean }[];
  /** Tables BigQuery would hold ("dataset.table", lower case), each with the inserts that wrote it. */
  held: Map<string, string[]>;
  /** Columns ALTER TABLE … ADD COLUMN added to a held table, by table, in order. */
  addedColumns: Map<string, string[]>;
  close(): Promise<void>;
}

/** Splits a script at top-level semicolons (outside quotes and backticks). */
export function splitStatements(sql: string): string[] {
  const out: string[] = [];
  let from = 0;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i];
    if (c === "'" || c === '"' || c === "`") {
      let j = i + 1;
      while (j < sql.length && sql[j] !== c) j += sql[j] === "\\" ? 2 : 1;
      i = j;
    } else if (c === ";") {
      out.push(sql.slice(from, i));
      from = i + 1;
    }
  }
  out.push(sql.slice(from));
  return out.map((x) => x.trim()).filter((x) => x.length > 0);
}

/** Applies a script to `held`; returns the first error's message (state as BigQuery leaves it). */
function runScript(
  held: Map<string, string[]>,
  sql: string,
  failOn: ((statement: string) => string | undefined) | undefined,
  added: Map<string, string[]> = new Map(),
): string | undefined {
  let tx: Map<string, string[]> | undefined;
  const name = (t: string) => t.replaceAll("`", "").toLowerCase();
  for (const stmt of splitStatements(sql)) {
    const failed = failOn?.(stmt);
    if (failed) return failed;
    if (/^begin(\s+transaction)?$/i.test(stmt)) {
      tx = new Map([...held].map(([k, v]) => [k, [...v]]));
      continue;
    }
    if (/^commit(\s+transaction)?$/i.test(stmt)) {
      if (!tx) return "COMMIT TRANSACTION without BEGIN TRANSACTION";
      held.clear();
      for (const [k, v] of tx) held.set(k, v);
      tx = undefined;
      continue;
    }
    if (/^rollback(\s+transaction)?$/i.test(stmt)) {
      tx = undefined;
      continue;
    }
    const target = tx ?? held;
    let m = /^create\s+(or\s+replace\s+)?table\s+(if\s+not\s+exists\s+)?([\w.`-]+)/i.exec(stmt);
    if (m) {
      if (tx) return "DDL statements on permanent tables are not supported in a transaction";
      const t = name(m[3]);
      if (m[1]) {
        held.set(t, [stmt]);
        added.delete(t);
      } else if (!held.has(t)) held.set(t, []);
      else if (!m[2]) return `Already Exists: Table ${t}`;
      continue;
    }
    m = /^alter\s+table\s+(if\s+exists\s+)?([\w.`-]+)\s+([\s\S]*)$/i.exec(stmt);
    if (m) {
      if (tx) return "DDL statements on permanent tables are not supported in a transaction";
      const t = name(m[2]);
      if (!held.has(t)) {
        if (m[1]) continue;
        return `Not found: Table ${t}`;
      }
      for (const c of m[3].matchAll(/add\s+column\s+(if\s+not\s+exists\s+)?(`[^`]+`|\w+)/gi)) {
        const col = c[2].replaceAll("`", "");
        const cols = added.get(t) ?? [];
        if (cols.includes(col)) {
          if (!c[1]) return `Column already exists: ${col}`;
          continue;
        }
        added.set(t, [...cols, col]);
      }
      continue;
    }
    m = /^drop\s+table\s+(if\s+exists\s+)?([\w.`-]+)/i.exec(stmt);
    if (m) {
      if (tx) return "DDL statements on permanent tables are not supported in a transaction";
      const t = name(m[2]);
      if (!held.has(t) && !m[1]) return `Not found: Table ${t}`;
      held.delete(t);
      added.delete(t);
      continue;
    }
    m = /^insert\s+(?:into\s+)?([\w.`-]+)/i.exec(stmt);
    if (m) {
      const t = name(m[1]);
      target.set(t, [...(target.get(t) ?? []), stmt]);
      continue;
    }
    m = /^delete\s+(?:from\s+)?([\w.`-]+)\s+where\s+([\s\S]*)$/i.exec(stmt);
    if (m) {
      const t = name(m[1]);
      const literals = [...m[2].matchAll(/'((?:[^'\\]|\\.)*)'/g)].map((x) => `'${x[1]}'`);
      target.set(
        t,
        (target.get(t) ?? []).filter((row) => literals.length > 0 && !literals.every((l) => row.includes(l))),
      );
    }
  }
  // a script that ends inside a transaction rolls it back
  return tx ? "transaction was not committed" : undefined;
}

type Job = Record<string, unknown> & { jobReference: { projectId: string; jobId: string; location: string } };

export async function fakeBigQuery(opts: FakeBigQueryOptions = {}): Promise<FakeBigQuery> {
  const requests: FakeBigQueryRequest[] = [];
  const queries: { sql: string; dryRun: boolean }[] = [];
  const jobs = new Map<string, Job>();
  const rowsByJob = new Map<string, Record<string, string | null>[]>();
  const known = new Set((opts.tables ?? []).map((t) => t.toLowerCase()));
  const held = new Map<string, string[]>();
  const addedColumns = new Map<string, string[]>();
  /** jobs.get calls per job id (for runningFor). */
  const gets = new Map<string, number>();

  const notFound = (sql: string): string | undefined => {
    if (!opts.tables || /INFORMATION_SCHEMA/i.test(sql)) return undefined;
    // table references are layer-qualified (`extract(day from s.cutoff_date)` is not one)
    for (const m of sql.matchAll(
      /\b(?:from|join)\s+`?((?:\w+_)?(?:raw|bronze|silver|gold|meta|logs)\.[A-Za-z_]\w*)`?/gi,
    )) {
      const name = m[1].toLowerCase();
      if (!known.has(name)) return m[1];
    }
    return undefined;
  };

  const queryResult = (jobRef: Job["jobReference"]) => {
    const rows = rowsByJob.get(jobRef.jobId) ?? [];
    const names = rows[0] ? Object.keys(rows[0]) : [];
    return {
      kind: "bigquery#getQueryResultsResponse",
      jobReference: jobRef,
      jobComplete: true,
      totalRows: String(rows.length),
      schema: { fields: names.map((name) => ({ name, type: "STRING", mode: "NULLABLE" })) },
      rows: rows.map((r) => ({ f: names.map((n) => ({ v: r[n] })) })),
    };
  };

  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    const body = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
    const url = new URL(req.url ?? "/", "http://x");
    requests.push({ method: req.method ?? "", path: url.pathname, body });
    const send = (status: number, payload: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(payload));
    };
    const fail = (status: number, message: string, reason: string) =>
      send(status, { error: { code: status, message, errors: [{ message, reason, domain: "global" }] } });

    const m = /^(?:\/bigquery\/v2)?\/projects\/([^/]+)\/(jobs|queries)(?:\/([^/]+))?$/.exec(url.pathname);
    if (!m) return fail(404, `no route ${url.pathname}`, "notFound");
    const [, project, kind, id] = m;
    const location = url.searchParams.get("location") ?? "US";

    if (kind === "jobs" && req.method === "POST" && !id) {
      const b = body as {
        jobReference?: Partial<Job["jobReference"]>;
        configuration?: Record<string, unknown>;
      };
      const conf = b.configuration ?? {};
      const ref = {
        projectId: project,
        jobId: b.jobReference?.jobId ?? randomUUID(),
        location: b.jobReference?.location ?? location,
      };
      if (b.jobReference?.jobId && jobs.has(b.jobReference.jobId)) {
        return fail(409, `Already Exists: Job ${project}:${ref.location}.${ref.jobId}`, "duplicate");
      }
      const query = conf.query as { query?: string } | undefined;
      if (query?.query !== undefined) {
        queries.push({ sql: query.query, dryRun: conf.dryRun === true });
        const missing = notFound(query.query);
        if (missing) {
          return fail(
            404,
            `Not found: Table ${project}:${missing} was not found in location ${ref.location}`,
            "notFound",
          );
        }
        if (conf.dryRun === true) {
          const bytes = String(opts.bytesFor?.(query.query) ?? 1024 * query.query.length);
          // a dry run creates no job: the answer has no job id
          return send(200, {
            kind: "bigquery#job",
            jobReference: { projectId: project, location: ref.location },
            configuration: conf,
            status: { state: "DONE" },
            statistics: {
              totalBytesProcessed: bytes,
              query: { totalBytesProcessed: bytes, statementType: "SELECT" },
            },
          });
        }
        const error = runScript(held, query.query, opts.failOn, addedColumns);
        rowsByJob.set(ref.jobId, error ? [] : (opts.rowsFor?.(query.query) ?? []));
        const job: Job = {
          kind: "bigquery#job",
          id: `${project}:${ref.location}.${ref.jobId}`,
          jobReference: ref,
          configuration: conf,
          status: {
            state: "DONE",
            ...(error ? { errorResult: { reason: "invalidQuery", message: `Query error: ${error}` } } : {}),
          },
          statistics: {},
        };
        jobs.set(ref.jobId, job);
        if (opts.loseAnswer?.(query.query)) {
          req.socket.destroy();
          return;
        }
        if (error) return fail(400, `Query error: ${error}`, "invalidQuery");
        return send(200, job);
      }
      const load = conf.load as
        | { sourceUris?: string[]; destinationTable?: { datasetId?: string; tableId?: string } }
        | undefined;
      if (load) {
        const outcome = opts.loadOutcome?.(load.sourceUris ?? []) ?? { outputRows: 0, badRecords: 0 };
        const loadError = opts.failLoad?.(load.sourceUris ?? []);
        const dest = load.destinationTable;
        // a load job is atomic: its table is written only when it succeeds
        if (!loadError && dest?.datasetId && dest.tableId)
          held.set(`${dest.datasetId}.${dest.tableId}`.toLowerCase(), [
            `load ${(load.sourceUris ?? []).join(", ")}`,
          ]);
        const done: Job = {
          kind: "bigquery#job",
          id: `${project}:${ref.location}.${ref.jobId}`,
          jobReference: ref,
          configuration: conf,
          status: {
            state: "DONE",
            ...(loadError ? { errorResult: { reason: "invalid", message: loadError } } : {}),
            ...(outcome.errors?.length
              ? { errors: outcome.errors.map((e) => ({ reason: "invalid", ...e })) }
              : {}),
          },
          statistics: {
            load: {
              outputRows: String(outcome.outputRows),
              badRecords: String(outcome.badRecords),
              inputFiles: String(load.sourceUris?.length ?? 0),
            },
          },
        };
        jobs.set(ref.jobId, done);
        // inserted RUNNING (as BigQuery answers a load), DONE when fetched
        return send(200, { ...done, status: { state: "RUNNING" } });
      }
      return fail(400, "unsupported job configuration", "invalid");
    }
    if (kind === "jobs" && req.method === "GET" && id) {
      const denied = opts.failJobGet?.(id);
      if (denied) return fail(403, `Access Denied: ${denied}`, "accessDenied");
      const job = jobs.get(id);
      const running = job ? (opts.runningFor?.(id) ?? 0) - (gets.get(id) ?? 0) : 0;
      gets.set(id, (gets.get(id) ?? 0) + 1);
      if (job && running > 0) return send(200, { ...job, status: { state: "RUNNING" } });
      return job ? send(200, job) : fail(404, `Not found: Job ${project}:${id}`, "notFound");
    }
    if (kind === "queries" && req.method === "POST" && !id) {
      const b = body as { query: string; dryRun?: boolean; location?: string };
      queries.push({ sql: b.query, dryRun: b.dryRun === true });
      const missing = notFound(b.query);
      if (missing)
        return fail(
          404,
          `Not found: Table ${project}:${missing} was not found in location ${location}`,
          "notFound",
        );
      if (b.dryRun !== true) {
        const error = runScript(held, b.query, opts.failOn, addedColumns);
        if (error) return fail(400, `Query error: ${error}`, "invalidQuery");
      }
      const ref = { projectId: project, jobId: randomUUID(), location: b.location ?? location };
      rowsByJob.set(ref.jobId, opts.rowsFor?.(b.query) ?? []);
      jobs.set(ref.jobId, {
        kind: "bigquery#job",
        jobReference: ref,
        status: { state: "DONE" },
        statistics: {},
      });
      return send(200, { ...queryResult(ref), kind: "bigquery#queryResponse" });
    }
    if (kind === "queries" && req.method === "GET" && id) {
      const job = jobs.get(id);
      return job
        ? send(200, queryResult(job.jobReference))
        : fail(404, `Not found: Job ${project}:${id}`, "notFound");
    }
    return fail(404, `no route ${req.method} ${url.pathname}`, "notFound");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    queries,
    held,
    addedColumns,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

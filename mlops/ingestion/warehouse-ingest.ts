import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { TelcoError, ValidationError } from "../../platform/errors.ts";
import type { Lake } from "../../platform/ports/lake.ts";
import type { LoadBatch, LoadResult, LoadTableSpec, Warehouse } from "../../platform/ports/warehouse.ts";
import type { SqlDialect } from "../../platform/sql/dialect.ts";
import { checkHeader } from "./bronze.ts";
import { contractColumnSchema, type DataContract } from "./contract.ts";
import type { IngestedFileReport, IngestOptions, IngestPlan, IngestReport } from "./ingest.ts";
import { labelCounts, reasonKindSql, ruleReasonSql } from "./reasons.ts";
import { parseCsvRecord } from "./scan.ts";
import { bigqueryIdent, conformedNames, snake } from "./sql.ts";
import { bigqueryInsertVersionSql, ensureMetaSchema } from "./versions.ts";
import { buildLoadedSilver } from "./warehouse-load.ts";

/**
 * `telco data ingest …` when the warehouse loads files itself (BigQuery under the gcp profile): the
 * delivered files are copied into the lake's raw layer (Cloud Storage), loaded by load jobs into
 * staging tables and published into bronze (rejects to `bronze._quarantine`) and meta in one
 * transaction; silver is rebuilt after (see `ingestPlanInWarehouse`). The report has the
 * local path's shape (files, rows, rejects with reasons, table versions) so the CLI prints it the
 * same way; what differs is said in it (`quarantine`, warnings).
 */

/** Whether ingestion runs as warehouse load jobs instead of the local DuckDB bronze stage. */
export function loadsInWarehouse(wh: Warehouse): boolean {
  return wh.dialect === "bigquery" && typeof wh.loadFiles === "function";
}

const BQ_TYPES: Record<DataContract["columns"][number]["type"], string> = {
  string: "STRING",
  integer: "INT64",
  number: "FLOAT64",
  boolean: "BOOL",
  date: "DATE",
  timestamp: "TIMESTAMP",
};

/** What `loadJsonl` read: records written, and the column names the file has (header or keys). */
export interface LoadJsonlResult {
  records: number;
  columns: string[];
  /**
   * Columns the contract lacks, delivered name → the key they were written under (snake_case,
   * clear of the contract's names and of _line/_batch_id/_ingested_at), in the order first seen.
   */
  extras: Map<string, string>;
}

/**
 * The copy of a delivered file a load job reads: newline-delimited JSON, one object per record,
 * keyed by the conformed names of the contract's columns (see `loadableContract`), with `_line`
 * (the record's first physical line, as the local bronze stage counts it) and, when the contract
 * keys rows by "<file>:<line>", that row id. A load job maps JSON keys to fields by name, so a CSV
 * whose columns are reordered loads right, a column the contract lacks is left out (and reported by
 * the caller), a missing optional one is null. Every cell stays text (typing and checks run in SQL).
 * A CSV record whose field count differs from the header's, or a JSONL line that is not an object,
 * is written as a line that is not JSON, so BigQuery counts it a bad record and it lands in the
 * quarantine with the message. Blank lines are skipped.
 * Hand-written record splitting: it must track quotes across lines to know each record's line.
 */
export async function loadJsonl(
  path: string,
  contract: DataContract,
  deliveredAs: string,
  out: string,
): Promise<LoadJsonlResult> {
  const names = conformedNames([
    ...(contract.rowId ? [contract.rowId] : []),
    ...contract.columns.map((c) => c.name),
  ]);
  const known = new Set(contract.columns.map((c) => c.name));
  // keys of the columns the contract lacks: kept (as text), like the local bronze stage keeps them
  const used = new Set([...names.values(), "_line", "_batch_id", "_ingested_at"]);
  const extras = new Map<string, string>();
  const rowId = contract.rowId ? (names.get(contract.rowId) as string) : undefined;
  const delimiter = contract.delimiter ?? ",";
  const sink = createWriteStream(out);
  const lines = fileLines(path);
  let header: string[] | undefined;
  const keys = new Set<string>();
  let records = 0;
  // written in 64 KB chunks: one stream write per record costs more than the conversion
  let buffered = "";
  const flush = async () => {
    const ok = sink.write(buffered);
    buffered = "";
    if (!ok) await once(sink, "drain");
  };
  const write = async (text: string) => {
    buffered += `${text}\n`;
    if (buffered.length >= 65536) await flush();
  };
  // JSON text built by hand from pre-quoted keys: no object per record (about twice as fast)
  const key = new Map([...known].map((k) => [k, `,${JSON.stringify(names.get(k))}:`]));
  const keyOf = (k: string): string => {
    const found = key.get(k);
    if (found !== undefined) return found;
    const base = snake(k);
    let name = base;
    for (let n = 2; used.has(name); n++) name = `${base}_${n}`;
    used.add(name);
    extras.set(k, name);
    const prefix = `,${JSON.stringify(name)}:`;
    key.set(k, prefix);
    return prefix;
  };
  const cell = (v: unknown): string =>
    v === null || v === undefined
      ? "null"
      : JSON.stringify(typeof v === "string" ? v : typeof v === "object" ? JSON.stringify(v) : String(v));
  const head = (line: number) =>
    `{"_line":${line}${rowId ? `,${JSON.stringify(rowId)}:${JSON.stringify(`${deliveredAs}:${line}`)}` : ""}`;
  const object = (line: number, entries: [string, unknown][]) => {
    let out = head(line);
    for (const [k, v] of entries) if (k !== "_line") out += keyOf(k) + cell(v);
    return `${out}}`;
  };
  // for a CSV: the JSON key prefix of each header position (undefined: a column the contract lacks)
  let slots: (string | undefined)[] = [];
  const emitCsv = async (text: string, line: number) => {
    const fields =
      text.includes('"') || text.includes("\r") ? parseCsvRecord(text, delimiter) : text.split(delimiter);
    if (!header) {
      header = fields.map((h) => h.trim());
      slots = header.map((h) => (h === "" || h === "_line" ? undefined : keyOf(h)));
      return;
    }
    if (fields.length === 1 && fields[0].trim() === "") return;
    records++;
    if (fields.length !== header.length) {
      await write(`ragged row: line ${line} has ${fields.length} fields, the header has ${header.length}`);
      return;
    }
    let out = head(line);
    for (let i = 0; i < fields.length; i++) {
      const prefix = slots[i];
      if (prefix !== undefined) out += prefix + jsonString(fields[i]);
    }
    await write(`${out}}`);
  };
  let lineNo = 0;
  if (contract.format === "csv") {
    let pending = "";
    let start = 0;
    let quotes = 0;
    for await (const raw of lines) {
      lineNo++;
      const text = lineNo === 1 ? raw.replace(/^\uFEFF/, "") : raw;
      if (pending === "" && quotes === 0) start = lineNo;
      pending = quotes % 2 === 1 ? `${pending}\n${text}` : text;
      if (text.includes('"')) quotes += text.split('"').length - 1;
      if (quotes % 2 === 0) {
        await emitCsv(pending, start);
        pending = "";
        quotes = 0;
      }
    }
    if (pending !== "") await emitCsv(pending, start);
  } else {
    for await (const raw of lines) {
      lineNo++;
      const text = lineNo === 1 ? raw.replace(/^\uFEFF/, "") : raw;
      if (text.trim() === "") continue;
      records++;
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
        await write(`not a JSON object: line ${lineNo}`);
        continue;
      }
      for (const k of Object.keys(parsed)) keys.add(k);
      await write(object(lineNo, Object.entries(parsed)));
    }
  }
  await flush();
  sink.end();
  await once(sink, "finish");
  return { records, columns: header ?? [...keys], extras };
}

/**
 * The lines of a UTF-8 file split at "\n" (a "\r" before it dropped), as the local scan counts
 * them. Hand-written: node:readline also breaks lines at U+2028/U+2029 and a lone "\r", which are
 * text inside a cell.
 */
async function* fileLines(path: string): AsyncGenerator<string> {
  let rest = "";
  for await (const chunk of createReadStream(path, "utf8")) {
    const parts = (rest + (chunk as string)).split("\n");
    rest = parts.pop() ?? "";
    for (const p of parts) yield p.endsWith("\r") ? p.slice(0, -1) : p;
  }
  if (rest !== "") yield rest.endsWith("\r") ? rest.slice(0, -1) : rest;
}

/** A JSON string literal; plain text (the usual cell) skips JSON.stringify. */
function jsonString(v: string): string {
  return NEEDS_ESCAPE.test(v) ? JSON.stringify(v) : `"${v}"`;
}
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what JSON escapes
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u2028\u2029\ud800-\udfff]/;

/**
 * The contract a load job reads: columns renamed to their conformed snake_case names (what local
 * silver calls them, and always valid BigQuery names), as JSONL (`loadJsonl` writes every file so),
 * with the row id as a column when the contract keys rows by "<file>:<line>".
 */
export function loadableContract(contract: DataContract): DataContract {
  const names = conformedNames([
    ...(contract.rowId ? [contract.rowId] : []),
    ...contract.columns.map((c) => c.name),
  ]);
  const to = (n: string) => names.get(n) ?? n;
  const { rowId, ...rest } = contract;
  const columns = contract.columns.map((c) => ({ ...c, name: to(c.name) }));
  const renamed: DataContract = {
    ...rest,
    format: "jsonl",
    primaryKey: contract.primaryKey.map(to),
    ...(contract.eventTime ? { eventTime: to(contract.eventTime) } : {}),
    ...(contract.training
      ? { training: { ...contract.training, target: to(contract.training.target) } }
      : {}),
    columns,
  };
  if (!rowId) return renamed;
  const idColumn = contractColumnSchema.parse({ name: to(rowId), type: "string", nullable: false });
  return { ...renamed, columns: [idColumn, ...columns] };
}

/** SHA-256 of a file, streamed. */
async function fileHash(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest("hex");
}

/** A BigQuery string literal (backslash escapes). */
function bq(v: string | null): string {
  return v === null ? "NULL" : `'${v.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
}

function bqTimestamp(d: Date): string {
  return `TIMESTAMP ${bq(d.toISOString())}`;
}

export interface WarehouseIngestReport extends IngestReport {
  /** Where this batch's rejected rows are, as a query (BigQuery's quarantine table). */
  quarantine: string;
}

export interface WarehouseIngestOptions {
  /** Silver SQL of a contract that has its own (ibm_telco), instead of dedupe.sql. */
  silverSelect?: Record<string, (contract: DataContract, dialect: SqlDialect) => string>;
}

/**
 * Runs one plan's raw → bronze → silver in the warehouse, in three steps:
 *  1. stage: every new file (by content hash) is checked against its contract's header (a missing
 *     required column refuses the file, naming it; an extra one is reported), written as the JSONL
 *     copy a load job maps by name (`loadJsonl`), and uploaded: the delivered file to the raw layer,
 *     the copy under raw/<dataset>/_staging/<batch>/; one load job per table fills a STRING staging
 *     table; the bronze tables and the quarantine are created if missing (DDL, outside any transaction);
 *  2. publish: one BigQuery multi-statement transaction types the staged rows into bronze (SAFE_CAST,
 *     rejects and duplicate keys of the batch to bronze._quarantine with their reason) and writes
 *     meta.raw_files, the raw versions, meta.ingestion_batches and the delivery identity. It commits
 *     whole or not at all. A failure before the commit drops the staging tables and deletes every
 *     object this batch uploaded, so neither BigQuery nor Cloud Storage keeps a trace of it;
 *  3. derive: silver is rebuilt from bronze and versions recorded (a failure here leaves the
 *     committed batch; silver is rebuilt by the next ingest of the dataset).
 * Derived tables other than each contract's silver are the caller's (the CSV path builds gold).
 */
export async function ingestPlanInWarehouse(
  wh: Warehouse,
  lake: Lake,
  plan: IngestPlan,
  opts: IngestOptions = {},
  extra: WarehouseIngestOptions = {},
): Promise<WarehouseIngestReport> {
  const started = Date.now();
  const now = opts.now ?? new Date();
  const ingestDate = now.toISOString().slice(0, 10);
  const batchId = `${now.toISOString().replace(/[-:]/g, "").slice(0, 15)}-${randomBytes(3).toString("hex")}`;
  const ingestedAt = now.toISOString().replace("T", " ").replace("Z", "");
  const progress = opts.onProgress ?? (() => {});
  const loadFiles = wh.loadFiles?.bind(wh);
  if (!loadFiles) throw new ValidationError("warehouse", `the ${wh.dialect} warehouse cannot run load jobs`);
  await ensureMetaSchema(wh);

  const warnings: string[] = [];
  const reports: IngestedFileReport[] = [];
  const toLoad: {
    file: IngestPlan["files"][number];
    rawKey: string;
    /** What the load job reads: the file's JSONL copy in the staging prefix. */
    loadKey: string;
    contract: DataContract;
    hash: string;
    bytes: number;
    /** Bronze names of the file's columns the contract lacks (kept as STRING). */
    extras: string[];
  }[] = [];
  // What this batch put in Cloud Storage and BigQuery before its commit, undone on failure.
  const uploaded: string[] = [];
  const stagingPrefix = `raw/${plan.dataset}/_staging/${batchId}/`;
  const dropStaging: string[] = [];
  const work = mkdtempSync(join(tmpdir(), "telco-load-"));
  const staged: {
    name: string;
    contract: DataContract;
    result: LoadResult;
    keys: string[];
    extras: string[];
  }[] = [];
  let keepUploads = false;
  try {
    // 1. Stage.
    const copies: {
      f: IngestPlan["files"][number];
      hash: string;
      jsonl: string;
      extras: Map<string, string>;
    }[] = [];
    for (const f of plan.files) {
      const hash = await fileHash(f.path);
      const seen = await wh.query<{ batch_id: string }>(
        `SELECT batch_id FROM meta.raw_files WHERE table_name = ${bq(f.contract.name)} AND content_hash = ${bq(hash)} LIMIT 1`,
      );
      if (seen.length > 0) {
        progress(`${f.deliveredAs}: skipped, identical to a file of batch ${seen[0].batch_id}`);
        warnings.push(
          `${f.deliveredAs}: identical file already ingested in batch ${seen[0].batch_id}; skipped`,
        );
        reports.push({
          file: f.deliveredAs,
          table: `bronze.${f.contract.name}`,
          status: "skipped",
          rows: 0,
          rejects: 0,
          rejectReasons: {},
          rawKey: undefined,
          contentHash: hash,
        });
        continue;
      }
      const jsonl = join(work, `${copies.length}-${basename(f.deliveredAs)}.jsonl`);
      const read = await loadJsonl(f.path, f.contract, basename(f.deliveredAs), jsonl);
      // the header (or the JSONL keys) by name: a missing required column refuses the file
      const { extra: unknown } = checkHeader(f.contract, read.columns, f.deliveredAs);
      if (unknown.length > 0) {
        // the local wording, with the STRING columns bronze keeps them in
        const as = unknown.map((u) => read.extras.get(u) ?? u).join(", ");
        warnings.push(
          `${f.deliveredAs}: unexpected column(s) ${unknown.join(", ")} not in contract ${f.contract.name} v${f.contract.version}; kept in bronze as text (STRING ${as})`,
        );
      }
      copies.push({ f, hash, jsonl, extras: read.extras });
    }
    for (const { f, hash, jsonl, extras } of copies) {
      const rawKey = `raw/${plan.dataset}/${f.contract.source}/ingest_date=${ingestDate}/${batchId}/${basename(f.deliveredAs)}`;
      progress(`upload ${f.deliveredAs} → ${lake.uri(rawKey)}`);
      uploaded.push(`raw/${plan.dataset}/${f.contract.source}/ingest_date=${ingestDate}/${batchId}/`);
      await lake.putFile(f.path, rawKey);
      const loadKey = `${stagingPrefix}${toLoad.length}-${basename(f.deliveredAs)}.jsonl`;
      uploaded.push(stagingPrefix);
      await lake.putFile(jsonl, loadKey);
      toLoad.push({
        file: f,
        rawKey,
        loadKey,
        contract: loadableContract(f.contract),
        hash,
        bytes: statSync(f.path).size,
        extras: [...extras.values()],
      });
    }
    if (toLoad.length > 0) {
      const attachments = `raw/${plan.dataset}/_delivery/ingest_date=${ingestDate}/${batchId}/`;
      for (const a of plan.attachments ?? []) {
        uploaded.push(attachments);
        await lake.putFile(a.path, `${attachments}${basename(a.deliveredAs)}`);
      }
    }
    const names = [...new Set(toLoad.map((t) => t.contract.name))];
    for (const name of names) {
      const files = toLoad.filter((t) => t.contract.name === name);
      progress(`load ${files.length} file(s) into a staging table for bronze.${name}`);
      // columns the contract lacks are kept in bronze as STRING, as the local bronze stage keeps them
      const extras = [...new Set(files.flatMap((t) => t.extras))];
      const spec: LoadTableSpec = {
        ...files[0].contract,
        columns: [
          ...files[0].contract.columns,
          ...extras.map((e) => ({ name: e, type: "string" as const, nullable: true })),
        ],
      };
      const result = await loadFiles(spec, {
        uris: files.map((t) => lake.uri(t.loadKey)),
        batchId,
        ingestedAt,
        lines: true,
        deferPublish: true,
        reason: contractReasons(files[0].file.contract),
      });
      dropStaging.push(...(result.publish?.cleanup ?? []));
      staged.push({
        name,
        contract: files[0].contract,
        result,
        keys: files.map((t) => t.rawKey),
        extras,
      });
    }
    if (staged.length > 0) {
      // DDL before the transaction (BigQuery runs none inside one): bronze and the quarantine if
      // missing, then the extra columns a bronze table made by an earlier batch lacks (an ALTER is
      // not undone if the batch then fails: the column stays, empty, on a table that allows it)
      await wh.exec(
        `${staged
          .flatMap((s) => [
            ...(s.result.publish?.setup ?? []),
            ...s.extras.map(
              (e) => `ALTER TABLE bronze.${s.name} ADD COLUMN IF NOT EXISTS ${bigqueryIdent(e)} STRING`,
            ),
          ])
          .join(";\n")};`,
      );

      // 2. Publish: one transaction.
      const count = (table: string) =>
        `(SELECT count(*) FROM bronze.${table} WHERE _batch_id = ${bq(batchId)})`;
      const quarantined = (table?: string) =>
        `(SELECT count(*) FROM bronze._quarantine WHERE ${table ? `table_name = ${bq(table)} AND ` : ""}batch_id = ${bq(batchId)})`;
      const statements = [
        ...staged.flatMap((s) => s.result.publish?.statements ?? []),
        ...toLoad.map(
          (t) =>
            `INSERT INTO meta.raw_files VALUES (${[
              bq(batchId),
              bq(plan.dataset),
              bq(t.contract.name),
              bq(t.rawKey),
              bq(t.hash),
              String(t.bytes),
              bq(t.file.deliveredAs),
              count(t.contract.name),
              quarantined(t.contract.name),
            ].join(", ")})`,
        ),
        ...toLoad.map((t) => {
          const s = staged.find((x) => x.name === t.contract.name);
          return bigqueryInsertVersionSql({
            table: t.rawKey,
            version: t.hash.slice(0, 16),
            layer: "raw",
            rowCount: Number(s?.result.stagedRows ?? 0) + Number(s?.result.badRecords ?? 0),
            contractVersion: null,
            sourceFiles: [t.file.deliveredAs],
            parents: [],
            batchId,
            location: lake.uri(t.rawKey),
            createdAt: now,
          });
        }),
        // VALUES, not SELECT: an empty [] takes the column's ARRAY<STRING> type
        `INSERT INTO meta.ingestion_batches VALUES (${[
          bq(batchId),
          bq(plan.dataset),
          bqTimestamp(now),
          "CURRENT_TIMESTAMP()",
          String(toLoad.length),
          names.map(count).join(" + "),
          quarantined(),
          `[${warnings.map(bq).join(", ")}]`,
        ].join(", ")})`,
        ...(plan.delivery
          ? [
              `INSERT INTO meta.delivery_identities VALUES (${[
                bq(batchId),
                bq(plan.dataset),
                bq(plan.delivery.population),
                bq(JSON.stringify(plan.delivery.identity)),
              ].join(", ")})`,
            ]
          : []),
      ];
      progress(`publish batch ${batchId}: one transaction over ${names.length} bronze table(s) and meta`);
      const script = publishTransaction(statements);
      const job = publishJobId(batchId);
      try {
        if (wh.execJob) await wh.execJob(script, job);
        else await wh.exec(script);
      } catch (err) {
        // The error may be a lost answer to a job that committed: ask before undoing anything.
        const outcome = await publishOutcome(wh, job, batchId, 2000).catch((lookup: unknown) => ({
          state: "unknown" as const,
          why: String(lookup),
        }));
        if (outcome.state === "committed") {
          progress(
            `batch ${batchId}: the answer to publish job ${job} was lost, and BigQuery has it committed`,
          );
          warnings.push(
            `the answer to publish job ${job} was lost (${errorText(err)}); the job is done: batch ${batchId} is committed`,
          );
        } else if (outcome.state === "unknown") {
          keepUploads = true;
          throw new TelcoError(
            "publish_unknown",
            `publish job ${job} of batch ${batchId} failed or lost its answer (${errorText(err)}), and whether it committed could not be read (${outcome.why}); nothing was deleted`,
            {
              hint: `Look the job up (bq show -j ${job}) or run the same ingest again: if the batch committed, its files are skipped; if not, they load in a new batch (this batch's raw and staging objects stay until removed by hand).`,
              cause: err,
            },
          );
        } else throw err;
      }
    }
  } catch (err) {
    // Nothing of this batch was committed: leave neither staging tables nor objects behind (unless
    // whether it committed is unknown, when nothing is deleted).
    if (!keepUploads) {
      for (const sql of dropStaging) await wh.exec(sql).catch(() => {});
      for (const prefix of new Set(uploaded)) await lake.deletePrefix(prefix).catch(() => {});
    }
    throw err;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }

  // After the commit: staging is dropped (a failure only leaves an unreferenced table or object).
  if (staged.length > 0) {
    for (const sql of dropStaging) {
      await wh.exec(sql).catch((e: unknown) => warnings.push(`staging not dropped (${sql}): ${String(e)}`));
    }
    await lake
      .deletePrefix(stagingPrefix)
      .catch((e: unknown) => warnings.push(`staging objects not deleted (${stagingPrefix}): ${String(e)}`));
  }

  // 3. Derive silver; report what the batch holds. When every file was skipped, silver is rebuilt
  // all the same (same bronze, same version): re-running an ingest heals a batch whose derive step
  // failed after its commit.
  const tables: IngestReport["tables"] = [];
  let rows = 0;
  let rejects = 0;
  const allSkipped = plan.files.length > 0 && staged.length === 0;
  const derive: { name: string; contract: DataContract; keys: string[] }[] = allSkipped
    ? [...new Map(plan.files.map((f) => [f.contract.name, f.contract])).values()].map((c) => ({
        name: c.name,
        contract: loadableContract(c),
        keys: [],
      }))
    : staged;
  for (const d of derive) {
    const built = await buildLoadedSilver(
      wh,
      d.contract,
      d.keys,
      batchId,
      extra.silverSelect?.[d.name],
    ).catch((err: unknown) => {
      throw new TelcoError(
        "derive_failed",
        `${allSkipped ? "nothing new to load" : `batch ${batchId} is committed (bronze, quarantine, meta)`}, but rebuilding silver.${d.name} failed: ${err instanceof Error ? err.message : String(err)}`,
        {
          hint: `silver.${d.name} still holds what it held before; run the same ingest again to rebuild it (its files are skipped, silver is rebuilt from bronze).`,
          cause: err,
        },
      );
    });
    tables.push({ table: `bronze.${d.name}`, version: built.bronze.version, rows: built.bronze.rows });
    tables.push({ table: built.silver.table, version: built.silver.version, rows: built.silver.rows });
  }
  for (const s of staged) {
    const [{ n: bronzeRows }] = await wh.query<{ n: number }>(
      `SELECT count(*) AS n FROM bronze.${s.name} WHERE _batch_id = ${bq(batchId)}`,
    );
    const kinds = await wh.query<{ kind: string | null; n: number }>(quarantineReasonsSql(s.name, batchId));
    const rejectReasons = labelCounts(kinds);
    const fileRows = Number(bronzeRows);
    const fileRejects = Object.values(rejectReasons).reduce((a, b) => a + b, 0);
    rows += fileRows;
    rejects += fileRejects;
    for (const t of toLoad.filter((x) => x.contract.name === s.name)) {
      progress(
        `${t.file.deliveredAs}: ${fileRows} rows, ${fileRejects} quarantined (load job ${s.result.jobId || "?"})`,
      );
      reports.push({
        file: t.file.deliveredAs,
        table: `bronze.${s.name}`,
        status: "ingested",
        rows: fileRows,
        rejects: fileRejects,
        rejectReasons,
        rawKey: t.rawKey,
        contentHash: t.hash,
      });
    }
  }
  // Optional sources this delivery did not carry: empty typed tables, so downstream SQL can rely on
  // them (IF NOT EXISTS: a table that already holds batches is left alone).
  for (const c of plan.absent ?? []) {
    const cols = c.columns.map((col) => `${bigqueryIdent(col.name)} ${BQ_TYPES[col.type]}`).join(", ");
    await wh.exec(
      `CREATE TABLE IF NOT EXISTS bronze.${c.name} (${cols}, _batch_id STRING, _ingested_at TIMESTAMP);\nCREATE TABLE IF NOT EXISTS silver.${c.name} (${cols})`,
    );
  }
  // Reports follow the plan's order, like the local path's.
  const order = new Map(plan.files.map((f, i) => [f.deliveredAs, i]));
  reports.sort((a, b) => (order.get(a.file) ?? 0) - (order.get(b.file) ?? 0));
  return {
    dataset: plan.dataset,
    batchId,
    ingestDate,
    files: reports,
    rows,
    rejects,
    warnings,
    tables,
    seconds: (Date.now() - started) / 1000,
    ...(plan.delivery ? { delivery: plan.delivery } : {}),
    quarantine: `select * from bronze._quarantine where batch_id = '${batchId}'`,
  };
}

/**
 * A batch's quarantined rows of one table counted by kind of reason (reasons.ts: the kinds the
 * local report counts, then labelled by `reasonLabel`), as BigQuery SQL that DuckDB also runs.
 */
export function quarantineReasonsSql(table: string, batchId: string): string {
  return `SELECT ${reasonKindSql("reason")} AS kind, count(*) AS n FROM bronze._quarantine WHERE table_name = ${bq(table)} AND batch_id = ${bq(batchId)} GROUP BY 1 ORDER BY n DESC, kind`;
}

/**
 * The reasons of a contract's rejected rows in the local path's words (reasons.ts), for the load's
 * conformed column names: each reason names the column as the contract does.
 */
export function contractReasons(contract: DataContract): NonNullable<LoadBatch["reason"]> {
  const names = conformedNames([
    ...(contract.rowId ? [contract.rowId] : []),
    ...contract.columns.map((c) => c.name),
  ]);
  const original = new Map([...names].map(([from, to]) => [to, from]));
  return (column, rule, cell, lit) =>
    ruleReasonSql(original.get(column.name) ?? column.name, column, rule, cell, lit);
}

/** The publish job's id, known before it is submitted so its outcome can be looked up by it. */
export function publishJobId(batchId: string): string {
  return `telco_publish_${batchId.replaceAll("-", "_")}`;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Whether a batch's publish job committed, after its call failed: by the job (jobs.get; waits while
 * it runs, up to 10 minutes) when the warehouse runs jobs by id, else by the batch's row in
 * meta.ingestion_batches (written inside the transaction). Throws when it cannot be read.
 */
export async function publishOutcome(
  wh: Warehouse,
  jobId: string,
  batchId: string,
  pollMs: number,
): Promise<{ state: "committed" } | { state: "not_committed"; message?: string }> {
  if (wh.jobOutcome) {
    for (let waited = 0; ; waited += pollMs) {
      const o = await wh.jobOutcome(jobId);
      if (o.state === "done") return { state: "committed" };
      if (o.state === "failed") return { state: "not_committed", message: o.message };
      if (o.state === "missing") return { state: "not_committed" };
      if (waited >= 600_000) throw new Error(`job ${jobId} still running after 10 minutes`);
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }
  const rows = await wh.query(
    `SELECT batch_id FROM meta.ingestion_batches WHERE batch_id = ${bq(batchId)} LIMIT 1`,
  );
  return rows.length > 0 ? { state: "committed" } : { state: "not_committed" };
}

/** DML statements as one BigQuery multi-statement transaction (one query job: all or nothing). */
export function publishTransaction(statements: readonly string[]): string {
  return `BEGIN TRANSACTION;\n${statements.join(";\n")};\nCOMMIT TRANSACTION;`;
}

import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { createInterface } from "node:readline";
import { ValidationError } from "../../platform/errors.ts";
import type { Lake } from "../../platform/ports/lake.ts";
import type { Warehouse } from "../../platform/ports/warehouse.ts";
import { contractColumnSchema, type DataContract } from "./contract.ts";
import type { IngestedFileReport, IngestOptions, IngestPlan, IngestReport } from "./ingest.ts";
import { parseCsvRecord } from "./scan.ts";
import { bigqueryIdent, conformedNames } from "./sql.ts";
import { ensureMetaSchema, recordDatasetVersion } from "./versions.ts";
import { loadDeliveryInWarehouse } from "./warehouse-load.ts";

/**
 * `telco data ingest …` when the warehouse loads files itself (BigQuery under the gcp profile): the
 * delivered files are copied into the lake's raw layer (Cloud Storage), then `loadDeliveryInWarehouse`
 * loads them into bronze (rejects to `bronze._quarantine`) and rebuilds silver. The report has the
 * local path's shape (files, rows, rejects with reasons, table versions) so the CLI prints it the
 * same way; what differs is said in it (`quarantine`, warnings).
 */

/** Whether ingestion runs as warehouse load jobs instead of the local DuckDB bronze stage. */
export function loadsInWarehouse(wh: Warehouse): boolean {
  return wh.dialect === "bigquery" && typeof wh.loadFiles === "function";
}

/**
 * What a load job cannot do for a contract, refused before anything is uploaded: a row id derived
 * from the lines of a JSONL file (a CSV's is computed before upload).
 */
export function refuseUnloadable(contract: DataContract, file: string): void {
  if (contract.rowId && contract.format !== "csv") {
    throw new ValidationError(
      contract.name,
      `rows are keyed by the generated "${contract.rowId}" (<file>:<line>), which a BigQuery load job cannot compute for a ${contract.format} file (${file})`,
      {
        hint: "Give the file an id column and pass --id COLUMN (a new --name, since the frozen contract keys by line), or ingest it under the local profile.",
      },
    );
  }
}

const BQ_TYPES: Record<DataContract["columns"][number]["type"], string> = {
  string: "STRING",
  integer: "INT64",
  number: "FLOAT64",
  boolean: "BOOL",
  date: "DATE",
  timestamp: "TIMESTAMP",
};

/**
 * A CSV whose contract keys rows by "<file>:<line>" as newline-delimited JSON with that row id added
 * (keys are the conformed column names, see `loadableContract`):
 * a load job numbers no lines, so the id is computed here, where the lines are known. Every cell
 * stays text (the load stages STRING columns; typing and checks run in SQL as for any file). The
 * line is the record's first physical line, as the local bronze stage counts it; blank lines are
 * skipped. A record whose field count differs from the header's is written as a line that is not
 * JSON, so BigQuery counts it a bad record and it lands in the quarantine with the message.
 * Hand-written record splitting: it must track quotes across lines to know each record's line.
 */
export async function csvWithRowId(
  path: string,
  contract: DataContract,
  deliveredAs: string,
  out: string,
): Promise<{ records: number }> {
  const names = conformedNames([contract.rowId as string, ...contract.columns.map((c) => c.name)]);
  const to = (n: string) => names.get(n) ?? n;
  const rowId = to(contract.rowId as string);
  const delimiter = contract.delimiter ?? ",";
  const sink = createWriteStream(out);
  const lines = createInterface({ input: createReadStream(path, "utf8"), crlfDelay: Infinity });
  let header: string[] | undefined;
  let pending = "";
  let start = 0;
  let quotes = 0;
  let lineNo = 0;
  let records = 0;
  const emit = async (text: string, line: number) => {
    const fields = parseCsvRecord(text, delimiter);
    if (!header) {
      header = fields.map((h) => h.trim());
      return;
    }
    if (fields.length === 1 && fields[0].trim() === "") return;
    records++;
    const json =
      fields.length === header.length
        ? JSON.stringify({
            [rowId]: `${deliveredAs}:${line}`,
            ...Object.fromEntries(header.map((h, i) => [to(h), fields[i]])),
          })
        : `ragged row: line ${line} has ${fields.length} fields, the header has ${header.length}`;
    if (!sink.write(`${json}\n`)) await once(sink, "drain");
  };
  for await (const raw of lines) {
    lineNo++;
    const text = lineNo === 1 ? raw.replace(/^\uFEFF/, "") : raw;
    if (pending === "" && quotes === 0) start = lineNo;
    pending = quotes % 2 === 1 ? `${pending}\n${text}` : text;
    quotes += text.split('"').length - 1;
    if (quotes % 2 === 0) {
      await emit(pending, start);
      pending = "";
      quotes = 0;
    }
  }
  if (pending !== "") await emit(pending, start);
  sink.end();
  await once(sink, "finish");
  return { records };
}

/**
 * The contract a load job reads: columns renamed to their conformed snake_case names (what local
 * silver calls them, and always valid BigQuery names; a CSV load maps columns by position, so the
 * header's spelling does not matter), and for a row-id CSV turned into JSONL the row id as a column.
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
    primaryKey: contract.primaryKey.map(to),
    ...(contract.eventTime ? { eventTime: to(contract.eventTime) } : {}),
    ...(contract.training
      ? { training: { ...contract.training, target: to(contract.training.target) } }
      : {}),
    columns,
  };
  if (!rowId) return renamed;
  const idColumn = contractColumnSchema.parse({ name: to(rowId), type: "string", nullable: false });
  return { ...renamed, format: "jsonl", columns: [idColumn, ...columns] };
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

/**
 * Runs one plan's raw → bronze → silver in the warehouse. Derived tables other than each contract's
 * silver are the caller's (the CSV path builds gold itself).
 */
export async function ingestPlanInWarehouse(
  wh: Warehouse,
  lake: Lake,
  plan: IngestPlan,
  opts: IngestOptions = {},
): Promise<WarehouseIngestReport> {
  const started = Date.now();
  const now = opts.now ?? new Date();
  const ingestDate = now.toISOString().slice(0, 10);
  const batchId = `${now.toISOString().replace(/[-:]/g, "").slice(0, 15)}-${randomBytes(3).toString("hex")}`;
  const progress = opts.onProgress ?? (() => {});
  for (const f of plan.files) refuseUnloadable(f.contract, f.deliveredAs);
  await ensureMetaSchema(wh);

  // 1. Raw: every new file (by content hash) copied into the lake; identical files are skipped.
  const warnings: string[] = [];
  const reports: IngestedFileReport[] = [];
  const toLoad: {
    file: IngestPlan["files"][number];
    rawKey: string;
    /** What the load job reads: the delivered file, or its JSONL copy with the row id. */
    loadKey: string;
    contract: DataContract;
    hash: string;
    bytes: number;
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
    const rawKey = `raw/${plan.dataset}/${f.contract.source}/ingest_date=${ingestDate}/${batchId}/${basename(f.deliveredAs)}`;
    progress(`upload ${f.deliveredAs} → ${lake.uri(rawKey)}`);
    await lake.putFile(f.path, rawKey);
    let loadKey = rawKey;
    if (f.contract.rowId) {
      // the row id needs line numbers: a JSONL copy with it, beside the delivered file
      const dir = mkdtempSync(join(tmpdir(), "telco-rowid-"));
      try {
        const jsonl = join(dir, `${basename(f.deliveredAs)}.jsonl`);
        await csvWithRowId(f.path, f.contract, basename(f.deliveredAs), jsonl);
        loadKey = `raw/${plan.dataset}/_with_row_id/ingest_date=${ingestDate}/${batchId}/${basename(f.deliveredAs)}.jsonl`;
        await lake.putFile(jsonl, loadKey);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    toLoad.push({
      file: f,
      rawKey,
      loadKey,
      contract: loadableContract(f.contract),
      hash,
      bytes: statSync(f.path).size,
    });
  }
  if (toLoad.length > 0) {
    for (const a of plan.attachments ?? []) {
      await lake.putFile(
        a.path,
        `raw/${plan.dataset}/_delivery/ingest_date=${ingestDate}/${batchId}/${basename(a.deliveredAs)}`,
      );
    }
  }

  // 2. Bronze (load jobs, quarantine) and silver, in the warehouse.
  const tables: IngestReport["tables"] = [];
  let rows = 0;
  let rejects = 0;
  if (toLoad.length > 0) {
    progress(`load ${toLoad.length} file(s) into bronze`);
    const summary = await loadDeliveryInWarehouse(wh, lake, {
      contracts: toLoad.map((t) => t.contract),
      files: toLoad.map((t) => ({ table: t.file.contract.name, key: t.loadKey })),
      batchId,
      ingestedAt: now,
    });
    for (const t of toLoad) {
      const name = t.file.contract.name;
      const loaded = summary.tables.find((s) => s.table === name);
      const [{ n: bronzeRows }] = await wh.query<{ n: number }>(
        `SELECT count(*) AS n FROM bronze.${name} WHERE _batch_id = ${bq(batchId)}`,
      );
      const reasons = await wh.query<{ reason: string; n: number }>(
        `SELECT reason, count(*) AS n FROM bronze._quarantine WHERE table_name = ${bq(name)} AND batch_id = ${bq(batchId)} GROUP BY reason ORDER BY n DESC, reason`,
      );
      const rejectReasons: Record<string, number> = {};
      for (const r of reasons) rejectReasons[r.reason] = Number(r.n);
      const fileRows = Number(bronzeRows);
      const fileRejects = Number(loaded?.quarantined ?? 0);
      rows += fileRows;
      rejects += fileRejects;
      progress(
        `${t.file.deliveredAs}: ${fileRows} rows, ${fileRejects} quarantined (load job ${loaded?.bronze.jobId ?? "?"})`,
      );
      reports.push({
        file: t.file.deliveredAs,
        table: `bronze.${name}`,
        status: "ingested",
        rows: fileRows,
        rejects: fileRejects,
        rejectReasons,
        rawKey: t.rawKey,
        contentHash: t.hash,
      });
      await recordDatasetVersion(wh, {
        table: t.rawKey,
        version: t.hash.slice(0, 16),
        layer: "raw",
        rowCount: Number(loaded?.bronze.stagedRows ?? 0) + Number(loaded?.bronze.badRecords ?? 0),
        contractVersion: null,
        sourceFiles: [t.file.deliveredAs],
        parents: [],
        batchId,
        location: lake.uri(t.rawKey),
      });
      await wh.exec(
        `INSERT INTO meta.raw_files VALUES (${[
          bq(batchId),
          bq(plan.dataset),
          bq(name),
          bq(t.rawKey),
          bq(t.hash),
          String(t.bytes),
          bq(t.file.deliveredAs),
          String(fileRows),
          String(fileRejects),
        ].join(", ")})`,
      );
    }
    for (const s of summary.tables) {
      tables.push({ table: `bronze.${s.table}`, version: s.bronze.version, rows: s.bronze.rows });
      tables.push({ table: s.silver.table, version: s.silver.version, rows: s.silver.rows });
    }
    await wh.exec(
      `INSERT INTO meta.ingestion_batches VALUES (${[
        bq(batchId),
        bq(plan.dataset),
        bqTimestamp(now),
        "CURRENT_TIMESTAMP()",
        String(toLoad.length),
        String(rows),
        String(rejects),
        `[${warnings.map(bq).join(", ")}]`,
      ].join(", ")})`,
    );
    if (plan.delivery) {
      await wh.exec(
        `INSERT INTO meta.delivery_identities VALUES (${[
          bq(batchId),
          bq(plan.dataset),
          bq(plan.delivery.population),
          bq(JSON.stringify(plan.delivery.identity)),
        ].join(", ")})`,
      );
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

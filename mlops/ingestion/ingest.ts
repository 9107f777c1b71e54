import { createHash, randomBytes } from "node:crypto";
import { constants, mkdirSync, rmSync } from "node:fs";
import { copyFile } from "node:fs/promises";
import { basename, join } from "node:path";
import type { AppContext } from "../../platform/context.ts";
import { errorMessage } from "../../platform/errors.ts";
import type { Lake } from "../../platform/ports/lake.ts";
import type { Warehouse } from "../../platform/ports/warehouse.ts";
import { type BronzeResult, REJECT_COLUMNS, stageBronze } from "./bronze.ts";
import type { DataContract } from "./contract.ts";
import { type FileScan, scanFile } from "./scan.ts";
import { ident, lit } from "./sql.ts";
import {
  contentVersion,
  type DatasetVersion,
  ensureMetaSchema,
  latestDatasetVersion,
  recordDatasetVersion,
} from "./versions.ts";

/** One delivered file and the contract it must satisfy. */
export interface IngestFile {
  path: string;
  /** Path as delivered, e.g. "crm/customers.csv" (appears in rejects and lineage). */
  deliveredAs: string;
  contract: DataContract;
}

/** A derived table built after bronze (silver or gold). */
export interface DerivedTable {
  /** "silver.crm_customers", "gold.ibm_telco_training". */
  table: string;
  /** Tables it reads ("bronze.x", "silver.y"); each must be bronze of this batch or built earlier in the list. */
  inputs: string[];
  /**
   * SQL query given each input's relation (a read_parquet(...) expression) and how many bronze
   * batches each bronze input spans (1 means no cross-batch duplicates are possible).
   */
  sql(relations: Record<string, string>, batches: Record<string, number>): string;
  /** When true for this batch, the table is published as a view (no Parquet copy). */
  asView?(batches: Record<string, number>): boolean;
}

export interface IngestPlan {
  dataset: string;
  files: IngestFile[];
  derived: DerivedTable[];
  /** Delivery files kept in raw for provenance but not parsed (e.g. a manifest). */
  attachments?: { path: string; deliveredAs: string }[];
}

export interface IngestedFileReport {
  file: string;
  table: string;
  status: "ingested" | "skipped";
  rows: number;
  rejects: number;
  rejectReasons: Record<string, number>;
  rawKey: string | undefined;
  contentHash: string;
  /** "typed": DuckDB read the file with the contract's types; "text": the VARCHAR checking pass. */
  pass?: "typed" | "text";
}

export interface IngestReport {
  dataset: string;
  batchId: string;
  ingestDate: string;
  files: IngestedFileReport[];
  rows: number;
  rejects: number;
  warnings: string[];
  tables: { table: string; version: string; rows: number }[];
  seconds: number;
}

export interface IngestOptions {
  /** Clock override (tests). */
  now?: Date;
  onProgress?: (step: string) => void;
  /** Try the contract-typed read first (default true); false forces the text pass (tests). */
  typedRead?: boolean;
}

/**
 * Runs raw → bronze → silver → gold for one batch. Everything is built in a local staging
 * folder first; only when every file has been validated and every table built are files
 * copied into the lake and views/versions committed in one warehouse transaction — a failing
 * file (missing column, empty, not UTF-8) therefore leaves the lake and warehouse untouched.
 */
export async function runIngestion(
  app: AppContext,
  plan: IngestPlan,
  opts: IngestOptions = {},
): Promise<IngestReport> {
  const started = Date.now();
  const now = opts.now ?? new Date();
  const ingestDate = now.toISOString().slice(0, 10);
  const batchId = `${now.toISOString().replace(/[-:]/g, "").slice(0, 15)}-${randomBytes(3).toString("hex")}`;
  const lake = app.lake();
  const wh = await app.warehouse();
  const staging = join(app.paths.home, "tmp", `ingest-${batchId}`);
  mkdirSync(staging, { recursive: true });
  const progress = opts.onProgress ?? (() => {});
  const rawCopies: Promise<void>[] = [];
  try {
    // 1. The Node scans (hash, UTF-8, line structure) run one after another in the background,
    // overlapping DuckDB's parse of earlier files; a failing scan still fails the batch before
    // anything is published. Raw copies are made into staging alongside, moved in at publish.
    const scans: Promise<FileScan>[] = [];
    let chain: Promise<unknown> = Promise.resolve();
    for (const f of plan.files) {
      const next = chain.then(() =>
        scanFile(f.path, { format: f.contract.format, delimiter: f.contract.delimiter }),
      );
      next.catch(() => {}); // awaited in order below; this only marks it handled meanwhile
      scans.push(next);
      chain = next;
    }
    await ensureMetaSchema(wh);
    await wh.exec(`SET memory_limit = ${lit(app.config.data.ingestMemoryLimit)}`);
    const reports: IngestedFileReport[] = [];
    const staged: {
      file: IngestFile;
      scan: FileScan;
      bronze: BronzeResult;
      rawKey: string;
      rawCopy: string;
    }[] = [];
    const warnings: string[] = [];
    for (let i = 0; i < plan.files.length; i++) {
      const f = plan.files[i];
      progress(`scan+bronze ${f.deliveredAs}`);
      const scan = await scans[i];
      const seen = await wh.query<{ batch_id: string }>(
        "SELECT batch_id FROM meta.raw_files WHERE table_name = ? AND content_hash = ? LIMIT 1",
        [f.contract.name, scan.contentHash],
      );
      if (seen.length > 0) {
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
          contentHash: scan.contentHash,
        });
        continue;
      }
      const dir = join(staging, String(i));
      mkdirSync(dir, { recursive: true });
      // Reflink where the filesystem can, else a real copy: never a hard link, so later edits
      // to the delivery cannot change what raw recorded.
      const rawCopy = join(dir, `raw-${basename(f.deliveredAs)}`);
      const copying = copyFile(f.path, rawCopy, constants.COPYFILE_FICLONE);
      copying.catch(() => {});
      rawCopies.push(copying);
      const bronze = await stageBronze(wh, {
        contract: f.contract,
        scan,
        deliveredAs: f.deliveredAs,
        batchId,
        ingestedAt: now,
        stagingDir: dir,
        typedRead: opts.typedRead,
      });
      warnings.push(...bronze.warnings);
      const rawKey = `raw/${plan.dataset}/${f.contract.source}/ingest_date=${ingestDate}/${batchId}/${basename(f.deliveredAs)}`;
      staged.push({ file: f, scan, bronze, rawKey, rawCopy });
      reports.push({
        file: f.deliveredAs,
        table: `bronze.${f.contract.name}`,
        status: "ingested",
        rows: bronze.rows,
        rejects: bronze.rejects,
        rejectReasons: bronze.rejectReasons,
        rawKey,
        contentHash: scan.contentHash,
        pass: bronze.pass,
      });
    }

    // 2. Derived tables (silver, gold) from published bronze + this batch's staged bronze.
    const relations: Record<string, string> = {};
    const batches: Record<string, number> = {};
    const touched = new Set(staged.map((s) => s.bronze.table));
    for (const f of plan.files) {
      const key = `bronze/${plan.dataset}/${f.contract.name}/`;
      const files = (await lake.list(key)).filter((k) => k.endsWith(".parquet")).map((k) => lake.uri(k));
      const mine = staged.find((s) => s.bronze.table === f.contract.name);
      if (mine) files.push(mine.bronze.bronzeFile);
      batches[`bronze.${f.contract.name}`] = files.length;
      if (files.length > 0) {
        relations[`bronze.${f.contract.name}`] =
          `read_parquet([${files.map(lit).join(", ")}], union_by_name=true)`;
      }
    }
    const built: {
      table: string;
      file: string | undefined;
      key: string;
      version: string;
      rows: number;
      inputs: string[];
      derived: DerivedTable;
    }[] = [];
    if (touched.size > 0) {
      // Only tables downstream of a bronze table that received rows in this batch are rebuilt.
      const changed = new Set([...touched].map((t) => `bronze.${t}`));
      for (const d of plan.derived) {
        if (!d.inputs.every((t) => relations[t]) || !d.inputs.some((t) => changed.has(t))) continue;
        changed.add(d.table);
        progress(`build ${d.table}`);
        const [layer, name] = d.table.split(".");
        if (d.asView?.(batches)) {
          // A pure projection of one bronze batch: published as a view, nothing rewritten.
          const rel = `(${d.sql(relations, batches)})`;
          const v = await contentVersion(wh, rel);
          relations[d.table] = rel;
          built.push({
            table: d.table,
            file: undefined,
            key: `view:${d.table}`,
            version: v.version,
            rows: v.rows,
            inputs: d.inputs,
            derived: d,
          });
          continue;
        }
        const file = join(staging, `${d.table}.parquet`);
        await wh.exec(
          `COPY (${d.sql(relations, batches)}) TO ${lit(file)} (FORMAT parquet, COMPRESSION zstd)`,
        );
        const rel = `read_parquet(${lit(file)})`;
        const v = await contentVersion(wh, rel);
        const key = `${layer}/${plan.dataset}/${name}/${v.version}.parquet`;
        relations[d.table] = rel;
        built.push({
          table: d.table,
          file,
          key,
          version: v.version,
          rows: v.rows,
          inputs: d.inputs,
          derived: d,
        });
      }
    }

    // 3. Publish: raw is copied (the delivery stays as it was), staged Parquet is moved in;
    // each file lands atomically, then views and versions change in one transaction.
    progress("publish");
    const moveIn = (from: string, key: string) =>
      lake.moveIn ? lake.moveIn(from, key) : lake.putFile(from, key);
    await Promise.all(rawCopies);
    for (const s of staged) {
      await moveIn(s.rawCopy, s.rawKey);
      await moveIn(s.bronze.bronzeFile, bronzeKey(plan.dataset, s.bronze.table, ingestDate, batchId));
      if (s.bronze.rejectsFile) {
        await moveIn(
          s.bronze.rejectsFile,
          `bronze/${plan.dataset}/_rejects/ingest_date=${ingestDate}/${batchId}-${s.bronze.table}.parquet`,
        );
      }
    }
    if (staged.length > 0) {
      for (const a of plan.attachments ?? []) {
        await lake.putFile(
          a.path,
          `raw/${plan.dataset}/_delivery/ingest_date=${ingestDate}/${batchId}/${basename(a.deliveredAs)}`,
        );
      }
    }
    for (const b of built) if (b.file) await moveIn(b.file, b.key);

    const tables: IngestReport["tables"] = [];
    await wh.exec("BEGIN TRANSACTION");
    try {
      await wh.exec(
        "CREATE SCHEMA IF NOT EXISTS bronze; CREATE SCHEMA IF NOT EXISTS silver; CREATE SCHEMA IF NOT EXISTS gold;",
      );
      await refreshRejectsView(wh, lake);
      const versionOf: Record<string, string> = {};
      for (const s of staged) {
        const table = `bronze.${s.bronze.table}`;
        const glob = lake.uri(`bronze/${plan.dataset}/${s.bronze.table}`) + "/*/*.parquet";
        await wh.exec(
          `CREATE OR REPLACE VIEW bronze.${ident(s.bronze.table)} AS SELECT * FROM read_parquet(${lit(glob)}, union_by_name=true)`,
        );
        const rawVersion = s.scan.contentHash.slice(0, 16);
        await recordDatasetVersion(wh, {
          table: s.rawKey,
          version: rawVersion,
          layer: "raw",
          rowCount: s.scan.records,
          contractVersion: null,
          sourceFiles: [s.file.deliveredAs],
          parents: [],
          batchId,
          location: s.rawKey,
        });
        await wh.query("INSERT INTO meta.raw_files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [
          batchId,
          plan.dataset,
          s.file.contract.name,
          s.rawKey,
          s.scan.contentHash,
          s.scan.bytes,
          s.file.deliveredAs,
          s.bronze.rows,
          s.bronze.rejects,
        ]);
        // Bronze only grows: its version chains the previous version with this batch's content hash.
        const previous = await latestDatasetVersion(wh, table);
        // A batch's bronze content is a pure function of the raw bytes and the contract, so
        // their hashes identify it without rescanning the Parquet file.
        const batchHash = `${s.scan.contentHash}:${JSON.stringify(s.file.contract)}`;
        const v = {
          version: createHash("sha256")
            .update(`${previous?.version ?? ""}+${batchHash}`)
            .digest("hex")
            .slice(0, 16),
          rows: (previous?.rowCount ?? 0) + s.bronze.rows,
        };
        await recordDatasetVersion(wh, {
          table,
          version: v.version,
          layer: "bronze",
          rowCount: v.rows,
          contractVersion: s.file.contract.version,
          sourceFiles: [s.rawKey],
          parents: [...(previous ? [`${table}@${previous.version}`] : []), `${s.rawKey}@${rawVersion}`],
          batchId,
          location: `bronze/${plan.dataset}/${s.bronze.table}/`,
        });
        versionOf[table] = `${table}@${v.version}`;
        tables.push({ table, version: v.version, rows: v.rows });
      }
      const published: Record<string, string> = {};
      for (const s of staged) published[`bronze.${s.bronze.table}`] = `bronze.${ident(s.bronze.table)}`;
      for (const b of built) {
        const [layer, name] = b.table.split(".");
        const body = b.file
          ? `SELECT * FROM read_parquet(${lit(lake.uri(b.key))})`
          : b.derived.sql({ ...relationsOfViews(b.inputs), ...published }, batches);
        await wh.exec(`CREATE OR REPLACE VIEW ${layer}.${ident(name)} AS ${body}`);
        published[b.table] = `${layer}.${ident(name)}`;
        const parents: string[] = [];
        for (const input of b.inputs) {
          const ref = versionOf[input] ?? (await latestVersionRef(wh, input));
          if (ref) parents.push(ref);
        }
        await recordDatasetVersion(wh, {
          table: b.table,
          version: b.version,
          layer: layer as DatasetVersion["layer"],
          rowCount: b.rows,
          contractVersion: null,
          sourceFiles: b.file ? [b.key] : [],
          parents,
          batchId,
          location: b.file ? b.key : `view over ${b.inputs.join(", ")}`,
        });
        versionOf[b.table] = `${b.table}@${b.version}`;
        tables.push({ table: b.table, version: b.version, rows: b.rows });
      }
      const rows = staged.reduce((n, s) => n + s.bronze.rows, 0);
      const rejects = staged.reduce((n, s) => n + s.bronze.rejects, 0);
      if (staged.length > 0) {
        await wh.query(
          "INSERT INTO meta.ingestion_batches VALUES (?, ?, ?::TIMESTAMP, now()::TIMESTAMP, ?, ?, ?, ?::VARCHAR[])",
          [
            batchId,
            plan.dataset,
            now.toISOString().replace("T", " ").replace("Z", ""),
            staged.length,
            rows,
            rejects,
            JSON.stringify(warnings),
          ],
        );
      }
      await wh.exec("COMMIT");
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
      };
    } catch (err) {
      await wh.exec("ROLLBACK").catch(() => {});
      throw err;
    }
  } catch (err) {
    // Temp tables of a failed stage are dropped so the next attempt starts clean.
    await wh
      .exec(
        "DROP TABLE IF EXISTS _duph; DROP TABLE IF EXISTS _dups; DROP TABLE IF EXISTS _rag; DROP TABLE IF EXISTS _bp",
      )
      .catch(() => {});
    if (err instanceof Error) throw err;
    throw new Error(errorMessage(err));
  } finally {
    await Promise.allSettled(rawCopies);
    rmSync(staging, { recursive: true, force: true });
    await wh.exec("RESET memory_limit").catch(() => {});
  }
}

/** Published warehouse names for inputs ("silver.x" → silver."x"). */
function relationsOfViews(tables: string[]): Record<string, string> {
  return Object.fromEntries(
    tables.map((t) => {
      const [layer, name] = t.split(".");
      return [t, `${layer}.${ident(name)}`];
    }),
  );
}

function bronzeKey(dataset: string, table: string, date: string, batchId: string): string {
  return `bronze/${dataset}/${table}/ingest_date=${date}/${batchId}.parquet`;
}

async function latestVersionRef(wh: Warehouse, table: string): Promise<string | undefined> {
  const rows = await wh.query<{ version: string }>(
    "SELECT version FROM meta.dataset_versions WHERE table_name = ? ORDER BY created_at DESC, rowid DESC LIMIT 1",
    [table],
  );
  return rows[0] ? `${table}@${rows[0].version}` : undefined;
}

/** bronze.rejects: every rejects file of every dataset (an empty, typed view before the first reject). */
async function refreshRejectsView(wh: Warehouse, lake: Lake): Promise<void> {
  const files = (await lake.list("bronze")).filter((k) => k.includes("/_rejects/") && k.endsWith(".parquet"));
  if (files.length === 0) {
    const cols = REJECT_COLUMNS.split(", ").map((c) => {
      const [name, type] = c.split(" ");
      return `NULL::${type} AS ${name}`;
    });
    await wh.exec(`CREATE OR REPLACE VIEW bronze.rejects AS SELECT ${cols.join(", ")} WHERE false`);
  } else {
    const glob = `${lake.uri("bronze")}/*/_rejects/*/*.parquet`;
    await wh.exec(
      `CREATE OR REPLACE VIEW bronze.rejects AS SELECT * FROM read_parquet(${lit(glob)}, union_by_name=true)`,
    );
  }
}

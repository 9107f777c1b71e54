import { createHash, randomBytes } from "node:crypto";
import {
  closeSync,
  constants,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  rmSync,
} from "node:fs";
import { copyFile } from "node:fs/promises";
import { basename, join } from "node:path";
import type { AppContext } from "../../platform/context.ts";
import { errorMessage } from "../../platform/errors.ts";
import type { Lake } from "../../platform/ports/lake.ts";
import type { Warehouse } from "../../platform/ports/warehouse.ts";
import { crashPoint } from "../../platform/testing/crash-points.ts";
import { type BronzeResult, REJECT_COLUMNS, stageBronze } from "./bronze.ts";
import type { DataContract } from "./contract.ts";
import type { FileScan } from "./scan.ts";
import { scanFileOffThread } from "./scan-worker.ts";
import { ident, lit } from "./sql.ts";
import {
  contentVersion,
  type DatasetVersion,
  type DeliveryIdentity,
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
  /**
   * Optional sources this delivery did not carry: their bronze and silver tables are created empty
   * and typed while no batch of theirs has ever been committed, so downstream SQL can rely on them.
   */
  absent?: DataContract[];
  /** Identity of the delivery (from its manifest), recorded with the batch for lineage. */
  delivery?: DeliveryIdentity;
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
  /** Wall seconds this file took in its lane (scan + bronze). */
  seconds?: number;
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
  /** The delivery's identity when it had a manifest (generator seed and parameters). */
  delivery?: DeliveryIdentity;
}

export interface IngestOptions {
  /** Clock override (tests). */
  now?: Date;
  onProgress?: (step: string) => void;
  /** Try the contract-typed read first (default true); false forces the text pass (tests). */
  typedRead?: boolean;
  /** Files staged side by side (default: config data.ingestLanes); 1 stages them one at a time. */
  lanes?: number;
}

interface StagedFile {
  file: IngestFile;
  scan: FileScan;
  bronze: BronzeResult;
  rawKey: string;
  rawCopy: string;
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
  const sessions: Warehouse[] = [];
  let threadsBefore: number | undefined;
  try {
    // 1. Files are staged by `lanes` workers, most records first (a file's cost follows its
    // records more than its bytes: at 1M, 0.37 GB of usage rows cost as much as 0.76 GB of
    // invoices), each on its own warehouse session
    // (DuckDB: one connection, one thread each — a checked COPY keeps file order, so a second
    // thread per file only burns CPU, while a second file uses the other core). Each lane first
    // scans its file (hash, UTF-8, line structure; large files on a worker thread), so a failing
    // scan fails the batch before anything is published. Raw copies are made into staging
    // alongside and moved in at publish.
    const order = plan.files
      .map((f, i) => ({ i, records: estimatedRecords(f.path) }))
      .sort((a, b) => b.records - a.records || a.i - b.i)
      .map((x) => x.i);
    await ensureMetaSchema(wh);
    const orphans = await removeOrphans(wh, lake, join(app.paths.home, "tmp"), staging);
    await wh.exec(`SET memory_limit = ${lit(app.config.data.ingestMemoryLimit)}`);
    const lanes = wh.session
      ? Math.max(1, Math.min(opts.lanes ?? app.config.data.ingestLanes, plan.files.length))
      : 1;
    for (let l = 1; l < lanes; l++) {
      const session = await wh.session?.();
      if (session) sessions.push(session);
    }
    if (lanes > 1) {
      // `threads` is instance-wide: every lane runs single-threaded; restored in finally.
      const [cur] = await wh.query<{ t: number }>("SELECT current_setting('threads')::BIGINT AS t");
      threadsBefore = Number(cur.t);
      await wh.exec("SET threads = 1");
    }
    const slots: ({ report: IngestedFileReport; staged?: StagedFile; warnings: string[] } | undefined)[] =
      new Array(plan.files.length);
    const stageFile = async (conn: Warehouse, i: number) => {
      const f = plan.files[i];
      const fileStarted = performance.now();
      const scan = await scanFileOffThread(f.path, {
        format: f.contract.format,
        delimiter: f.contract.delimiter,
      });
      const seen = await conn.query<{ batch_id: string }>(
        "SELECT batch_id FROM meta.raw_files WHERE table_name = ? AND content_hash = ? LIMIT 1",
        [f.contract.name, scan.contentHash],
      );
      if (seen.length > 0) {
        progress(`${f.deliveredAs}: skipped, identical to a file of batch ${seen[0].batch_id}`);
        slots[i] = {
          warnings: [
            `${f.deliveredAs}: identical file already ingested in batch ${seen[0].batch_id}; skipped`,
          ],
          report: {
            file: f.deliveredAs,
            table: `bronze.${f.contract.name}`,
            status: "skipped",
            rows: 0,
            rejects: 0,
            rejectReasons: {},
            rawKey: undefined,
            contentHash: scan.contentHash,
          },
        };
        return;
      }
      const dir = join(staging, String(i));
      mkdirSync(dir, { recursive: true });
      // Reflink where the filesystem can, else a real copy: never a hard link, so later edits
      // to the delivery cannot change what raw recorded.
      const rawCopy = join(dir, `raw-${basename(f.deliveredAs)}`);
      const copying = copyFile(f.path, rawCopy, constants.COPYFILE_FICLONE);
      copying.catch(() => {});
      rawCopies.push(copying);
      const bronze = await stageBronze(conn, {
        contract: f.contract,
        scan,
        deliveredAs: f.deliveredAs,
        batchId,
        ingestedAt: now,
        stagingDir: dir,
        typedRead: opts.typedRead,
      });
      const rawKey = `raw/${plan.dataset}/${f.contract.source}/ingest_date=${ingestDate}/${batchId}/${basename(f.deliveredAs)}`;
      const seconds = (performance.now() - fileStarted) / 1000;
      slots[i] = {
        warnings: bronze.warnings,
        staged: { file: f, scan, bronze, rawKey, rawCopy },
        report: {
          file: f.deliveredAs,
          table: `bronze.${f.contract.name}`,
          status: "ingested",
          rows: bronze.rows,
          rejects: bronze.rejects,
          rejectReasons: bronze.rejectReasons,
          rawKey,
          contentHash: scan.contentHash,
          pass: bronze.pass,
          seconds: Number(seconds.toFixed(3)),
        },
      };
      // Lanes finish files in any order: each step line reports one finished file.
      progress(
        `${f.deliveredAs}: ${bronze.rows.toLocaleString("en-US")} rows, ${bronze.rejects.toLocaleString("en-US")} rejected (${bronze.pass} read, ${seconds.toFixed(1)} s)`,
      );
    };
    // Each lane takes the next file from the shared queue; after the first failure no lane starts
    // another file, and every lane is awaited before the error propagates (cleanup runs after).
    let nextFile = 0;
    let failed = false;
    const lane = async (conn: Warehouse) => {
      while (!failed && nextFile < order.length) {
        const i = order[nextFile++];
        try {
          await stageFile(conn, i);
        } catch (err) {
          failed = true;
          throw err;
        }
      }
    };
    const outcomes = await Promise.allSettled([wh, ...sessions].map((c) => lane(c)));
    if (threadsBefore !== undefined) {
      await wh.exec(`SET threads = ${threadsBefore}`);
      threadsBefore = undefined;
    }
    const failure = outcomes.find((o): o is PromiseRejectedResult => o.status === "rejected");
    if (failure) throw failure.reason;
    // Reports, warnings and publishing follow the plan's order, whatever order the lanes finished in.
    const reports: IngestedFileReport[] = [];
    const staged: StagedFile[] = [];
    const warnings: string[] =
      orphans > 0 ? [`removed ${orphans} file(s) left in the lake by an interrupted ingestion`] : [];
    for (const slot of slots) {
      if (!slot) continue;
      reports.push(slot.report);
      warnings.push(...slot.warnings);
      if (slot.staged) staged.push(slot.staged);
    }

    // 2. Derived tables (silver, gold) from published bronze + this batch's staged bronze.
    const relations: Record<string, string> = {};
    const batches: Record<string, number> = {};
    const touched = new Set(staged.map((s) => s.bronze.table));
    for (const f of plan.files) {
      const files = (await committedBronzeKeys(wh, lake, plan.dataset, f.contract.name)).map((k) =>
        lake.uri(k),
      );
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

    crashPoint("ingest:before-commit");
    const tables: IngestReport["tables"] = [];
    await wh.exec("BEGIN TRANSACTION");
    try {
      await wh.exec(
        "CREATE SCHEMA IF NOT EXISTS bronze; CREATE SCHEMA IF NOT EXISTS silver; CREATE SCHEMA IF NOT EXISTS gold;",
      );
      await refreshRejectsView(wh, lake, batchId);
      const versionOf: Record<string, string> = {};
      for (const s of staged) {
        const table = `bronze.${s.bronze.table}`;
        // Readers see only batches committed in the metadata (this one commits with the view): a
        // file a crashed run moved into the lake is never read, and the next run removes it.
        const files = [
          ...(await committedBronzeKeys(wh, lake, plan.dataset, s.bronze.table)),
          bronzeKey(plan.dataset, s.bronze.table, ingestDate, batchId),
        ].map((k) => lit(lake.uri(k)));
        await wh.exec(
          `CREATE OR REPLACE VIEW bronze.${ident(s.bronze.table)} AS SELECT * FROM read_parquet([${files.join(", ")}], union_by_name=true)`,
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
      for (const c of plan.absent ?? []) {
        if ((await committedBronzeKeys(wh, lake, plan.dataset, c.name)).length > 0) continue;
        const empty = emptyRelation(c);
        await wh.exec(`CREATE OR REPLACE VIEW bronze.${ident(c.name)} AS ${empty}`);
        await wh.exec(`CREATE OR REPLACE VIEW silver.${ident(c.name)} AS ${empty}`);
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
        if (plan.delivery) {
          await wh.query("INSERT INTO meta.delivery_identities VALUES (?, ?, ?, ?)", [
            batchId,
            plan.dataset,
            plan.delivery.population,
            JSON.stringify(plan.delivery.identity),
          ]);
        }
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
        ...(plan.delivery ? { delivery: plan.delivery } : {}),
      };
    } catch (err) {
      await wh.exec("ROLLBACK").catch(() => {});
      throw err;
    }
  } catch (err) {
    // Temp tables of a failed stage are dropped so the next attempt starts clean (a session's
    // temp tables go with its connection).
    await wh
      .exec(
        "DROP TABLE IF EXISTS _duph; DROP TABLE IF EXISTS _dups; DROP TABLE IF EXISTS _rag; DROP TABLE IF EXISTS _bp",
      )
      .catch(() => {});
    if (err instanceof Error) throw err;
    throw new Error(errorMessage(err));
  } finally {
    await Promise.allSettled(rawCopies);
    for (const s of sessions) await s.close().catch(() => {});
    rmSync(staging, { recursive: true, force: true });
    await wh.exec("RESET memory_limit").catch(() => {});
    if (threadsBefore !== undefined) await wh.exec(`SET threads = ${threadsBefore}`).catch(() => {});
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

const SQL_TYPES: Record<DataContract["columns"][number]["type"], string> = {
  string: "VARCHAR",
  integer: "BIGINT",
  number: "DOUBLE",
  boolean: "BOOLEAN",
  date: "DATE",
  timestamp: "TIMESTAMP",
};

/** A typed relation with a contract's columns and no rows. */
function emptyRelation(c: DataContract): string {
  return `SELECT ${c.columns.map((col) => `NULL::${SQL_TYPES[col.type]} AS ${ident(col.name)}`).join(", ")} WHERE false`;
}

/** A batch id (yyyymmddThhmmss-xxxxxx) inside a lake key, if any. */
const BATCH_ID_RE = /\d{8}T\d{6}-[0-9a-f]{6}/;

function batchIdOfKey(key: string): string | undefined {
  return BATCH_ID_RE.exec(key)?.[0];
}

/** Batches whose metadata committed (meta.ingestion_batches). */
async function committedBatches(wh: Warehouse): Promise<Set<string>> {
  const rows = await wh.query<{ batch_id: string }>("SELECT batch_id FROM meta.ingestion_batches");
  return new Set(rows.map((r) => r.batch_id));
}

/** Lake keys of a bronze table's Parquet files that belong to committed batches, sorted. */
async function committedBronzeKeys(
  wh: Warehouse,
  lake: Lake,
  dataset: string,
  table: string,
): Promise<string[]> {
  const committed = await committedBatches(wh);
  return (await lake.list(`bronze/${dataset}/${table}/`)).filter(
    (k) => k.endsWith(".parquet") && committed.has(batchIdOfKey(k) ?? ""),
  );
}

/**
 * Removes what a crashed run left: raw and bronze files of batches whose metadata never committed
 * (they were moved into the lake before the transaction), and staging folders of runs that are gone.
 * Runs under the warehouse's write lock, so no other ingestion is publishing meanwhile.
 */
async function removeOrphans(wh: Warehouse, lake: Lake, tmpDir: string, ownStaging: string): Promise<number> {
  const committed = await committedBatches(wh);
  let removed = 0;
  for (const layer of ["raw", "bronze"]) {
    for (const key of await lake.list(layer)) {
      const batch = batchIdOfKey(key);
      if (batch === undefined || committed.has(batch)) continue;
      await lake.deletePrefix(key);
      removed++;
    }
  }
  if (existsSync(tmpDir)) {
    for (const name of readdirSync(tmpDir)) {
      const dir = join(tmpDir, name);
      if (!name.startsWith("ingest-") || dir === ownStaging) continue;
      rmSync(dir, { recursive: true, force: true });
      removed++;
    }
  }
  return removed;
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
async function refreshRejectsView(wh: Warehouse, lake: Lake, currentBatch: string): Promise<void> {
  const committed = await committedBatches(wh);
  committed.add(currentBatch);
  const files = (await lake.list("bronze")).filter(
    (k) => k.includes("/_rejects/") && k.endsWith(".parquet") && committed.has(batchIdOfKey(k) ?? ""),
  );
  if (files.length === 0) {
    const cols = REJECT_COLUMNS.split(", ").map((c) => {
      const [name, type] = c.split(" ");
      return `NULL::${type} AS ${name}`;
    });
    await wh.exec(`CREATE OR REPLACE VIEW bronze.rejects AS SELECT ${cols.join(", ")} WHERE false`);
  } else {
    await wh.exec(
      `CREATE OR REPLACE VIEW bronze.rejects AS SELECT * FROM read_parquet([${files.map((k) => lit(lake.uri(k))).join(", ")}], union_by_name=true)`,
    );
  }
}

/**
 * Records in a delivered file, estimated from the line density of its first 256 KB (scheduling
 * only; 0 when unreadable: the scan reports the real error).
 */
function estimatedRecords(path: string): number {
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    const size = fstatSync(fd).size;
    const buf = Buffer.allocUnsafe(Math.min(size, 256 * 1024));
    const n = readSync(fd, buf, 0, buf.length, 0);
    let lines = 0;
    for (let at = buf.indexOf(10); at !== -1 && at < n; at = buf.indexOf(10, at + 1)) lines++;
    return n === 0 ? 0 : Math.round((Math.max(1, lines) * size) / n);
  } catch {
    return 0;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

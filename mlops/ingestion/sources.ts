import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import type { AppContext } from "../../platform/context.ts";
import { NotFoundError, UsageError, ValidationError } from "../../platform/errors.ts";
import { sqlDialect } from "../../platform/sql/dialect.ts";
import type { DataContract } from "./contract.ts";
import {
  checkDatasetName,
  freezeContract,
  inferCsvContract,
  loadDatasetContracts,
  positiveSpellings,
  readContract,
  SHIPPED_SCHEMAS_DIR,
  sniffDelimiter,
  userContractPath,
} from "./contracts.ts";
import {
  type DerivedTable,
  type IngestOptions,
  type IngestPlan,
  type IngestReport,
  runIngestion,
} from "./ingest.ts";
import { parseCsvRecord, scanFile } from "./scan.ts";
import { bigqueryIdent, conformedCell, conformedNames, ident, lit, renderSql, snake } from "./sql.ts";

export { conformedNames };

import {
  contentVersion,
  type DeliveryIdentity,
  ingestedPopulations,
  recordDatasetVersion,
} from "./versions.ts";
import { inferCsvContractInWarehouse } from "./warehouse-infer.ts";
import { ingestPlanInWarehouse, loadsInWarehouse } from "./warehouse-ingest.ts";

/** Silver = latest row per primary key over all bronze batches, columns renamed by `alias`. */
export function dedupeSilver(
  contract: DataContract,
  alias: (name: string) => string = (n) => n,
): DerivedTable {
  const bronze = `bronze.${contract.name}`;
  const type = new Map(contract.columns.map((c) => [c.name, c.type]));
  const names = [...(contract.rowId ? [contract.rowId] : []), ...contract.columns.map((c) => c.name)];
  const conformed = (n: string) => conformedCell(type.get(n) ?? "", ident(n));
  return {
    table: `silver.${contract.name}`,
    inputs: [bronze],
    asView: (batches) => batches[bronze] === 1,
    sql: (rel, batches) =>
      renderSql("silver", batches[bronze] === 1 ? "conform" : "dedupe", {
        columns: names.map((n) => `${conformed(n)} AS ${ident(alias(n))}`).join(", "),
        bronze: rel[bronze],
        primary_key: contract.primaryKey.map(conformed).join(", "),
      }),
  };
}

function requireFile(path: string, what: string): string {
  const abs = resolve(path);
  if (!existsSync(abs) || !statSync(abs).isFile()) {
    throw new NotFoundError(`${what} ${abs}`, { hint: "Check the path." });
  }
  return abs;
}

/** The IBM Telco Customer Churn CSV: bronze.ibm_telco → silver.ibm_telco → gold.ibm_telco_training. */
export function ibmTelcoPlan(file: string): IngestPlan {
  const [contract] = loadDatasetContracts("ibm-telco");
  const path = requireFile(file, "IBM Telco file");
  return {
    dataset: "ibm-telco",
    files: [{ path, deliveredAs: basename(path), contract }],
    derived: [
      {
        table: "silver.ibm_telco",
        inputs: ["bronze.ibm_telco"],
        sql: (rel) => renderSql("silver", "ibm_telco", { bronze: rel["bronze.ibm_telco"] }),
      },
      {
        table: "gold.ibm_telco_training",
        inputs: ["silver.ibm_telco"],
        sql: (rel) => renderSql("gold", "ibm_telco_training", { silver: rel["silver.ibm_telco"] }),
      },
    ],
  };
}

/** Ingests the IBM Telco file. */
export async function ingestIbmTelco(
  app: AppContext,
  file: string,
  opts?: IngestOptions,
): Promise<IngestReport> {
  const plan = ibmTelcoPlan(file);
  const wh = await app.warehouse();
  if (!loadsInWarehouse(wh)) return runIngestion(app, plan, opts);
  // BigQuery: load jobs into bronze (conformed names), silver and gold from the same SQL files
  const contract = plan.files[0].contract;
  const report = await ingestPlanInWarehouse(wh, app.lake(), plan, opts, {
    silverSelect: {
      [contract.name]: (_loaded, dialect) =>
        renderSql("silver", "ibm_telco", { bronze: ibmBronzeAsDelivered(contract, bigqueryIdent) }, dialect),
    },
  });
  // built whenever silver was (also when every file was skipped: a re-run heals a failed build)
  if (!report.tables.some((t) => t.table === "silver.ibm_telco")) return report;
  const gold = "gold.ibm_telco_training";
  const dialect = sqlDialect("bigquery");
  opts?.onProgress?.(`build ${gold}`);
  await wh.exec(
    dialect.createTableAs(
      gold,
      renderSql("gold", "ibm_telco_training", { silver: "silver.ibm_telco" }, dialect),
      {
        clusterBy: ["customer_id"],
      },
    ),
  );
  const v = await contentVersion(wh, gold);
  const silver = report.tables.find((t) => t.table === "silver.ibm_telco");
  await recordDatasetVersion(wh, {
    table: gold,
    version: v.version,
    layer: "gold",
    rowCount: v.rows,
    contractVersion: null,
    sourceFiles: [],
    parents: silver ? [`${silver.table}@${silver.version}`] : [],
    batchId: report.batchId,
    location: `warehouse:${gold}`,
  });
  return { ...report, tables: [...report.tables, { table: gold, version: v.version, rows: v.rows }] };
}

/**
 * Bronze ibm_telco as sql/silver/ibm_telco.sql reads it: a loaded table has the conformed names
 * (customer_id for customerID) and no `_line` (duplicate keys of a batch are quarantined, so none
 * is needed to pick a row); this puts the delivered names back. `quote` is the engine's quoting.
 */
export function ibmBronzeAsDelivered(contract: DataContract, quote: (name: string) => string): string {
  const names = conformedNames(contract.columns.map((c) => c.name));
  const cols = contract.columns.map((c) => `${quote(names.get(c.name) as string)} AS ${quote(c.name)}`);
  return `(SELECT ${cols.join(", ")}, _ingested_at, _batch_id, CAST(NULL AS INT64) AS _line FROM bronze.${contract.name})`;
}

/**
 * Runs a plan whose derived tables are each contract's silver (interactions): the local bronze
 * stage, or BigQuery load jobs when the warehouse loads files itself.
 */
export async function ingestPlan(
  app: AppContext,
  plan: IngestPlan,
  opts?: IngestOptions,
): Promise<IngestReport> {
  const wh = await app.warehouse();
  if (loadsInWarehouse(wh)) return ingestPlanInWarehouse(wh, app.lake(), plan, opts);
  return runIngestion(app, plan, opts);
}

/**
 * The synthetic operator's delivery folder: one file per contract in data/schemas/synthetic
 * (at the contract's `file` path); silver.<contract name> for each. Gold is the feature store's.
 */
export function syntheticPlan(dir: string): IngestPlan {
  const root = resolve(dir);
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    throw new NotFoundError(`delivery folder ${root}`, { hint: "Run `telco data generate` first." });
  }
  const all = loadDatasetContracts("synthetic");
  const delivered = (c: DataContract) => existsSync(join(root, c.file));
  const contracts = all.filter((c) => !c.optional || delivered(c));
  const missing = contracts.filter((c) => !delivered(c));
  if (missing.length > 0) {
    throw new ValidationError(
      root,
      `delivery is missing ${missing.map((c) => c.file).join(", ")} (expected by data/schemas/synthetic)`,
    );
  }
  const manifest = join(root, "manifest.json");
  const delivery = existsSync(manifest) ? deliveryIdentity(manifest) : undefined;
  return {
    dataset: "synthetic",
    ...(delivery ? { delivery } : {}),
    files: contracts.map((contract) => ({
      path: join(root, contract.file),
      deliveredAs: contract.file,
      contract,
    })),
    derived: contracts.map((c) => dedupeSilver(c)),
    attachments: existsSync(manifest) ? [{ path: manifest, deliveredAs: "manifest.json" }] : [],
    absent: all.filter((c) => c.optional && !delivered(c)),
  };
}

/**
 * A delivery of CRM interactions alone (crm/interactions.jsonl, as `exportInteractions` writes it):
 * bronze.crm_interactions grows by the new batch and silver keeps the latest row per interaction.
 */
export function interactionsPlan(dir: string): IngestPlan {
  const root = resolve(dir);
  const contract = loadDatasetContracts("synthetic").find((c) => c.name === "crm_interactions");
  if (!contract) throw new NotFoundError("contract data/schemas/synthetic/crm_interactions.json");
  const path = requireFile(join(root, contract.file), "interactions file");
  return {
    dataset: "synthetic",
    files: [{ path, deliveredAs: contract.file, contract }],
    derived: [dedupeSilver(contract)],
  };
}

/** Newest delivery folder under <workspace>/deliveries/synthetic (by modification time). */
export function newestSyntheticDelivery(home: string): string {
  const base = join(home, "deliveries", "synthetic");
  const dirs = existsSync(base)
    ? readdirSync(base, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => join(base, e.name))
    : [];
  if (dirs.length === 0) {
    throw new NotFoundError(`synthetic delivery under ${base}`, {
      hint: "Run `telco data generate` first, or pass the delivery folder.",
    });
  }
  const mtime = (d: string) =>
    statSync(existsSync(join(d, "manifest.json")) ? join(d, "manifest.json") : d).mtimeMs;
  return dirs.sort((a, b) => mtime(b) - mtime(a) || b.localeCompare(a))[0];
}

/**
 * A delivery's identity from its manifest.json: generator, seed and parameters. The population
 * (which customers it describes) is generator + seed + customers + start; months, drift and
 * defect rate change what happened to them, not who they are.
 */
export function deliveryIdentity(manifestPath: string): DeliveryIdentity {
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(readFileSync(manifestPath, "utf8")) as Record<string, unknown>;
  } catch (err) {
    throw new ValidationError(manifestPath, `not a readable JSON manifest: ${(err as Error).message}`);
  }
  const params = (m.params ?? {}) as Record<string, unknown>;
  const identity = {
    generator: m.generator ?? null,
    generator_version: m.generator_version ?? null,
    seed: m.seed ?? null,
    customers: params.customers ?? null,
    start: params.start ?? null,
    months: params.months ?? null,
    drift: params.drift ?? null,
    dirty_rate: params.dirty_rate ?? null,
  };
  const population = `${identity.generator ?? "unknown"} seed=${identity.seed} customers=${identity.customers} start=${identity.start}`;
  return { population, identity };
}

export interface SyntheticIngestOptions extends IngestOptions {
  /** Merge a delivery of another population (other seed/size) into the one already ingested. */
  allowMixed?: boolean;
}

/**
 * Ingests a synthetic delivery (default: the newest one in the workspace). A delivery of another
 * population than the one already ingested (different seed, size or start) is refused unless
 * `allowMixed`: overlapping customer ids would silently merge two simulations.
 */
export async function ingestSynthetic(
  app: AppContext,
  dir?: string,
  opts: SyntheticIngestOptions = {},
): Promise<IngestReport> {
  const plan = syntheticPlan(dir ?? newestSyntheticDelivery(app.paths.home));
  const wh = await app.warehouse();
  if (plan.delivery && !opts.allowMixed) {
    const current = plan.delivery.population;
    const others = (await ingestedPopulations(wh, plan.dataset)).filter((p) => p.population !== current);
    if (others.length > 0) {
      const prev = others[others.length - 1];
      throw new ValidationError(
        plan.attachments?.find((a) => a.deliveredAs === "manifest.json")?.path ?? "manifest.json",
        `this delivery is another simulation (${current}) than the one already ingested (${prev.population}, batch ${prev.batchId}); their customers would be mixed`,
        {
          hint: "Use a fresh workspace (TELCO_HOME=…) for the other population, or pass --allow-mixed to merge them on purpose.",
          details: { delivery: plan.delivery.identity, ingested: others.map((o) => o.identity) },
        },
      );
    }
  }
  // BigQuery: raw files to Cloud Storage, load jobs into bronze (rejects to bronze._quarantine).
  if (loadsInWarehouse(wh)) return ingestPlanInWarehouse(wh, app.lake(), plan, opts);
  return runIngestion(app, plan, opts);
}

export interface CsvIngestOptions extends IngestOptions {
  name: string;
  target: string;
  id?: string;
  positive?: string;
  /** Folder for the frozen contract (default: config data.schemasDir, else <workspace>/schemas). */
  contractDir?: string;
}

/**
 * Schemas folder for user contracts: --contract-dir, else config data.schemasDir (relative to the
 * working directory), else <workspace>/schemas — state stays in the workspace unless asked.
 */
export function userSchemasDir(app: AppContext, contractDir?: string): string {
  const dir = contractDir ?? app.config.data.schemasDir;
  return dir ? resolve(dir) : join(app.paths.home, "schemas");
}

/** Name of the generated row id column for a CSV without an id column (not clashing with the header). */
export function rowIdColumn(header: string[]): string {
  const taken = new Set(header.map((h) => snake(h)));
  let name = "row_id";
  while (taken.has(name)) name = `_${name}`;
  return name;
}

/**
 * A user CSV: the first ingest infers and freezes a contract in <schemasDir>/<name>/<name>.json;
 * later ingests are checked against that frozen contract. Builds silver.<snake(name)> (conformed
 * snake_case names, deduplicated on the id) and gold.<snake(name)>_training.
 */
export async function csvPlan(
  app: AppContext,
  file: string,
  opts: CsvIngestOptions,
): Promise<IngestPlan & { frozen: string; inferred: boolean }> {
  checkDatasetName(opts.name);
  const path = requireFile(file, "CSV file");
  const schemasDir = userSchemasDir(app, opts.contractDir);
  const contractPath = userContractPath(schemasDir, opts.name);
  let contract: DataContract;
  let inferred = false;
  if (existsSync(contractPath)) {
    contract = readContract(contractPath);
    if (contract.training && contract.training.target !== opts.target) {
      throw new UsageError(
        `--target ${opts.target} differs from the frozen contract's target ${contract.training.target} (${contractPath})`,
      );
    }
    if (
      contract.training &&
      opts.positive !== undefined &&
      !positiveSpellings(contract.training).includes(opts.positive.trim().toLowerCase())
    ) {
      throw new UsageError(
        `--positive ${opts.positive} differs from the frozen contract's positive value ${contract.training.positive} (${contractPath})`,
      );
    }
    if (opts.id !== undefined && contract.primaryKey[0] !== opts.id) {
      throw new UsageError(
        `--id ${opts.id} differs from the frozen contract's id ${contract.primaryKey[0]} (${contractPath})`,
      );
    }
  } else {
    const clash = ["synthetic", "ibm-telco"]
      .flatMap((d) => loadDatasetContracts(d, SHIPPED_SCHEMAS_DIR))
      .find((c) => c.name === snake(opts.name));
    if (clash)
      throw new UsageError(
        `--name ${opts.name} would clash with table ${clash.name} of dataset ${clash.dataset}`,
      );
    const head = readHead(path, 64 * 1024);
    const firstLine = head.replace(/^\uFEFF/, "").split(/\r?\n/)[0] ?? "";
    const delimiter = sniffDelimiter(firstLine);
    const header = parseCsvRecord(firstLine, delimiter);
    const id = opts.id ?? header.find((h) => /^(customer[ _-]?id|id)$/i.test(h.trim()));
    const wh = await app.warehouse();
    // Run the scan first so an empty/non-UTF-8 file fails with the same message as later ingests.
    const scan = await scanFile(path, { format: "csv", delimiter });
    const infer = {
      path,
      header,
      delimiter,
      name: opts.name,
      target: opts.target,
      id,
      rowId: id ? undefined : rowIdColumn(header),
      positive: opts.positive,
    };
    // BigQuery: the file is loaded into a staging table and its values counted there
    contract = loadsInWarehouse(wh)
      ? await inferCsvContractInWarehouse(wh, app.lake(), infer)
      : await inferCsvContract(wh, { ...infer, maxRecordBytes: scan.maxRecordBytes });
    inferred = true;
  }
  const training = contract.training;
  if (!training) throw new ValidationError(contractPath, "the contract has no training.target");
  const aliases = conformedNames([
    ...(contract.rowId ? [contract.rowId] : []),
    ...contract.columns.map((c) => c.name),
  ]);
  const table = contract.name;
  const idCol = contract.primaryKey[0];
  const features = contract.columns
    .map((c) => c.name)
    .filter((n) => n !== idCol && n !== training.target)
    .map((n) => ident(aliases.get(n) as string));
  if (features.length === 0)
    throw new ValidationError(opts.name, "the file has no feature columns besides id and target");
  return {
    dataset: opts.name,
    files: [{ path, deliveredAs: basename(path), contract }],
    derived: [
      dedupeSilver(contract, (n) => aliases.get(n) as string),
      {
        table: `gold.${table}_training`,
        inputs: [`silver.${table}`],
        sql: (rel) =>
          renderSql("gold", "csv_training", {
            id: ident(aliases.get(idCol) as string),
            target: ident(aliases.get(training.target) as string),
            positive: positiveSpellings(training).map(lit).join(", "),
            features: features.join(", "),
            silver: rel[`silver.${table}`],
          }),
      },
    ],
    frozen: contractPath,
    inferred,
  };
}

export interface CsvIngestReport extends IngestReport {
  /** Where the frozen contract is. */
  contract: string;
  contractInferred: boolean;
  /** The id column, or the generated row id ("<file name>:<line>") when the file has none. */
  id: { column: string; generated: boolean };
  /** The target, the spellings counted as churn, and gold's label counts after this ingest. */
  labels: { target: string; positive: string[]; positives: number; negatives: number };
  /** Columns read as numbers with a decimal comma ("126,76"). */
  decimalComma: string[];
}

/** Ingests a user CSV; the inferred contract is frozen only after the ingest succeeded. */
export async function ingestCsv(
  app: AppContext,
  file: string,
  opts: CsvIngestOptions,
): Promise<CsvIngestReport> {
  const plan = await csvPlan(app, file, opts);
  const bigquery = loadsInWarehouse(await app.warehouse());
  const report = bigquery ? await ingestCsvInWarehouse(app, plan, opts) : await runIngestion(app, plan, opts);
  const contract = plan.files[0].contract;
  if (plan.inferred) freezeContract(plan.frozen, contract);
  const training = contract.training as NonNullable<DataContract["training"]>;
  const wh = await app.warehouse();
  const [counts] = await wh.query<{ pos: number | null; n: number }>(
    // contract names are lower_snake_case: BigQuery takes them bare (its dataset prefixing needs them so)
    `SELECT sum(label) AS pos, count(*) AS n FROM gold.${bigquery ? `${contract.name}_training` : ident(`${contract.name}_training`)}`,
  );
  const positives = Number(counts?.pos ?? 0);
  return {
    ...report,
    contract: plan.frozen,
    contractInferred: plan.inferred,
    id: { column: contract.primaryKey[0], generated: contract.rowId !== undefined },
    labels: {
      target: training.target,
      positive: positiveSpellings(training),
      positives,
      negatives: Number(counts?.n ?? 0) - positives,
    },
    decimalComma: contract.columns.filter((c) => c.decimal === ",").map((c) => c.name),
  };
}

/**
 * A user CSV on BigQuery: raw → bronze → silver by load jobs (columns renamed to their conformed
 * snake_case names, as local silver has them), then gold.<name>_training rendered for BigQuery.
 */
async function ingestCsvInWarehouse(
  app: AppContext,
  plan: IngestPlan,
  opts: CsvIngestOptions,
): Promise<IngestReport> {
  const wh = await app.warehouse();
  const report = await ingestPlanInWarehouse(wh, app.lake(), plan, opts);
  const contract = plan.files[0].contract;
  // built whenever silver was (also when every file was skipped: a re-run heals a failed build)
  if (!report.tables.some((t) => t.table === `silver.${contract.name}`)) return report;
  const training = contract.training as NonNullable<DataContract["training"]>;
  const aliases = conformedNames([
    ...(contract.rowId ? [contract.rowId] : []),
    ...contract.columns.map((c) => c.name),
  ]);
  const idCol = contract.primaryKey[0];
  const q = bigqueryIdent;
  const gold = `gold.${contract.name}_training`;
  const select = renderSql(
    "gold",
    "csv_training",
    {
      // silver has the conformed names already (the load renamed the columns)
      id: q(aliases.get(idCol) as string),
      target: q(aliases.get(training.target) as string),
      positive: positiveSpellings(training).map(lit).join(", "),
      features: contract.columns
        .map((c) => c.name)
        .filter((n) => n !== idCol && n !== training.target)
        .map((n) => q(aliases.get(n) as string))
        .join(", "),
      silver: `silver.${contract.name}`,
    },
    sqlDialect("bigquery"),
  );
  opts.onProgress?.(`build ${gold}`);
  await wh.exec(sqlDialect("bigquery").createTableAs(gold, select, { clusterBy: ["customer_id"] }));
  const v = await contentVersion(wh, gold);
  const silver = report.tables.find((t) => t.table === `silver.${contract.name}`);
  await recordDatasetVersion(wh, {
    table: gold,
    version: v.version,
    layer: "gold",
    rowCount: v.rows,
    contractVersion: null,
    sourceFiles: [],
    parents: silver ? [`${silver.table}@${silver.version}`] : [],
    batchId: report.batchId,
    location: `warehouse:${gold}`,
  });
  return { ...report, tables: [...report.tables, { table: gold, version: v.version, rows: v.rows }] };
}

function readHead(path: string, bytes: number): string {
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.alloc(bytes);
    const n = readSync(fd, buf, 0, bytes, 0);
    return buf.subarray(0, n).toString("utf8");
  } finally {
    closeSync(fd);
  }
}

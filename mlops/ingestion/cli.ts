import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import pc from "picocolors";
import { action, commandGroup, intOption } from "../../platform/cli/runtime.ts";
import type { AppContext } from "../../platform/context.ts";
import { errorMessage, NotFoundError, TelcoError, UsageError } from "../../platform/errors.ts";
import type { Row } from "../../platform/ports/warehouse.ts";
import type { IngestReport } from "./ingest.ts";
import { exportInteractions } from "./interactions.ts";
import {
  type CsvIngestReport,
  ingestCsv,
  ingestIbmTelco,
  ingestPlan,
  ingestSynthetic,
  interactionsPlan,
} from "./sources.ts";
import { type DatasetVersion, datasetLineage, type LineageNode, listDatasetVersions } from "./versions.ts";

/** `telco data ingest …`, `telco data versions|lineage` and the top-level `telco sql`. */
export function registerIngestionCommands(program: Command): void {
  const data = commandGroup(program, "data", "data platform: generate, ingest, inspect");
  const ingest = commandGroup(
    data,
    "ingest",
    "load files raw → bronze → silver → gold (checked against data contracts)",
  );

  ingest
    .command("synthetic")
    .description(
      "ingest a synthetic operator delivery (default: the newest under <workspace>/deliveries/synthetic)",
    )
    .argument("[dir]", "delivery folder (with manifest.json, crm/, billing/, …)")
    .option(
      "--allow-mixed",
      "merge a delivery of another simulation (other seed, size or start) into the population already ingested",
    )
    .action(
      action(async (rt, dir: string | undefined, opts: { allowMixed?: boolean }) => {
        const app = rt.app();
        const progress = rt.progress("ingest synthetic");
        const report = await ingestSynthetic(app, dir, {
          onProgress: (s) => progress.step(s),
          allowMixed: opts.allowMixed === true,
        });
        progress.done();
        for (const w of report.warnings) rt.warn(w);
        rt.result(report, () => renderIngest(report));
      }),
    );

  ingest
    .command("interactions")
    .description(
      "export the CRM's interactions (assistant conversations, offers accepted) from the operator systems and ingest them as silver.crm_interactions",
    )
    .argument(
      "[dir]",
      "an exported folder with crm/interactions.jsonl (default: export from the systems now)",
    )
    .action(
      action(async (rt, dir: string | undefined) => {
        const app = rt.app();
        let folder = dir;
        if (!folder) {
          const systems = await app.operator();
          const businessDate = await systems.businessDate();
          const stamp = new Date().toISOString().replace(/[-:]/g, "").slice(0, 15);
          folder = join(app.paths.home, "deliveries", "crm-interactions", `${businessDate}-${stamp}`);
          const exported = await exportInteractions(systems.crm, folder, { businessDate });
          if (exported.rows === 0) {
            rt.result(
              { exported: 0, ingested: null },
              () => "no interactions registered yet: nothing to ingest",
            );
            return;
          }
          rt.info(`exported ${exported.rows} interactions (${systems.mode} systems) → ${exported.file}`);
        }
        const progress = rt.progress("ingest interactions");
        const report = await ingestPlan(app, interactionsPlan(folder), {
          onProgress: (s) => progress.step(s),
        });
        progress.done();
        for (const w of report.warnings) rt.warn(w);
        rt.result(report, () => renderIngest(report));
      }),
    );

  ingest
    .command("ibm-telco")
    .description(
      "ingest the IBM Telco Customer Churn CSV into bronze/silver.ibm_telco and gold.ibm_telco_training",
    )
    .argument("<file>", "path to telco-customer-churn.csv")
    .action(
      action(async (rt, file: string) => {
        const progress = rt.progress("ingest ibm-telco");
        const report = await ingestIbmTelco(rt.app(), file, { onProgress: (s) => progress.step(s) });
        progress.done();
        for (const w of report.warnings) rt.warn(w);
        rt.result(report, () => renderIngest(report));
      }),
    );

  ingest
    .command("csv")
    .description("ingest any churn CSV: infer and freeze its contract on first use, then validate against it")
    .argument("<file>", "CSV file with one row per customer")
    .requiredOption(
      "--name <name>",
      "dataset name (tables <name>, gold.<name>_training; contract <contract-dir>/<name>/)",
    )
    .requiredOption("--target <column>", "label column (churned or not)")
    .option(
      "--id <column>",
      'customer id column (default: a column named id or customer_id; none: a row id "<file>:<line>")',
    )
    .option(
      "--positive <value>",
      "value of the target meaning churn, any case (default: guessed from yes/no, true/false, sim/não, 1/0, y/n)",
    )
    .option(
      "--contract-dir <dir>",
      "folder for the frozen contract, e.g. data/schemas to version it in git (default: <workspace>/schemas)",
    )
    .action(
      action(
        async (
          rt,
          file: string,
          opts: { name: string; target: string; id?: string; positive?: string; contractDir?: string },
        ) => {
          const progress = rt.progress(`ingest ${opts.name}`);
          const report = await ingestCsv(rt.app(), file, { ...opts, onProgress: (s) => progress.step(s) });
          progress.done();
          for (const w of report.warnings) rt.warn(w);
          rt.result(report, () => renderCsvIngest(report));
        },
      ),
    );

  data
    .command("versions")
    .description("list dataset versions (content hashes) recorded in meta.dataset_versions")
    .argument("[table]", "one table, e.g. gold.ibm_telco_training (default: every table's versions)")
    .action(
      action(async (rt, table: string | undefined) => {
        const wh = await openReadOnly(rt.app());
        const versions = await listDatasetVersions(wh, table);
        rt.result(versions, () => renderVersions(versions));
      }),
    );

  data
    .command("lineage")
    .description("walk a table's version back through silver and bronze to the raw files it came from")
    .argument("<table>", "e.g. gold.ibm_telco_training")
    .option("--version <hash>", "a specific version (default: the latest)")
    .action(
      action(async (rt, table: string, opts: { version?: string }) => {
        const wh = await openReadOnly(rt.app());
        const tree = await datasetLineage(wh, table, opts.version);
        rt.result(tree, () => renderLineage(tree));
      }),
    );

  program
    .command("sql")
    .description("run a read-only SQL query on the warehouse (schemas bronze, silver, gold, meta)")
    .argument("<query>", 'e.g. "select count(*) from silver.ibm_telco"')
    .option("--limit <n>", "rows to print in table output (JSON prints all)", intOption("--limit", 1), 100)
    .action(
      action(async (rt, query: string, opts: { limit: number }) => {
        assertReadOnlySql(query);
        const wh = await openReadOnly(rt.app());
        const rows = await wh.query(query);
        rt.result(rows, () => renderTable(rows, opts.limit));
      }),
    );
}

const READ_ONLY_START =
  /^(select|with|show|describe|desc|explain|summarize|from|values|table|pragma\s+(table_info|show|database_list|version))\b/i;

/**
 * `telco sql` refuses anything but queries: the first keyword must be a read statement and only
 * one statement is allowed. The warehouse is also opened read-only, so this is the friendly
 * first line, not the only one.
 */
export function assertReadOnlySql(query: string): void {
  const body = stripSqlComments(query).trim().replace(/;\s*$/, "");
  if (!body) throw new UsageError("the query is empty");
  if (!READ_ONLY_START.test(body)) {
    throw new UsageError(
      "telco sql runs read-only queries only (SELECT, WITH, SHOW, DESCRIBE, EXPLAIN, SUMMARIZE)",
      {
        hint: "Data changes go through `telco data ingest …`.",
      },
    );
  }
  if (stripSqlStrings(body).includes(";")) throw new UsageError("telco sql runs one statement at a time");
}

function stripSqlComments(sql: string): string {
  return sql.replace(/--[^\n]*/g, " ").replace(/\/\*[\s\S]*?\*\//g, " ");
}

function stripSqlStrings(sql: string): string {
  return sql.replace(/'(?:[^']|'')*'/g, "''").replace(/"(?:[^"]|"")*"/g, '""');
}

async function openReadOnly(app: AppContext) {
  if (app.config.profile === "local" && !existsSync(app.paths.warehouse)) {
    throw new NotFoundError(`warehouse ${app.paths.warehouse}`, {
      hint: "Ingest data first: `telco data ingest ibm-telco FILE` or `telco data ingest synthetic`.",
    });
  }
  try {
    return await app.warehouse({ readOnly: true });
  } catch (err) {
    // A TelcoError already says what is wrong (a lock held by a named process, a missing GCP project).
    if (err instanceof TelcoError) throw err;
    throw new TelcoError(
      "warehouse_unavailable",
      `cannot open the warehouse read-only: ${errorMessage(err)}`,
    );
  }
}

/** The human rendering of an ingestion report (local bronze stage or BigQuery load jobs). */
export function renderIngest(r: IngestReport & { quarantine?: string }): string {
  const lines = [`${pc.bold(r.dataset)} batch ${r.batchId} (${r.seconds.toFixed(1)} s)`];
  if (r.delivery) lines.push(`  delivery: ${r.delivery.population}`);
  // BigQuery's rejects are in its quarantine table
  const rejected = r.quarantine ? "quarantined" : "rejected";
  for (const f of r.files) {
    const reasons = Object.entries(f.rejectReasons)
      .map(([k, n]) => `${k}: ${n}`)
      .join(", ");
    lines.push(
      f.status === "skipped"
        ? `  ${f.file} → ${f.table}: ${pc.dim("skipped (already ingested)")}`
        : `  ${f.file} → ${f.table}: ${f.rows} rows, ${f.rejects ? pc.yellow(`${f.rejects} ${rejected}`) : `0 ${rejected}`}${reasons ? ` (${reasons})` : ""}`,
    );
  }
  if (r.rejects > 0 && r.quarantine)
    lines.push(`  quarantined rows with their reason and record: telco sql "${r.quarantine}"`);
  else if (r.rejects > 0)
    lines.push(
      `  rejected rows with file, line and reason: telco sql "select * from bronze.rejects where batch_id = '${r.batchId}'"`,
    );
  for (const t of r.tables)
    lines.push(`  ${t.table.padEnd(36)} ${String(t.rows).padStart(10)} rows  version ${t.version}`);
  return lines.join("\n");
}

export function renderCsvIngest(r: CsvIngestReport): string {
  const lines = [renderIngest(r)];
  lines.push(`  contract ${r.contractInferred ? "inferred and frozen in" : "checked against"} ${r.contract}`);
  if (r.id.generated)
    lines.push(
      `  no id column: each row's id (${r.id.column}) is "<file name>:<line>", stable for this file and line; pass --id COLUMN if the file has one`,
    );
  if (r.decimalComma.length > 0) lines.push(`  decimal comma read as numbers: ${r.decimalComma.join(", ")}`);
  const total = r.labels.positives + r.labels.negatives;
  const share = total > 0 ? ` (${((100 * r.labels.positives) / total).toFixed(1)}% churn)` : "";
  lines.push(
    `  labels (${r.labels.target} in ${r.labels.positive.join("/")}, any case): ${r.labels.positives} churned, ${r.labels.negatives} not${share}`,
  );
  return lines.join("\n");
}

function renderVersions(versions: DatasetVersion[]): string {
  if (versions.length === 0) return "no dataset versions recorded yet";
  return renderTable(
    versions.map((v) => ({
      table: v.table,
      version: v.version,
      rows: v.rowCount,
      contract: v.contractVersion ?? "",
      created_at: v.createdAt,
      parents: v.parents.length,
    })),
    10_000,
  );
}

function renderLineage(root: LineageNode): string {
  const lines: string[] = [];
  const walk = (n: LineageNode, prefix: string, last: boolean, top: boolean) => {
    const label = `${n.table}@${n.version} ${pc.dim(`[${n.layer}${n.rowCount === null ? "" : `, ${n.rowCount} rows`}]`)}${n.delivery ? pc.dim(` delivery ${n.delivery.population}`) : ""}`;
    lines.push(top ? label : `${prefix}${last ? "└─ " : "├─ "}${label}`);
    const next = top ? "" : `${prefix}${last ? "   " : "│  "}`;
    n.parents.forEach((p, i) => {
      walk(p, next, i === n.parents.length - 1, false);
    });
  };
  walk(root, "", true, true);
  return lines.join("\n");
}

/** Plain text table for people; long cells are cut at 40 characters. */
export function renderTable(rows: Row[], limit: number): string {
  if (rows.length === 0) return "(0 rows)";
  const cols = Object.keys(rows[0]);
  const shown = rows.slice(0, limit);
  const cell = (v: unknown): string => {
    const s =
      v === null || v === undefined
        ? "NULL"
        : v instanceof Date
          ? v.toISOString()
          : typeof v === "object"
            ? JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x))
            : String(v);
    const flat = s.replace(/\s+/g, " ");
    return flat.length > 40 ? `${flat.slice(0, 39)}…` : flat;
  };
  const cells = shown.map((r) => cols.map((c) => cell(r[c])));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i].length)));
  const fmt = (vals: string[]) =>
    vals
      .map((v, i) => v.padEnd(widths[i]))
      .join("  ")
      .trimEnd();
  const out = [fmt(cols), widths.map((w) => "─".repeat(w)).join("  "), ...cells.map(fmt)];
  out.push(
    rows.length > limit
      ? `(${rows.length} rows, ${limit} shown; --limit or --json for more)`
      : `(${rows.length} row${rows.length === 1 ? "" : "s"})`,
  );
  return out.join("\n");
}

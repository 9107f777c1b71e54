import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { ValidationError } from "../../platform/errors.ts";
import type { Lake } from "../../platform/ports/lake.ts";
import type { Warehouse } from "../../platform/ports/warehouse.ts";
import { sqlDialect } from "../../platform/sql/dialect.ts";
import { type DataContract, dataContractSchema } from "./contract.ts";
import { checkInferColumns, contractFromInference, type InferCsvOptions, inferenceSql } from "./contracts.ts";
import { bigqueryIdent, conformedNames, snake } from "./sql.ts";
import { loadJsonl } from "./warehouse-ingest.ts";

/**
 * Contract inference for a user CSV when the warehouse loads files itself (BigQuery under the gcp
 * profile): the file's JSONL copy (every header column as text, see `loadJsonl`) goes to a staging
 * prefix in Cloud Storage, one load job fills a STRING staging table, and the same counting queries
 * the local path runs on DuckDB (`inferenceSql`) run in BigQuery with its SAFE_CAST, so the frozen
 * contract is one BigQuery's bronze checks accept. The staging table and objects are removed
 * whatever happens; nothing is published.
 */
export async function inferCsvContractInWarehouse(
  wh: Warehouse,
  lake: Lake,
  opts: InferCsvOptions,
): Promise<DataContract> {
  checkInferColumns(opts);
  const loadFiles = wh.loadFiles?.bind(wh);
  if (!loadFiles) throw new ValidationError("warehouse", `the ${wh.dialect} warehouse cannot run load jobs`);
  const seen = new Set<string>();
  for (const h of opts.header) {
    if (h.trim() === "") throw new ValidationError(opts.path, "the header has an empty column name");
    if (seen.has(h)) throw new ValidationError(opts.path, `the header repeats column "${h}"`);
    seen.add(h);
  }
  // Every header column as a nullable text column: what the file holds, before any contract.
  const asText: DataContract = dataContractSchema.parse({
    name: snake(opts.name),
    version: 1,
    dataset: opts.name,
    source: "csv",
    format: "csv",
    file: basename(opts.path),
    primaryKey: [opts.header[0]],
    columns: opts.header.map((name) => ({ name, type: "string", nullable: true })),
    ...(opts.delimiter === "," ? {} : { delimiter: opts.delimiter }),
  });
  const names = conformedNames(opts.header);
  const batchId = `infer_${Date.now()}_${randomBytes(3).toString("hex")}`;
  const prefix = `raw/${opts.name}/_staging/${batchId}/`;
  const work = mkdtempSync(join(tmpdir(), "telco-infer-"));
  let cleanup: string[] = [];
  try {
    const jsonl = join(work, `${basename(opts.path)}.jsonl`);
    await loadJsonl(opts.path, asText, basename(opts.path), jsonl);
    const key = `${prefix}${basename(opts.path)}.jsonl`;
    await lake.putFile(jsonl, key);
    const staged = await loadFiles(
      {
        name: `infer_${asText.name}`,
        format: "jsonl",
        primaryKey: [],
        columns: opts.header.map((h) => ({ name: names.get(h) as string, type: "string", nullable: true })),
      },
      {
        uris: [lake.uri(key)],
        batchId,
        ingestedAt: new Date().toISOString().replace("T", " ").replace("Z", ""),
        lines: true,
        deferPublish: true,
      },
    );
    cleanup = staged.publish?.cleanup ?? [];
    const sql = inferenceSql(
      staged.staging,
      opts.header.map((h) => bigqueryIdent(names.get(h) as string)),
      opts.header.indexOf(opts.target),
      sqlDialect(wh.dialect),
    );
    const [stats] = await wh.query<Record<string, unknown>>(sql.stats);
    const targets = await wh.query<{ v: string }>(sql.targets);
    return contractFromInference(
      opts,
      stats ?? {},
      targets.map((r) => String(r.v)),
    );
  } finally {
    for (const s of cleanup) await wh.exec(s).catch(() => {});
    await lake.deletePrefix(prefix).catch(() => {});
    rmSync(work, { recursive: true, force: true });
  }
}

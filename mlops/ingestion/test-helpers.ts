import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { DuckDbWarehouse } from "../../platform/adapters/local/duckdb-warehouse.ts";
import type { Row } from "../../platform/ports/warehouse.ts";
import { type BronzeResult, stageBronze } from "./bronze.ts";
import { type DataContract, dataContractSchema } from "./contract.ts";
import { scanFile } from "./scan.ts";

/** Test support for the ingestion tests (not used by production code). */

/** The IBM Telco CSV: ../shared/data beside the repo (CI), else /work/shared/data; fails loudly if absent. */
export function ibmTelcoPath(): string {
  const candidates = [
    resolve(import.meta.dirname, "../../../shared/data/telco-customer-churn.csv"),
    "/work/shared/data/telco-customer-churn.csv",
  ];
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      `IBM Telco file not found (looked in ${candidates.join(", ")}); the ingestion tests need shared/data beside the repo`,
    );
  }
  return found;
}

export function tempDir(prefix = "telco-ingest-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A small contract with defaults filled in; `columns` are partial column specs. */
export function testContract(
  columns: Partial<DataContract["columns"][number]>[],
  extra: Partial<DataContract> = {},
): DataContract {
  return dataContractSchema.parse({
    name: "t",
    version: 1,
    dataset: "test",
    source: "test",
    format: "csv",
    file: "t.csv",
    primaryKey: [columns[0]?.name ?? "id"],
    columns: columns.map((c) => ({ type: "string", ...c })),
    ...extra,
  });
}

export interface BronzeRun {
  result: BronzeResult;
  rows: Row[];
  rejects: Row[];
}

/** Writes `content` to a file and runs the bronze stage on it with an in-memory DuckDB. */
export async function runBronze(
  contract: DataContract,
  content: string | Buffer,
  fileName = "t.csv",
  shared?: DuckDbWarehouse,
  opts: { typedRead?: boolean } = {},
): Promise<BronzeRun> {
  const dir = tempDir();
  const path = join(dir, fileName);
  writeFileSync(path, content);
  const staging = join(dir, "staging");
  mkdirSync(staging);
  const wh = shared ?? (await DuckDbWarehouse.open(":memory:"));
  try {
    const scan = await scanFile(path, { format: contract.format, delimiter: contract.delimiter });
    const result = await stageBronze(wh, {
      contract,
      scan,
      deliveredAs: fileName,
      batchId: "b1",
      ingestedAt: new Date("2026-01-02T03:04:05Z"),
      stagingDir: staging,
      typedRead: opts.typedRead,
    });
    const rows = await wh.query(`SELECT * FROM read_parquet('${result.bronzeFile}') ORDER BY _line`);
    const rejects = result.rejectsFile
      ? await wh.query(`SELECT * FROM read_parquet('${result.rejectsFile}') ORDER BY line`)
      : [];
    return { result, rows, rejects };
  } finally {
    if (!shared) await wh.close();
  }
}

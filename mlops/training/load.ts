import { createHash } from "node:crypto";
import { NotFoundError, ValidationError } from "../../platform/errors.ts";
import type { Warehouse } from "../../platform/ports/warehouse.ts";
import { datasetFromRows, type FeatureSpec, type TabularDataset } from "./dataset.ts";

/**
 * Reads a training dataset from the warehouse. A dataset NAME is the gold table
 * `gold.<snake(NAME)>_training` with columns customer_id, label (0/1), optional cutoff_date,
 * and features (VARCHAR/BOOLEAN → categorical, numeric → numeric; other types are skipped).
 */

/** "ibm-telco" → "ibm_telco": lower snake case, as table names are built. */
export function snakeName(name: string): string {
  return name
    .trim()
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "");
}

/** The gold table holding a training dataset. */
export function trainingTableName(dataset: string): string {
  const snake = snakeName(dataset);
  if (!snake) throw new ValidationError("dataset", `"${dataset}" is not a usable dataset name`);
  return `gold.${snake}_training`;
}

const NUMERIC_TYPE =
  /^(TINYINT|SMALLINT|INTEGER|INT|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|REAL|DOUBLE|INT64|FLOAT64|NUMERIC|BIGNUMERIC|DECIMAL)(\(.*\))?$/i;
const CATEGORICAL_TYPE = /^(VARCHAR|TEXT|STRING|BOOLEAN|BOOL)(\(.*\))?$/i;
const RESERVED = new Set(["customer_id", "label", "cutoff_date"]);

export interface LoadedTrainingData {
  table: string;
  data: TabularDataset;
  /** customer_id per row (the grouping key of splits). */
  groups: string[];
  /** cutoff_date per row as ISO date, when the table has one. */
  cutoffs?: string[];
  /** Feature columns left out because their type is neither numeric nor categorical. */
  skipped: { column: string; type: string }[];
  /** sha256 of the table's content in a canonical row order (first 16 hex chars). */
  contentHash: string;
}

/** The commands that build gold.<dataset>_training, for the dataset names the CLI knows. */
export function trainingTableHint(dataset: string): string {
  if (dataset === "synthetic")
    return "Build it with `telco up --no-serve`, or `telco data ingest synthetic` then `telco features dataset`.";
  if (dataset === "ibm-telco" || dataset === "ibm")
    return "Ingest the IBM Telco CSV first: `telco data ingest ibm-telco FILE`, then `telco train --dataset ibm-telco`.";
  return `Ingest your CSV first: \`telco data ingest csv FILE --name ${dataset} --target COLUMN\`; \`telco data versions\` lists what exists.`;
}

/** Loads `gold.<snake(NAME)>_training` into a TabularDataset, checking the agreed shape. */
export async function loadTrainingData(warehouse: Warehouse, dataset: string): Promise<LoadedTrainingData> {
  const table = trainingTableName(dataset);
  const [schema, name] = table.split(".");
  const columns = await warehouse.query<{ column_name: string; data_type: string }>(
    "select column_name, data_type from information_schema.columns where table_schema = ? and table_name = ? order by ordinal_position",
    [schema, name],
  );
  if (columns.length === 0) {
    throw new NotFoundError(`training table ${table}`, {
      hint: trainingTableHint(dataset),
    });
  }
  const names = new Set(columns.map((c) => c.column_name));
  for (const required of ["customer_id", "label"]) {
    if (!names.has(required)) {
      throw new ValidationError(`${table}.${required}`, "required column is missing", {
        hint: "Training tables have customer_id, label (0/1), optional cutoff_date, then feature columns.",
      });
    }
  }
  const specs: FeatureSpec[] = [];
  const skipped: { column: string; type: string }[] = [];
  for (const c of columns) {
    if (RESERVED.has(c.column_name)) continue;
    if (NUMERIC_TYPE.test(c.data_type)) specs.push({ name: c.column_name, kind: "numeric" });
    else if (CATEGORICAL_TYPE.test(c.data_type)) specs.push({ name: c.column_name, kind: "categorical" });
    else skipped.push({ column: c.column_name, type: c.data_type });
  }
  if (specs.length === 0) throw new ValidationError(table, "has no numeric or categorical feature columns");
  const hasCutoff = names.has("cutoff_date");
  // A total order over every column: the same content always yields the same rows in the same
  // order, so splits are reproducible and the content hash is stable.
  const quoted = columns.map((c) => `"${c.column_name.replaceAll('"', '""')}"`);
  const order = [
    '"customer_id"',
    ...(hasCutoff ? ['"cutoff_date"'] : []),
    ...quoted.filter((q) => q !== '"customer_id"' && q !== '"cutoff_date"'),
  ];
  const rows = await warehouse.query(
    `select ${quoted.join(", ")} from ${table} order by ${order.join(", ")}`,
  );
  if (rows.length === 0) throw new ValidationError(table, "is empty");
  const hash = createHash("sha256");
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    const label = r.label;
    const asNumber = typeof label === "boolean" ? Number(label) : Number(label);
    if (label === null || label === undefined || (asNumber !== 0 && asNumber !== 1)) {
      throw new ValidationError(
        `${table}.label`,
        `row ${i + 1} (customer_id ${String(r.customer_id)}) has label ${String(label)}; expected 0 or 1`,
      );
    }
    r.label = asNumber;
    hash.update(JSON.stringify(r, (_k, v) => (typeof v === "bigint" ? v.toString() : v)));
    hash.update("\n");
  }
  const data = datasetFromRows(rows, specs, { label: "label", positive: 1, id: "customer_id" });
  const groups = data.ids as string[];
  const result: LoadedTrainingData = {
    table,
    data,
    groups,
    skipped,
    contentHash: hash.digest("hex").slice(0, 16),
  };
  if (hasCutoff) {
    result.cutoffs = rows.map((r) => {
      const v = r.cutoff_date;
      return v instanceof Date
        ? v.toISOString().slice(0, 10)
        : v === null || v === undefined
          ? ""
          : String(v);
    });
  }
  return result;
}

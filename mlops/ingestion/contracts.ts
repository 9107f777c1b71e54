import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { UsageError, ValidationError } from "../../platform/errors.ts";
import type { Warehouse } from "../../platform/ports/warehouse.ts";
import { duckdbDialect, type SqlDialect } from "../../platform/sql/dialect.ts";
import { type ColumnType, type ContractColumn, type DataContract, dataContractSchema } from "./contract.ts";
import { ident, lit, snake } from "./sql.ts";

/** Contracts shipped with the repository (synthetic operator, IBM Telco). */
export const SHIPPED_SCHEMAS_DIR = resolve(import.meta.dirname, "../../data/schemas");

/** Parses one contract file; errors name the file and the offending field. */
export function readContract(path: string): DataContract {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new ValidationError(path, `not a readable JSON contract: ${(err as Error).message}`);
  }
  const parsed = dataContractSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ValidationError(`${path}:${issue?.path.join(".") ?? ""}`, issue?.message ?? "invalid contract");
  }
  const contract = parsed.data;
  const names = new Set(contract.columns.map((c) => c.name));
  if (contract.rowId) names.add(contract.rowId);
  for (const key of contract.primaryKey) {
    if (!names.has(key)) throw new ValidationError(`${path}:primaryKey`, `"${key}" is not a column`);
  }
  return contract;
}

/** Every contract of a dataset folder (data/schemas/<dataset>/*.json), sorted by name. */
export function loadDatasetContracts(dataset: string, schemasDir = SHIPPED_SCHEMAS_DIR): DataContract[] {
  const dir = join(schemasDir, dataset);
  if (!existsSync(dir)) throw new ValidationError(dataset, `no contracts folder ${dir}`);
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => readContract(join(dir, f)));
}

/** Path of a user dataset's frozen contract: <schemasDir>/<name>/<name>.json. */
export function userContractPath(schemasDir: string, name: string): string {
  return join(schemasDir, name, `${name}.json`);
}

/** Validates a user dataset name (used as folder, contract and table name). */
export function checkDatasetName(name: string): void {
  if (!/^[A-Za-z][A-Za-z0-9_-]{0,62}$/.test(name)) {
    throw new UsageError(
      `--name must start with a letter and use only letters, digits, - and _ (got "${name}")`,
    );
  }
  if (["synthetic", "ibm-telco", "ibm_telco", "meta", "rejects"].includes(name.toLowerCase())) {
    throw new UsageError(`--name "${name}" is reserved; choose another name`);
  }
}

/** Writes a contract atomically (tmp + rename) so a crash never leaves half a JSON file. */
export function freezeContract(path: string, contract: DataContract): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(contract, null, 2)}\n`);
  renameSync(tmp, path);
}

/** What contract inference needs to know besides the file's values. */
export interface InferCsvOptions {
  path: string;
  header: string[];
  delimiter: string;
  name: string;
  target: string;
  /** The id column; absent: a generated row id (`rowId`) from the file name and line. */
  id: string | undefined;
  rowId?: string;
  positive: string | undefined;
}

/** Refuses --target / --id naming a column the header lacks. */
export function checkInferColumns(opts: InferCsvOptions): void {
  for (const [col, flag] of [
    [opts.target, "--target"],
    [opts.id, "--id"],
  ] as const) {
    if (col !== undefined && !opts.header.includes(col)) {
      throw new ValidationError(
        flag,
        `column "${col}" not found in the header of ${basename(opts.path)} (${opts.header.join(", ")})`,
      );
    }
  }
}

/**
 * The two queries inference runs over a relation of text columns (`cols`, quoted, in header order):
 * per column, how many non-blank values fail each cast (integer → number → decimal-comma number →
 * boolean → date → timestamp), and the target's distinct values. Rendered through `dialect`, so the
 * casts are the warehouse's own (DuckDB's TRY_CAST locally, BigQuery's SAFE_CAST on gcp) and the
 * contract inferred is one the same warehouse's bronze checks accept.
 */
export function inferenceSql(
  relation: string,
  cols: string[],
  targetIdx: number,
  dialect: SqlDialect,
): { stats: string; targets: string } {
  const checks = cols.flatMap((c, i) => {
    const b = `nullif(trim(${c}), '')`;
    // The same value with a decimal comma turned into a point ("126,76" → 126.76).
    const d = `replace(${b}, ',', '.')`;
    const k = `k${i}`;
    const fails = (cond: string) => dialect.countIf(`${b} is not null and (${cond})`);
    return [
      `count(${b}) AS ${k}_n`,
      `${fails(`${dialect.safeCast(b, "integer")} is null or ${dialect.safeCast(b, "number")} <> ${dialect.safeCast(b, "integer")}`)} AS ${k}_int`,
      `${fails(`${dialect.safeCast(b, "number")} is null`)} AS ${k}_num`,
      `${fails(`not ${dialect.fullMatch(b, "[+-]?[0-9]*,[0-9]+|[+-]?[0-9]+")} or ${dialect.safeCast(d, "number")} is null`)} AS ${k}_dcomma`,
      `${fails(`${dialect.safeCast(b, "boolean")} is null`)} AS ${k}_bool`,
      `${fails(`${dialect.safeCast(b, "date")} is null`)} AS ${k}_date`,
      `${fails(`${dialect.safeCast(b, "timestamp")} is null`)} AS ${k}_ts`,
    ];
  });
  const target = cols[targetIdx];
  return {
    stats: `SELECT ${checks.join(", ")} FROM ${relation}`,
    targets: `SELECT DISTINCT trim(${target}) AS v FROM ${relation} WHERE trim(${target}) <> '' ORDER BY 1 LIMIT 50`,
  };
}

/** The contract from inference's counts (see `inferenceSql`) and the target's values. */
export function contractFromInference(
  opts: InferCsvOptions,
  stats: Record<string, unknown>,
  targetValues: string[],
): DataContract {
  const { header } = opts;
  const label = resolvePositive(targetValues, opts.target, opts.positive);
  const columns: ContractColumn[] = header.map((name, i) => {
    const k = `k${i}`;
    const n = Number(stats[`${k}_n`]);
    const isKey = name === opts.id || name === opts.target;
    let type: ColumnType = "string";
    let decimal: "," | undefined;
    if (name !== opts.target && n > 0) {
      if (Number(stats[`${k}_int`]) === 0) type = "integer";
      else if (Number(stats[`${k}_num`]) === 0) type = "number";
      else if (opts.delimiter !== "," && Number(stats[`${k}_dcomma`]) === 0 && name !== opts.id) {
        type = "number";
        decimal = ",";
      } else if (Number(stats[`${k}_bool`]) === 0) type = "boolean";
      else if (Number(stats[`${k}_date`]) === 0) type = "date";
      else if (Number(stats[`${k}_ts`]) === 0) type = "timestamp";
    }
    return {
      name,
      type,
      description: `inferred from ${basename(opts.path)}${decimal ? " (decimal comma)" : ""}`,
      required: true,
      nullable: !isKey,
      pii: false,
      ...(decimal ? { decimal } : {}),
    };
  });
  const id = opts.id ?? opts.rowId;
  if (!id) throw new UsageError("no id column and no generated row id");
  return dataContractSchema.parse({
    name: snake(opts.name),
    version: 1,
    dataset: opts.name,
    source: "csv",
    format: "csv",
    file: basename(opts.path),
    description: `User CSV dataset "${opts.name}", contract inferred on first ingest and frozen.${
      opts.id ? "" : ` No id column: ${id} is generated as "<file name>:<line>" (stable per file and line).`
    }`,
    primaryKey: [id],
    ...(opts.id ? {} : { rowId: id }),
    columns,
    ...(opts.delimiter === "," ? {} : { delimiter: opts.delimiter }),
    training: { target: opts.target, ...label },
  });
}

/**
 * Infers a contract from a CSV the first time a user dataset is ingested, reading the file with
 * the local warehouse (DuckDB). Types are chosen so that every non-blank value of the column passes
 * the same TRY_CAST the bronze check uses (integer → number → boolean → date → timestamp → string),
 * so the file that froze the contract always validates against it. Non-key columns are nullable
 * (future files may have gaps); the id and target are not. The target is kept as a string (its
 * positive value is text). BigQuery's twin is mlops/ingestion/warehouse-infer.ts.
 */
export async function inferCsvContract(
  wh: Warehouse,
  opts: InferCsvOptions & {
    /** Longest record in bytes (from the scan), to size DuckDB's line buffer. */
    maxRecordBytes: number;
  },
): Promise<DataContract> {
  checkInferColumns(opts);
  const cols = opts.header.map((_, i) => `c${i}`);
  const colSpec = cols.map((c) => `${lit(c)}: 'VARCHAR'`).join(", ");
  const maxLine = Math.max(2 * 1024 * 1024, opts.maxRecordBytes + 1024);
  const sizes = `max_line_size=${maxLine}, buffer_size=${Math.max(16 * 1024 * 1024, 2 * maxLine)}`;
  const relation = `read_csv(${lit(opts.path)}, header=true, auto_detect=false, delim=${lit(opts.delimiter)}, quote='"', escape='"', columns={${colSpec}}, null_padding=true, parallel=false, strict_mode=false, ${sizes})`;
  const sql = inferenceSql(relation, cols.map(ident), opts.header.indexOf(opts.target), duckdbDialect);
  const [stats] = await wh.query<Record<string, number>>(sql.stats);
  const targetValues = await wh.query<{ v: string }>(sql.targets);
  return contractFromInference(
    opts,
    stats,
    targetValues.map((r) => r.v),
  );
}

/** Spellings of a boolean, compared lower-cased and trimmed (en, pt-BR, digits, letters). */
const BOOLEAN_SPELLINGS = {
  positive: ["true", "yes", "sim", "1", "y", "s", "t"],
  negative: ["false", "no", "não", "nao", "0", "n", "f"],
};
/** Words that name churn on a two-valued target that is not a boolean. */
const CHURN_WORDS = ["churn", "churned", "churner", "left", "cancelled", "canceled", "cancelado"];

const norm = (v: string) => v.trim().toLowerCase();

/**
 * The positive label of the target and every spelling of it. A boolean-like target (any mix of
 * true/false, yes/no, sim/não, 1/0, y/n in any case) counts every positive spelling; otherwise
 * --positive (or a churn word on a two-valued target) is matched case-insensitively. Fails when
 * the target's values cannot be split into churn / no churn without a guess.
 */
export function resolvePositive(
  values: string[],
  target: string,
  positive: string | undefined,
): { positive: string; positiveValues: string[] } {
  const distinct = [...new Set(values.map(norm))];
  const shown = values.slice(0, 10).join(", ");
  const booleanLike =
    distinct.length >= 1 &&
    distinct.every((v) => BOOLEAN_SPELLINGS.positive.includes(v) || BOOLEAN_SPELLINGS.negative.includes(v));
  if (positive !== undefined) {
    const p = norm(positive);
    if (!distinct.includes(p)) {
      throw new ValidationError(
        "--positive",
        `value "${positive}" never occurs in column ${target}, in any case (values: ${shown})`,
      );
    }
    if (booleanLike) {
      const side = BOOLEAN_SPELLINGS.positive.includes(p) ? "positive" : "negative";
      return { positive, positiveValues: [...BOOLEAN_SPELLINGS[side]] };
    }
    // A boolean target with stray values ("yes", "no", "maybe"): counting the strays as "no churn"
    // would mislabel them silently, so name them instead.
    const isBool = (v: string) =>
      BOOLEAN_SPELLINGS.positive.includes(v) || BOOLEAN_SPELLINGS.negative.includes(v);
    const strays = distinct.filter((v) => !isBool(v));
    if (isBool(p) && distinct.some((v) => isBool(v) && v !== p) && strays.length > 0) {
      throw new ValidationError(
        "--positive",
        `column ${target} holds yes/no values and also ${strays.map((v) => `"${v}"`).join(", ")}, which would silently count as no churn; fix or remove those rows, or map them to a yes/no spelling`,
      );
    }
    return { positive, positiveValues: [p] };
  }
  if (booleanLike && distinct.some((v) => BOOLEAN_SPELLINGS.positive.includes(v))) {
    const spelled = values.find((v) => BOOLEAN_SPELLINGS.positive.includes(norm(v))) as string;
    return { positive: spelled, positiveValues: [...BOOLEAN_SPELLINGS.positive] };
  }
  if (distinct.length === 2) {
    const hit = distinct.find((v) => CHURN_WORDS.includes(v));
    if (hit) return { positive: values.find((v) => norm(v) === hit) as string, positiveValues: [hit] };
  }
  throw new UsageError(
    `cannot tell which value of ${target} means churn (values: ${shown}); pass --positive VALUE`,
  );
}

/** Picks the positive label for a two-valued target (Yes/No, true/false, 1/0); otherwise asks for --positive. */
export function guessPositive(values: string[], target: string): string {
  return resolvePositive(values, target, undefined).positive;
}

/** Spellings counted as positive by a contract's training section (lower-cased, trimmed). */
export function positiveSpellings(training: NonNullable<DataContract["training"]>): string[] {
  return training.positiveValues ?? [norm(training.positive)];
}

/** Picks the CSV delimiter from the header line: the most frequent of , ; tab |. */
export function sniffDelimiter(headerLine: string): string {
  let best = ",";
  let bestCount = 0;
  for (const d of [",", ";", "\t", "|"]) {
    const count = headerLine.split(d).length - 1;
    if (count > bestCount) {
      best = d;
      bestCount = count;
    }
  }
  return best;
}

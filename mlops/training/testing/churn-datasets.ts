import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Warehouse } from "../../../platform/ports/warehouse.ts";
import type { CategoricalColumn, FeatureColumn, NumericColumn, TabularDataset } from "../dataset.ts";
import type { LoadedTrainingData } from "../load.ts";
import { seededRandom } from "../random.ts";

/**
 * Generated churn-like datasets with a known structure, for the `auto` preset's tests and the
 * `bench:train --quality` test bed. Deterministic for a seed, no IO.
 *
 * - `interactionChurnData`: shaped like the public ~3,300-row telecom churn file (state, usage minutes
 *   and charges by period, international and voice-mail plans, service calls) plus a plan tier. The
 *   label comes from usage × plan rules: total minutes over the tier's allowance, or an unlimited plan
 *   barely used, without a voice-mail plan; an international plan with heavy or very light
 *   international use; many service calls with low daytime use. Additive models fall far short
 *   (logistic regression ≈ 0.79 CV AUC against ≈ 0.90 for boosted trees).
 * - `linearChurnData`: additive log-odds in a few numeric and categorical features plus pure-noise
 *   columns and some missing values; deep trees only add variance here.
 */

export interface GeneratedChurnOptions {
  rows?: number;
  seed?: number;
}

type Random = () => number;

function normal(random: Random): number {
  const u = Math.max(random(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

function poisson(random: Random, mean: number): number {
  const limit = Math.exp(-mean);
  let k = 0;
  let p = random();
  while (p > limit) {
    k++;
    p *= random();
  }
  return k;
}

const clip = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
const round2 = (v: number) => Math.round(v * 100) / 100;
const round1 = (v: number) => Math.round(v * 10) / 10;
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

class Columns {
  readonly features: FeatureColumn[] = [];
  readonly rows: number;
  constructor(rows: number) {
    this.rows = rows;
  }
  numeric(name: string): Float64Array {
    const col: NumericColumn = { name, kind: "numeric", values: new Float64Array(this.rows) };
    this.features.push(col);
    return col.values;
  }
  categorical(name: string, categories: string[]): Int32Array {
    const col: CategoricalColumn = {
      name,
      kind: "categorical",
      codes: new Int32Array(this.rows),
      categories,
    };
    this.features.push(col);
    return col.codes;
  }
}

function finish(table: string, prefix: string, cols: Columns, label: Uint8Array): LoadedTrainingData {
  const n = cols.rows;
  const ids = Array.from({ length: n }, (_, i) => `${prefix}-${String(i + 1).padStart(6, "0")}`);
  const data: TabularDataset = { nRows: n, features: cols.features, label, ids };
  const hash = createHash("sha256");
  for (const f of cols.features) {
    hash.update(f.name);
    hash.update(f.kind === "numeric" ? new Uint8Array(f.values.buffer) : new Uint8Array(f.codes.buffer));
  }
  hash.update(label);
  return { table, data, groups: ids, skipped: [], contentHash: hash.digest("hex").slice(0, 16) };
}

const US_STATES =
  "AK AL AR AZ CA CO CT DC DE FL GA HI IA ID IL IN KS KY LA MA MD ME MI MN MO MS MT NC ND NE NH NJ NM NV NY OH OK OR PA RI SC SD TN TX UT VA VT WA WI WV WY".split(
    " ",
  );
/** States with somewhat higher churn (a weak main effect, as in the public file). */
const RISKY_STATES = new Set(["CA", "NJ", "TX", "MD", "SC", "MI"]);

/** Usage scale and monthly minutes allowance of each plan (basic, plus, unlimited). */
const TIER_USAGE = [0.86, 1.03, 1.2];
const TIER_ALLOWANCE = [600, 720, Number.POSITIVE_INFINITY];

/**
 * Telecom usage data whose churn signal lies mostly in usage × plan interactions (default 3,333 rows,
 * ≈ 14% churners, like the public file it imitates).
 */
export function interactionChurnData(opts: GeneratedChurnOptions = {}): LoadedTrainingData {
  const n = opts.rows ?? 3333;
  const random = seededRandom(opts.seed ?? 2024);
  const c = new Columns(n);
  const state = c.categorical("state", US_STATES);
  const accountLength = c.numeric("account_length");
  const areaCode = c.categorical("area_code", ["408", "415", "510"]);
  const planTier = c.categorical("plan", ["basic", "plus", "unlimited"]);
  const intlPlan = c.categorical("international_plan", ["no", "yes"]);
  const vmailPlan = c.categorical("voice_mail_plan", ["no", "yes"]);
  const vmailMessages = c.numeric("number_vmail_messages");
  const dayMin = c.numeric("total_day_minutes");
  const dayCalls = c.numeric("total_day_calls");
  const dayCharge = c.numeric("total_day_charge");
  const eveMin = c.numeric("total_eve_minutes");
  const eveCalls = c.numeric("total_eve_calls");
  const eveCharge = c.numeric("total_eve_charge");
  const nightMin = c.numeric("total_night_minutes");
  const nightCalls = c.numeric("total_night_calls");
  const nightCharge = c.numeric("total_night_charge");
  const intlMin = c.numeric("total_intl_minutes");
  const intlCalls = c.numeric("total_intl_calls");
  const intlCharge = c.numeric("total_intl_charge");
  const serviceCalls = c.numeric("customer_service_calls");
  const label = new Uint8Array(n);
  const calls = () => Math.round(clip(100 + 20 * normal(random), 0, 170));
  for (let i = 0; i < n; i++) {
    state[i] = Math.floor(random() * US_STATES.length);
    accountLength[i] = Math.round(clip(101 + 40 * normal(random), 1, 243));
    areaCode[i] = random() < 0.5 ? 1 : random() < 0.5 ? 0 : 2;
    const u = random();
    planTier[i] = u < 0.45 ? 0 : u < 0.85 ? 1 : 2;
    const scale = TIER_USAGE[planTier[i]];
    intlPlan[i] = random() < 0.097 ? 1 : 0;
    vmailPlan[i] = random() < 0.277 ? 1 : 0;
    vmailMessages[i] = vmailPlan[i] ? Math.round(clip(29 + 7.5 * normal(random), 1, 51)) : 0;
    dayMin[i] = round1(clip(scale * (179.8 + 54.5 * normal(random)), 0, 420));
    dayCalls[i] = calls();
    dayCharge[i] = round2(dayMin[i] * 0.17);
    eveMin[i] = round1(clip(scale * (201 + 50.7 * normal(random)), 0, 440));
    eveCalls[i] = calls();
    eveCharge[i] = round2(eveMin[i] * 0.085);
    nightMin[i] = round1(clip(scale * (200.9 + 50.6 * normal(random)), 23, 470));
    nightCalls[i] = calls();
    nightCharge[i] = round2(nightMin[i] * 0.045);
    intlMin[i] = round1(clip(10.24 + 2.79 * normal(random), 0, 20));
    intlCalls[i] = poisson(random, 4.48);
    intlCharge[i] = round2(intlMin[i] * 0.27);
    serviceCalls[i] = poisson(random, 1.56);

    // Churn: plan × usage rules, each with its own strength, plus a weak state effect.
    let p = 0.02;
    // Minutes over the plan's allowance (overage charges) drive churn, unless the voice-mail plan holds them.
    const total = dayMin[i] + eveMin[i] + nightMin[i];
    const over = total > TIER_ALLOWANCE[planTier[i]];
    // Paying for a big plan while using little of it drives churn too (unlimited below 520 minutes).
    const under = planTier[i] === 2 && total < 520 && eveMin[i] < 200;
    if (intlPlan[i] === 1) p = intlMin[i] > 13 || intlCalls[i] < 3 ? 0.95 : 0.06;
    else if (over) p = vmailPlan[i] === 1 ? 0.1 : 0.88;
    else if (under) p = vmailPlan[i] === 1 ? 0.1 : 0.8;
    if (serviceCalls[i] >= 4) p = Math.max(p, dayMin[i] < 165 ? 0.85 : 0.12);
    if (RISKY_STATES.has(US_STATES[state[i]])) p = sigmoid(Math.log(p / (1 - p)) + 0.4);
    label[i] = random() < p ? 1 : 0;
  }
  return finish("generated.interaction_churn", "INT", c, label);
}

/**
 * Churn data with additive (linear log-odds) signal: tenure, charges, tickets, usage, contract,
 * payment method and paperless billing, plus six pure-noise numeric and two noise categorical
 * columns; 5% of the usage values are missing (default 5,000 rows, ≈ 25% churners).
 */
export function linearChurnData(opts: GeneratedChurnOptions = {}): LoadedTrainingData {
  const n = opts.rows ?? 5000;
  const random = seededRandom(opts.seed ?? 2025);
  const c = new Columns(n);
  const tenure = c.numeric("tenure_months");
  const monthly = c.numeric("monthly_charge");
  const tickets = c.numeric("support_tickets");
  const usage = c.numeric("data_usage_gb");
  const age = c.numeric("age");
  const contract = c.categorical("contract", ["monthly", "annual", "two_year"]);
  const payment = c.categorical("payment_method", ["boleto", "pix", "credit_card", "debit"]);
  const paperless = c.categorical("paperless_billing", ["no", "yes"]);
  const noise = Array.from({ length: 6 }, (_, k) => c.numeric(`noise_${k + 1}`));
  const noiseCat = [
    c.categorical("region", ["N", "NE", "CO", "SE", "S"]),
    c.categorical("device", ["android", "ios", "other"]),
  ];
  const label = new Uint8Array(n);
  const contractEffect = [0, -0.9, -1.6];
  const paymentEffect = [0.35, 0, -0.25, -0.1];
  for (let i = 0; i < n; i++) {
    tenure[i] = Math.round(clip(1 + 71 * random() ** 1.3, 1, 72));
    monthly[i] = round2(clip(70 + 25 * normal(random), 18, 150));
    tickets[i] = poisson(random, 1.2);
    const gb = round1(clip(12 + 7 * normal(random), 0, 60));
    usage[i] = random() < 0.05 ? Number.NaN : gb;
    age[i] = Math.round(clip(45 + 14 * normal(random), 18, 90));
    const u = random();
    contract[i] = u < 0.5 ? 0 : u < 0.78 ? 1 : 2;
    payment[i] = Math.floor(random() * 4);
    paperless[i] = random() < 0.6 ? 1 : 0;
    for (const col of noise) col[i] = normal(random);
    for (const col of noiseCat) col[i] = Math.floor(random() * (col === noiseCat[0] ? 5 : 3));
    const z =
      -0.9 -
      0.035 * (tenure[i] - 30) +
      0.018 * (monthly[i] - 70) +
      0.3 * (tickets[i] - 1.2) -
      0.03 * (gb - 12) -
      0.008 * (age[i] - 45) +
      contractEffect[contract[i]] +
      paymentEffect[payment[i]] +
      (paperless[i] ? 0.3 : 0);
    label[i] = random() < sigmoid(z) ? 1 : 0;
  }
  return finish("generated.linear_churn", "LIN", c, label);
}

/**
 * Writes a generated dataset as `gold.<name>_training` (customer_id, label, features; categoricals
 * VARCHAR, numerics DOUBLE) through a CSV file in `dir`, so tests can run `trainChurnModel` on it.
 */
export async function writeTrainingTable(
  warehouse: Warehouse,
  name: string,
  loaded: LoadedTrainingData,
  dir: string,
): Promise<void> {
  const { data, groups } = loaded;
  const label = data.label as Uint8Array;
  const lines = [["customer_id", "label", ...data.features.map((f) => f.name)].join(",")];
  for (let i = 0; i < data.nRows; i++) {
    const cells = data.features.map((f) => {
      if (f.kind === "numeric") return Number.isNaN(f.values[i]) ? "" : String(f.values[i]);
      return f.codes[i] < 0 ? "" : f.categories[f.codes[i]];
    });
    lines.push([groups[i], label[i], ...cells].join(","));
  }
  const file = join(dir, `${name}.csv`);
  writeFileSync(file, `${lines.join("\n")}\n`);
  const select = data.features
    .map(
      (f) =>
        `${f.kind === "numeric" ? `try_cast("${f.name}" as DOUBLE)` : `nullif("${f.name}", '')`} as "${f.name}"`,
    )
    .join(", ");
  await warehouse.exec(`
    create schema if not exists gold;
    create or replace table gold.${name}_training as
    select customer_id, label::INTEGER as label, ${select}
    from read_csv('${file.replaceAll("'", "''")}', header = true, all_varchar = true)
  `);
}

/** Test and script helpers: the IBM Telco CSV loader, synthetic data, stratified folds and ROC-AUC. */
import { readFileSync } from "node:fs";
import { datasetFromRows, type FeatureSpec, type TabularDataset } from "../dataset.ts";
import { findIbmCsv } from "../testing/ibm.ts";
import { mulberry32 } from "./learner.ts";

/** ../shared/data beside the repository (CI), else /work/shared/data. */
export const IBM_TELCO_CSV = findIbmCsv() ?? "/work/shared/data/telco-customer-churn.csv";
const IBM_NUMERIC = new Set(["SeniorCitizen", "tenure", "MonthlyCharges", "TotalCharges"]);

/** Loads the IBM Telco churn file (no quoted fields in it): label Churn = Yes, customerID dropped. */
export function loadIbmTelco(path = IBM_TELCO_CSV): TabularDataset {
  const lines = readFileSync(path, "utf8")
    .split(/\r?\n/)
    .filter((l) => l.length > 0);
  const header = lines[0].split(",");
  const rows = lines.slice(1).map((l) => {
    const cells = l.split(",");
    const row: Record<string, string> = {};
    header.forEach((h, i) => {
      row[h] = cells[i] ?? "";
    });
    return row;
  });
  const specs: FeatureSpec[] = header
    .filter((h) => h !== "customerID" && h !== "Churn")
    .map((name) => ({ name, kind: IBM_NUMERIC.has(name) ? "numeric" : "categorical" }));
  return datasetFromRows(rows, specs, { label: "Churn", positive: "Yes", id: "customerID" });
}

/** Stratified k-fold assignment (deterministic for a seed): fold index per row. */
export function stratifiedFolds(label: Uint8Array, k: number, seed: number): Int32Array {
  const rng = mulberry32(seed);
  const fold = new Int32Array(label.length);
  for (const cls of [0, 1]) {
    const rows: number[] = [];
    for (let i = 0; i < label.length; i++) if (label[i] === cls) rows.push(i);
    for (let i = rows.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [rows[i], rows[j]] = [rows[j], rows[i]];
    }
    rows.forEach((r, i) => {
      fold[r] = i % k;
    });
  }
  return fold;
}

/** ROC-AUC by rank statistic with tie handling. */
export function rocAuc(label: Uint8Array, score: ArrayLike<number>): number {
  const n = label.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => score[a] - score[b]);
  let pos = 0;
  let rankSum = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && score[order[j + 1]] === score[order[i]]) j++;
    const avg = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (label[order[k]] === 1) {
        pos++;
        rankSum += avg;
      }
    }
    i = j + 1;
  }
  const neg = n - pos;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

/**
 * Synthetic numeric matrix with a known signal (for speed measurements and tests): nFeatures numeric
 * columns, ~2% missing, label from a noisy nonlinear score.
 */
export function syntheticMatrix(nRows: number, nFeatures: number, seed = 1): TabularDataset {
  const rng = mulberry32(seed);
  const cols: Float64Array[] = [];
  for (let f = 0; f < nFeatures; f++) {
    const v = new Float64Array(nRows);
    for (let r = 0; r < nRows; r++)
      v[r] = rng() < 0.02 ? Number.NaN : Math.round((rng() * 2 - 1) * 1000) / 100;
    cols.push(v);
  }
  const label = new Uint8Array(nRows);
  for (let r = 0; r < nRows; r++) {
    const x = (f: number) => {
      const v = cols[f % nFeatures][r];
      return Number.isNaN(v) ? 0 : v;
    };
    const s =
      0.8 * x(0) -
      0.5 * x(1) +
      (x(2) > 3 ? 1.5 : 0) +
      0.3 * x(3) * x(4) -
      0.4 * Math.abs(x(5)) +
      (rng() - 0.5) * 4;
    label[r] = s > 0 ? 1 : 0;
  }
  return {
    nRows,
    features: cols.map((values, f) => ({ name: `x${f}`, kind: "numeric" as const, values })),
    label,
  };
}

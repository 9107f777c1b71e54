import { createHash } from "node:crypto";
import { ValidationError } from "../../platform/errors.ts";
import { seededRandom, shuffleInPlace } from "./random.ts";

/**
 * Stratified, seeded, group-aware splits. A "group" is a customer: with several cutoff dates
 * per customer (synthetic data), all of a customer's rows land on the same side, so the test
 * split never contains a customer the model has already seen. Groups are stratified by their
 * label (1 when any of their rows churned).
 */

export interface Split {
  train: Int32Array;
  test: Int32Array;
}

/** Row indices of each group and the group's stratum (max label over its rows). */
function groupRows(label: Uint8Array, groups?: readonly string[]): { rows: number[][]; strata: Uint8Array } {
  const n = label.length;
  if (groups && groups.length !== n) {
    throw new ValidationError("groups", `has ${groups.length} entries but the label has ${n}`);
  }
  const rows: number[][] = [];
  if (!groups) {
    for (let i = 0; i < n; i++) rows.push([i]);
  } else {
    const index = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      let g = index.get(groups[i]);
      if (g === undefined) {
        g = rows.length;
        index.set(groups[i], g);
        rows.push([]);
      }
      rows[g].push(i);
    }
  }
  const strata = new Uint8Array(rows.length);
  for (let g = 0; g < rows.length; g++) {
    for (const i of rows[g]) if (label[i] === 1) strata[g] = 1;
  }
  return { rows, strata };
}

/** Shuffled group ids per stratum (0 then 1), seeded. */
function shuffledStrata(strata: Uint8Array, seed: number): Int32Array[] {
  const random = seededRandom(seed);
  const out: Int32Array[] = [];
  for (const s of [0, 1]) {
    const ids: number[] = [];
    for (let g = 0; g < strata.length; g++) if (strata[g] === s) ids.push(g);
    out.push(shuffleInPlace(Int32Array.from(ids), random));
  }
  return out;
}

function sortedIndex(values: number[]): Int32Array {
  return Int32Array.from(values).sort();
}

/** Stratified train/test split of rows; `testFraction` of each stratum's groups goes to test. */
export function stratifiedSplit(
  label: Uint8Array,
  testFraction: number,
  seed: number,
  groups?: readonly string[],
): Split {
  if (!(testFraction > 0 && testFraction < 1)) {
    throw new ValidationError("testFraction", `must be in (0, 1), got ${testFraction}`);
  }
  const { rows, strata } = groupRows(label, groups);
  const train: number[] = [];
  const test: number[] = [];
  for (const ids of shuffledStrata(strata, seed)) {
    const nTest = Math.round(ids.length * testFraction);
    for (let k = 0; k < ids.length; k++) {
      const target = k < nTest ? test : train;
      for (const i of rows[ids[k]]) target.push(i);
    }
  }
  return { train: sortedIndex(train), test: sortedIndex(test) };
}

/**
 * Stratified K-fold: the fold (0..k-1) of every row. Groups of each stratum are dealt to folds
 * round-robin after a seeded shuffle, so each fold holds ≈1/k of each class.
 */
export function stratifiedKFold(
  label: Uint8Array,
  k: number,
  seed: number,
  groups?: readonly string[],
): Int32Array {
  if (!Number.isInteger(k) || k < 2)
    throw new ValidationError("folds", `must be a whole number ≥ 2, got ${k}`);
  const { rows, strata } = groupRows(label, groups);
  const counts = [0, 0];
  for (let g = 0; g < strata.length; g++) counts[strata[g]]++;
  if (counts[1] < k || counts[0] < k) {
    throw new ValidationError(
      "folds",
      `${k} folds need at least ${k} groups of each class; have ${counts[0]} negative and ${counts[1]} positive`,
      { hint: "Use fewer folds (--cv) or more data." },
    );
  }
  const fold = new Int32Array(label.length);
  let offset = 0;
  for (const ids of shuffledStrata(strata, seed)) {
    // Continue the round-robin across strata so fold sizes stay balanced.
    for (let j = 0; j < ids.length; j++) {
      for (const i of rows[ids[j]]) fold[i] = (j + offset) % k;
    }
    offset = (offset + ids.length) % k;
  }
  return fold;
}

/** Train and validation row indices of one fold. */
export function foldSplit(fold: Int32Array, f: number): Split {
  const train: number[] = [];
  const test: number[] = [];
  for (let i = 0; i < fold.length; i++) (fold[i] === f ? test : train).push(i);
  return { train: Int32Array.from(train), test: Int32Array.from(test) };
}

/** Maps indices relative to a subset back to the full dataset's row indices. */
export function composeIndex(outer: Int32Array, inner: Int32Array): Int32Array {
  const out = new Int32Array(inner.length);
  for (let i = 0; i < inner.length; i++) out[i] = outer[inner[i]];
  return out;
}

/**
 * Identity of a dataset version's held-out rows (the test side of `stratifiedSplit`): the same table
 * version, split seed and test fraction always give the same rows, so two models evaluated on the
 * same ref are comparable. Shared by the training pipeline's evaluate step, `models evaluate` and
 * `models register --run`.
 */
export function evaluationSetRef(
  dataset: string,
  version: string,
  seed: number,
  fraction: number,
): { name: string; version: string } {
  return {
    name: `${dataset}/test`,
    version: createHash("sha256").update(`${version}:${seed}:${fraction}`).digest("hex").slice(0, 16),
  };
}

import { describe, expect, it } from "vitest";
import type { FeatureValue } from "../../platform/ports/online-store.ts";
import { datasetFromRows } from "../training/dataset.ts";
import { mulberry32, trainGbdt } from "../training/gbdt/index.ts";
import {
  prepareReasons,
  reasonsFor,
  ShapCache,
  singleRowDataset,
  singleRowFromVector,
  toDataset,
} from "./scoring.ts";
import { FIXTURE_SPECS, fixtureRows } from "./testing/fixture.ts";

describe("toDataset", () => {
  it("codes rows exactly like datasetFromRows with the model vocabularies (odd values included)", async () => {
    const train = datasetFromRows(fixtureRows(800, 3), FIXTURE_SPECS, { label: "label" });
    const model = await trainGbdt(train, { numTrees: 20 });
    const rng = mulberry32(4);
    const rows: Record<string, unknown>[] = fixtureRows(200, 11);
    // Values a payload or store may carry: numeric strings, blanks, nulls, non-finite, unseen categories.
    const odd = [null, "", " 12 ", "abc", Number.POSITIVE_INFINITY, true, undefined, "enterprise", false];
    for (const r of rows)
      for (const s of FIXTURE_SPECS) if (rng() < 0.15) r[s.name] = odd[Math.floor(rng() * odd.length)];
    const fast = toDataset(model, rows);
    const reference = datasetFromRows(rows, model.features, {
      categories: model.categories as Record<string, string[]>,
    });
    expect(fast.features.map((c) => (c.kind === "numeric" ? [...c.values] : [...c.codes]))).toEqual(
      reference.features.map((c) => (c.kind === "numeric" ? [...c.values] : [...c.codes])),
    );
    expect(model.predictProba(fast)).toEqual(model.predictProba(reference));
    for (const i of [0, 5, 17])
      expect(reasonsFor(model, fast, i, 3, "pt-BR")).toEqual(reasonsFor(model, reference, i, 3, "pt-BR"));
  });
});

/** Odd values a payload or store may carry, sprinkled over fixture rows. */
function oddRows(n: number, seed: number): Record<string, unknown>[] {
  const rng = mulberry32(seed);
  const rows: Record<string, unknown>[] = fixtureRows(n, 11);
  const odd = [null, "", " 12 ", "abc", Number.POSITIVE_INFINITY, true, undefined, "enterprise", false];
  for (const r of rows)
    for (const s of FIXTURE_SPECS) if (rng() < 0.15) r[s.name] = odd[Math.floor(rng() * odd.length)];
  return rows;
}

describe("singleRowDataset", () => {
  it("codes each row like toDataset, reusing one dataset per model", async () => {
    const model = await trainGbdt(datasetFromRows(fixtureRows(800, 3), FIXTURE_SPECS, { label: "label" }), {
      numTrees: 20,
    });
    const rows = oddRows(100, 5);
    const first = singleRowDataset(model, rows[0]);
    for (const r of rows) {
      const one = singleRowDataset(model, r);
      expect(one).toBe(first);
      const ref = toDataset(model, [r]);
      expect(one.features.map((c) => (c.kind === "numeric" ? [...c.values] : [...c.codes]))).toEqual(
        ref.features.map((c) => (c.kind === "numeric" ? [...c.values] : [...c.codes])),
      );
      expect(model.predictProba(one)).toEqual(model.predictProba(ref));
    }
  });

  it("codes a store vector (any name order, extra and absent names) like toDataset of the same row", async () => {
    const model = await trainGbdt(datasetFromRows(fixtureRows(800, 3), FIXTURE_SPECS, { label: "label" }), {
      numTrees: 20,
    });
    const absent = FIXTURE_SPECS[1].name;
    // A load's names: reversed, one model feature missing, one extra feature the model does not use.
    const names = [
      ...FIXTURE_SPECS.map((f) => f.name).filter((n) => n !== absent),
      "extra_feature",
    ].reverse();
    for (const r of oddRows(60, 8)) {
      const values = names.map((n) => (n === "extra_feature" ? 42 : ((r[n] ?? null) as FeatureValue)));
      const one = singleRowFromVector(model, names, values);
      const ref = toDataset(model, [{ ...r, [absent]: null }]);
      expect(one.features.map((c) => (c.kind === "numeric" ? [...c.values] : [...c.codes]))).toEqual(
        ref.features.map((c) => (c.kind === "numeric" ? [...c.values] : [...c.codes])),
      );
      expect(model.predictProba(one)).toEqual(model.predictProba(ref));
    }
  });
});

describe("reasonsFor", () => {
  it("equals the top-k of the model's own sorted explanation: first time, from the SHAP cache, and from the serving tables", async () => {
    const model = await trainGbdt(datasetFromRows(fixtureRows(800, 3), FIXTURE_SPECS, { label: "label" }), {
      numTrees: 30,
    });
    const check = (rows: Record<string, unknown>[], closeTo: boolean) => {
      const data = toDataset(model, rows);
      for (let i = 0; i < rows.length; i++) {
        const sorted = model.explain(data, i).contributions.filter((c) => c.contribution !== 0);
        for (const k of [1, 3, 5]) {
          const got = reasonsFor(model, data, i, k, "en");
          const want = sorted.slice(0, k);
          expect(got.map((r) => [r.feature, r.value, r.direction])).toEqual(
            want.map((c) => [c.feature, c.value, c.contribution > 0 ? "raises_risk" : "lowers_risk"]),
          );
          got.forEach((r, j) => {
            if (closeTo) expect(Math.abs(r.contribution - want[j].contribution)).toBeLessThan(1e-12);
            else expect(r.contribution).toBe(want[j].contribution);
          });
        }
        // One-row datasets (the server's path) give the same reasons as the row inside a batch.
        expect(reasonsFor(model, toDataset(model, [rows[i]]), 0, 3, "pt-BR")).toEqual(
          reasonsFor(model, data, i, 3, "pt-BR"),
        );
      }
    };
    const rows = oddRows(150, 6);
    check(rows, false); // model.shapValues (the serving tables are still being built)
    check(rows, false); // the exact per-row cache
    await prepareReasons(model);
    check(oddRows(150, 7), true); // new rows: the serving block tables (summation order differs)
  });
});

describe("ShapCache", () => {
  const row = (v: number) => Float64Array.from([v, v + 0.5, Number.NaN]);
  const phi = (v: number) => Float64Array.from([v * 10, -v, 0]);

  it("returns φ only for the exact same values (NaN equals NaN), and evicts by CLOCK beyond capacity", () => {
    const cache = new ShapCache(3, 4);
    for (let v = 0; v < 4; v++) cache.set(cache.hash(row(v)), row(v), phi(v));
    for (let v = 0; v < 4; v++)
      expect(Array.from(cache.get(cache.hash(row(v)), row(v)) ?? [])).toEqual(Array.from(phi(v)));
    // All four were read: the hand clears them and takes slot 0 (row 0) for row 4.
    cache.set(cache.hash(row(4)), row(4), phi(4));
    expect(cache.get(cache.hash(row(0)), row(0))).toBeUndefined();
    // Row 2 read again: row 1 (not read since the pass) goes next, row 2 gets a second chance.
    expect(cache.get(cache.hash(row(2)), row(2))).toBeDefined();
    cache.set(cache.hash(row(5)), row(5), phi(5));
    expect(cache.get(cache.hash(row(1)), row(1))).toBeUndefined();
    expect(Array.from(cache.get(cache.hash(row(2)), row(2)) ?? [])).toEqual(Array.from(phi(2)));
    expect(Array.from(cache.get(cache.hash(row(5)), row(5)) ?? [])).toEqual(Array.from(phi(5)));
    expect(Array.from(cache.get(cache.hash(row(4)), row(4)) ?? [])).toEqual(Array.from(phi(4)));
  });

  it("never answers for a different row under the same key, and replaces it", () => {
    const cache = new ShapCache(3, 4);
    cache.set(7, row(1), phi(1));
    expect(cache.get(7, row(2))).toBeUndefined();
    cache.set(7, row(2), phi(2));
    expect(cache.get(7, row(1))).toBeUndefined();
    expect(Array.from(cache.get(7, row(2)) ?? [])).toEqual(Array.from(phi(2)));
    expect(cache.hash(row(1))).toBeLessThan(2 ** 30);
    expect(cache.hash(row(1))).not.toBe(cache.hash(row(2)));
  });
});

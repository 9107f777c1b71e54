import { describe, expect, it } from "vitest";
import { datasetFromRows } from "../training/dataset.ts";
import { mulberry32, trainGbdt } from "../training/gbdt/index.ts";
import { reasonsFor, toDataset } from "./scoring.ts";
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

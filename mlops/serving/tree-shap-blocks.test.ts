import { describe, expect, it } from "vitest";
import { datasetFromRows } from "../training/dataset.ts";
import { mulberry32, trainGbdt } from "../training/gbdt/index.ts";
import { encodeBlock } from "../training/gbdt/tree.ts";
import { toDataset } from "./scoring.ts";
import { FIXTURE_SPECS, fixtureRows } from "./testing/fixture.ts";
import { BlockTreeShap } from "./tree-shap-blocks.ts";

/** Fixture rows with missing, unseen and extreme values sprinkled in. */
function oddRows(n: number, seed: number): Record<string, unknown>[] {
  const rng = mulberry32(seed);
  const rows: Record<string, unknown>[] = fixtureRows(n, seed);
  const odd = [null, "", "abc", Number.POSITIVE_INFINITY, true, "enterprise", false, -1e9, 1e9];
  for (const r of rows)
    for (const s of FIXTURE_SPECS) if (rng() < 0.2) r[s.name] = odd[Math.floor(rng() * odd.length)];
  return rows;
}

describe("BlockTreeShap", () => {
  it.each([
    ["depth 4, 16 leaves (the served shape)", { numTrees: 60, maxDepth: 4, numLeaves: 16 }],
    ["leaf-wise, 15 leaves", { numTrees: 40, numLeaves: 15 }],
    ["deep, 31 leaves", { numTrees: 20, maxDepth: 8, numLeaves: 31 }],
  ])("equals GbdtModel.shapValues (to 1e-12) on odd rows: %s", async (_name, params) => {
    const model = await trainGbdt(
      datasetFromRows(fixtureRows(1500, 3), FIXTURE_SPECS, { label: "label" }),
      params,
    );
    const shap = BlockTreeShap.build(model.trees);
    expect(shap).toBeDefined();
    const data = toDataset(model, oddRows(300, 9));
    const { values } = model.shapValues(data);
    const nF = model.features.length;
    const cols = model.resolve(data);
    const x = new Float64Array(nF);
    let worst = 0;
    for (let r = 0; r < data.nRows; r++) {
      encodeBlock(cols, r, r + 1, x);
      const phi = new Float64Array(nF);
      shap?.explain(x, phi);
      for (let j = 0; j < nF; j++) worst = Math.max(worst, Math.abs(phi[j] - values[r * nF + j]));
    }
    expect(worst).toBeLessThan(1e-12);
  });

  it("declines trees with more than 31 splits (the caller falls back to the model's explainer)", async () => {
    const model = await trainGbdt(datasetFromRows(fixtureRows(3000, 3), FIXTURE_SPECS, { label: "label" }), {
      numTrees: 3,
      maxDepth: 10,
      numLeaves: 64,
    });
    expect(Math.max(...model.trees.map((t) => t.feature.filter((f) => f >= 0).length))).toBeGreaterThan(31);
    expect(BlockTreeShap.build(model.trees)).toBeUndefined();
  });
});

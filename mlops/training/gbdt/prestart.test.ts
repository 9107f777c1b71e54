import { describe, expect, it } from "vitest";
import { trainGbdt } from "./learner.ts";
import { predictStats } from "./model.ts";
import { syntheticMatrix } from "./test-data.ts";

// Its own file: the predict worker is a per-process singleton, so no other test may have started it.
describe("predict worker started by training", () => {
  it("a one-thread or small training run leaves it alone; a multi-threaded run on 50k+ rows starts it", async () => {
    expect(predictStats.workersStarted).toBe(0);
    await trainGbdt(syntheticMatrix(60_000, 4, 2), { numTrees: 2, threads: 1 });
    await trainGbdt(syntheticMatrix(20_000, 4, 2), { numTrees: 2, threads: 2 });
    expect(predictStats.workersStarted).toBe(0);
    const data = syntheticMatrix(60_000, 4, 2);
    const model = await trainGbdt(data, { numTrees: 2, threads: 2 });
    expect(predictStats.workersStarted).toBe(1);
    // The first large prediction uses that worker rather than starting another.
    const p = model.predictProba(data);
    expect(p).toHaveLength(60_000);
    expect(predictStats.workersStarted).toBe(1);
    expect(predictStats.parallelCalls).toBe(1);
  });
});

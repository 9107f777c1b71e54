import { describe, expect, it } from "vitest";
import { datasetFromRows } from "../training/dataset.ts";
import { trainGbdt } from "../training/gbdt/index.ts";
import { encodeBlock } from "../training/gbdt/tree.ts";
import { ExplainThread } from "./explain-thread.ts";
import { type Reason, reasonsFor, reasonsOnThread, singleRowDataset, toDataset } from "./scoring.ts";
import { FIXTURE_SPECS, fixtureRows } from "./testing/fixture.ts";
import { BlockTreeShap } from "./tree-shap-blocks.ts";

async function model() {
  return trainGbdt(datasetFromRows(fixtureRows(1500, 3), FIXTURE_SPECS, { label: "label" }), {
    numTrees: 40,
    maxDepth: 4,
    numLeaves: 16,
  });
}

/**
 * Same reasons; contributions to 1e-12 (reasonsFor may use the model's own TreeSHAP tables while the
 * block tables are built: the same values up to summation order).
 */
function expectSameReasons(got: Reason[], expected: Reason[]) {
  const strip = (rs: Reason[]) => rs.map(({ contribution: _c, ...rest }) => rest);
  expect(strip(got)).toEqual(strip(expected));
  for (let i = 0; i < got.length; i++)
    expect(Math.abs(got[i].contribution - expected[i].contribution)).toBeLessThan(1e-12);
}

/** Polls `explain` until the thread has built the model's tables. */
async function whenReady(thread: ExplainThread, m: Awaited<ReturnType<typeof model>>, x: Float64Array) {
  for (let i = 0; i < 500; i++) {
    const p = thread.explain(m, x);
    if (p) return p;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error("explain thread never became ready");
}

describe("ExplainThread", () => {
  it("returns the same φ as the block tables on this thread, for rows sent together", async () => {
    const m = await model();
    const thread = new ExplainThread();
    try {
      const data = toDataset(m, fixtureRows(50, 11));
      const cols = m.resolve(data);
      const nF = m.features.length;
      const x = new Float64Array(nF);
      encodeBlock(cols, 0, 1, x);
      expect(thread.explain(m, x)).toBeUndefined(); // tables are being built on the thread
      await whenReady(thread, m, x);
      const local = BlockTreeShap.build(m.trees) as BlockTreeShap;
      // Queued in one turn: one message to the thread; the caller's x is copied, so reusing it is safe.
      const pending: Promise<Float64Array>[] = [];
      const expected: Float64Array[] = [];
      for (let r = 0; r < data.nRows; r++) {
        encodeBlock(cols, r, r + 1, x);
        pending.push(thread.explain(m, x) as Promise<Float64Array>);
        const phi = new Float64Array(nF);
        local.explain(x, phi);
        expected.push(phi);
      }
      const got = await Promise.all(pending);
      for (let r = 0; r < data.nRows; r++) expect(Array.from(got[r])).toEqual(Array.from(expected[r]));
    } finally {
      await thread.close();
    }
  });

  it("gives reasonsOnThread the reasons of reasonsFor, though the one-row dataset is reused meanwhile", async () => {
    const m = await model();
    const thread = new ExplainThread();
    try {
      const rows = fixtureRows(40, 21);
      const x = new Float64Array(m.features.length);
      encodeBlock(m.resolve(toDataset(m, rows)), 0, 1, x);
      await whenReady(thread, m, x);
      const pending: { i: number; reasons: ReturnType<typeof reasonsOnThread> }[] = [];
      for (let i = 0; i < rows.length; i++)
        pending.push({ i, reasons: reasonsOnThread(m, singleRowDataset(m, rows[i]), 0, 3, "en", thread) });
      expect(pending.filter((p) => p.reasons instanceof Promise).length).toBeGreaterThan(30);
      for (const p of pending) {
        const expected = reasonsFor(m, toDataset(m, [rows[p.i]]), 0, 3, "en");
        expect(expected).toHaveLength(3);
        expectSameReasons(await p.reasons, expected);
      }
      // Now cached: answered on this thread, no promise.
      const again = reasonsOnThread(m, singleRowDataset(m, rows[5]), 0, 3, "en", thread);
      expect(again).not.toBeInstanceOf(Promise);
      expectSameReasons(again as Reason[], reasonsFor(m, toDataset(m, [rows[5]]), 0, 3, "en"));
    } finally {
      await thread.close();
    }
  });

  it("declines rows past its backpressure limit until answers come back", async () => {
    const m = await model();
    const thread = new ExplainThread({ maxPendingRows: 5 });
    try {
      const x = new Float64Array(m.features.length);
      encodeBlock(m.resolve(toDataset(m, fixtureRows(1, 41))), 0, 1, x);
      await await whenReady(thread, m, x);
      const taken = Array.from({ length: 8 }, () => thread.explain(m, x));
      expect(taken.filter((p) => p !== undefined)).toHaveLength(5);
      const first = await (taken[0] as Promise<Float64Array>);
      for (const p of taken.slice(1, 5))
        expect(Array.from(await (p as Promise<Float64Array>))).toEqual(Array.from(first));
      const again = thread.explain(m, x); // answered: room again
      expect(again).toBeInstanceOf(Promise);
      expect(Array.from(await (again as Promise<Float64Array>))).toEqual(Array.from(first));
    } finally {
      await thread.close();
    }
  });

  it("falls back to this thread once the explain thread is gone", async () => {
    const m = await model();
    const thread = new ExplainThread();
    const rows = fixtureRows(5, 31);
    const x = new Float64Array(m.features.length);
    encodeBlock(m.resolve(toDataset(m, rows)), 0, 1, x);
    await whenReady(thread, m, x);
    await thread.close();
    expect(thread.explain(m, x)).toBeUndefined();
    const r = reasonsOnThread(m, singleRowDataset(m, rows[2]), 0, 3, "pt-BR", thread);
    expect(r).not.toBeInstanceOf(Promise);
    expectSameReasons(r as Reason[], reasonsFor(m, toDataset(m, [rows[2]]), 0, 3, "pt-BR"));
  });
});

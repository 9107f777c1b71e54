import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type OnlineFeatureRow, replaceOnlineStore } from "../../ports/online-store.ts";
import { SqliteOnlineStore } from "./sqlite-online-store.ts";

let dir: string;
let path: string;
const opened: SqliteOnlineStore[] = [];

function open(opts: { readOnly?: boolean } = {}): SqliteOnlineStore {
  const store = SqliteOnlineStore.open(path, opts);
  opened.push(store);
  return store;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "online-store-"));
  path = join(dir, "features", "online.sqlite");
});

afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

const meta1 = {
  featureNames: ["tenure_months", "uf", "has_offer"],
  featureVersion: "v1",
  asOf: "2026-06-01",
};

describe("SqliteOnlineStore", () => {
  it("round-trips typed values, nulls and non-finite numbers", async () => {
    const store = open();
    expect(await store.info()).toBeUndefined();
    const n = await replaceOnlineStore(store, meta1, [
      [
        { customerId: "C1", values: [12, "SP", true] },
        { customerId: "C2", values: [Number.NaN, null, false] },
      ],
      [{ customerId: "C3", values: [0.5, "RJ", null] }],
    ]);
    expect(n).toBe(3);
    expect(await store.get("C1")).toEqual({
      customerId: "C1",
      asOf: "2026-06-01",
      features: { tenure_months: 12, uf: "SP", has_offer: true },
    });
    expect((await store.get("C2"))?.features).toEqual({ tenure_months: null, uf: null, has_offer: false });
    expect(await store.get("nope")).toBeUndefined();
    const vec = store.getVector("C2");
    expect(vec).toMatchObject({ customerId: "C2", asOf: "2026-06-01", values: [null, null, false] });
    expect(vec?.featureNames).toEqual(meta1.featureNames);
    expect(store.getVector("C1")?.featureNames).toBe(vec?.featureNames); // one shared array per load
    expect(store.getVector("nope")).toBeUndefined();
    const many = await store.getMany(["C3", "C1", "missing"]);
    expect([...many.keys()].sort()).toEqual(["C1", "C3"]);
    expect(many.get("C3")?.features.uf).toBe("RJ");
    expect(await store.info()).toMatchObject({
      featureNames: meta1.featureNames,
      featureVersion: "v1",
      rows: 3,
    });
  });

  it("serves the old load until commit, from the same and from another connection", async () => {
    const store = open();
    await replaceOnlineStore(store, meta1, [[{ customerId: "C1", values: [1, "SP", true] }]]);
    const reader = open({ readOnly: true });
    const load = store.beginLoad({ featureNames: ["arpu"], featureVersion: "v2", asOf: "2026-07-01" });
    load.put([
      { customerId: "C1", values: [99.9] },
      { customerId: "C2", values: [10] },
    ]);
    const before = reader.getVector("C1");
    for (const s of [store, reader]) {
      expect((await s.get("C1"))?.features).toEqual({ tenure_months: 1, uf: "SP", has_offer: true });
      expect(await s.get("C2")).toBeUndefined();
      expect((await s.info())?.featureVersion).toBe("v1");
    }
    expect(await load.commit()).toBe(2);
    for (const s of [store, reader]) {
      expect(await s.get("C1")).toEqual({ customerId: "C1", asOf: "2026-07-01", features: { arpu: 99.9 } });
      expect((await s.getMany(["C2"])).get("C2")?.features).toEqual({ arpu: 10 });
      expect(await s.info()).toMatchObject({ featureVersion: "v2", rows: 2 });
      // The vector path sees the new load's names and a new generation too.
      const after = s.getVector("C1");
      expect(after).toMatchObject({ featureNames: ["arpu"], values: [99.9], asOf: "2026-07-01" });
      expect(after?.generation).not.toBe(before?.generation);
    }
  });

  it("keeps the previous load when a load is aborted or its stream fails", async () => {
    const store = open();
    await replaceOnlineStore(store, meta1, [[{ customerId: "C1", values: [1, "SP", true] }]]);
    const load = store.beginLoad(meta1);
    load.put([{ customerId: "C9", values: [9, "BA", false] }]);
    await load.abort();

    async function* failing(): AsyncIterable<OnlineFeatureRow[]> {
      yield [{ customerId: "C8", values: [8, "BA", false] }];
      throw new Error("source broke");
    }
    await expect(replaceOnlineStore(store, meta1, failing())).rejects.toThrow("source broke");
    expect(await store.get("C9")).toBeUndefined();
    expect(await store.get("C8")).toBeUndefined();
    expect((await store.get("C1"))?.features.tenure_months).toBe(1);
    expect((await store.info())?.rows).toBe(1);
  });

  it("rejects rows of the wrong width and duplicate customers, naming the customer", async () => {
    const store = open();
    const load = store.beginLoad(meta1);
    expect(() => load.put([{ customerId: "C1", values: [1] }])).toThrow(/customer C1.*1 feature values/);
    load.put([{ customerId: "C2", values: [1, "SP", true] }]);
    expect(() => load.put([{ customerId: "C2", values: [1, "SP", true] }])).toThrow(/customer C2/);
    await load.abort();
    expect(await store.info()).toBeUndefined();
  });

  it("with read snapshots, a reader sees another connection's load within the snapshot time", async () => {
    const store = open();
    await replaceOnlineStore(store, meta1, [[{ customerId: "C1", values: [1, "SP", true] }]]);
    const reader = open({ readOnly: true });
    reader.setReadSnapshotMs(150);
    store.setReadSnapshotMs(10_000); // a commit through the store itself ends its own snapshot
    expect(reader.getVector("C1")?.values).toEqual([1, "SP", true]);
    expect(store.getVector("C1")?.valuesJson).toBe('[1,"SP",true]');
    await replaceOnlineStore(store, { ...meta1, asOf: "2026-07-01" }, [
      [{ customerId: "C1", values: [2, "RJ", false] }],
    ]);
    expect(store.getVector("C1")?.values).toEqual([2, "RJ", false]);
    // Still inside the reader's snapshot: the previous load, consistently (values, names, as-of).
    expect(reader.getVector("C1")).toMatchObject({ values: [1, "SP", true], asOf: "2026-06-01" });
    expect((await reader.info())?.asOf).toBe("2026-06-01");
    await new Promise((r) => setTimeout(r, 200));
    expect(reader.getVector("C1")).toMatchObject({ values: [2, "RJ", false], asOf: "2026-07-01" });
    reader.setReadSnapshotMs(0);
    await replaceOnlineStore(store, meta1, [[{ customerId: "C1", values: [3, "BA", null] }]]);
    expect((await reader.get("C1"))?.features.tenure_months).toBe(3); // off: every read is current
  });

  it("refuses a read-only open of a store that was never materialized", () => {
    let error: unknown;
    try {
      SqliteOnlineStore.open(join(dir, "none.sqlite"), { readOnly: true });
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ code: "not_found", hint: expect.stringMatching(/materialize/) });
  });
});

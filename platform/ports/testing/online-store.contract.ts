/**
 * The online-store port's contract (platform/ports/online-store.ts), run by every adapter's tests
 * with the same cases. `setup` gives a fresh, empty store and a way to open a second handle on it
 * (another process or connection, as the server's reader is).
 */
import { afterEach, describe, expect, it } from "vitest";
import { type OnlineFeatureRow, type OnlineStore, replaceOnlineStore, syncReads } from "../online-store.ts";

export interface OnlineStoreFixture {
  store: OnlineStore;
  /** Another handle on the same store (a reader). */
  reader(): OnlineStore | Promise<OnlineStore>;
  dispose(): Promise<void>;
}

const META = { featureNames: ["tenure_months", "uf", "has_offer"], featureVersion: "v1", asOf: "2026-06-01" };

export function onlineStoreContract(label: string, setup: () => Promise<OnlineStoreFixture>): void {
  describe(`OnlineStore contract: ${label}`, () => {
    const open: OnlineStoreFixture[] = [];
    const fixture = async () => {
      const f = await setup();
      open.push(f);
      return f;
    };
    afterEach(async () => {
      for (const f of open.splice(0)) await f.dispose();
    });

    it("an empty store has no load and no customers", async () => {
      const { store } = await fixture();
      expect(await store.info()).toBeUndefined();
      expect(await store.get("C1")).toBeUndefined();
      expect((await store.getMany(["C1", "C2"])).size).toBe(0);
    });

    it("serves what a load committed: typed values, nulls, the load's description", async () => {
      const { store } = await fixture();
      const n = await replaceOnlineStore(store, META, [
        [
          { customerId: "C1", values: [12, "SP", true] },
          { customerId: "C2", values: [null, null, false] },
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
      expect(await store.get("unknown")).toBeUndefined();
      const many = await store.getMany(["C3", "C1", "missing"]);
      expect([...many.keys()].sort()).toEqual(["C1", "C3"]);
      expect(many.get("C3")?.features).toEqual({ tenure_months: 0.5, uf: "RJ", has_offer: null });
      const info = await store.info();
      expect(info).toMatchObject({
        featureNames: META.featureNames,
        featureVersion: "v1",
        asOf: "2026-06-01",
        rows: 3,
      });
      expect(Number.isNaN(Date.parse(info?.loadedAt ?? ""))).toBe(false);
    });

    it("keeps serving the previous load until commit, to every reader, and replaces it whole", async () => {
      const f = await fixture();
      await replaceOnlineStore(f.store, META, [[{ customerId: "C1", values: [1, "SP", true] }]]);
      const reader = await f.reader();
      const load = f.store.beginLoad({ featureNames: ["arpu"], featureVersion: "v2", asOf: "2026-07-01" });
      await load.put([{ customerId: "C2", values: [10] }]);
      for (const s of [f.store, reader]) {
        expect((await s.get("C1"))?.features).toEqual({ tenure_months: 1, uf: "SP", has_offer: true });
        expect(await s.get("C2")).toBeUndefined();
        expect((await s.info())?.featureVersion).toBe("v1");
      }
      expect(await load.commit()).toBe(1);
      syncReads(reader)?.setReadSnapshotMs(0);
      for (const s of [f.store, reader]) {
        expect(await s.get("C1")).toBeUndefined(); // not in the new load: gone
        expect(await s.get("C2")).toEqual({ customerId: "C2", asOf: "2026-07-01", features: { arpu: 10 } });
        expect(await s.info()).toMatchObject({ featureNames: ["arpu"], featureVersion: "v2", rows: 1 });
      }
    });

    it("keeps the previous load when a load is aborted or its stream fails", async () => {
      const { store } = await fixture();
      await replaceOnlineStore(store, META, [[{ customerId: "C1", values: [1, "SP", true] }]]);
      const load = store.beginLoad(META);
      await load.put([{ customerId: "C9", values: [9, "BA", false] }]);
      await load.abort();
      async function* failing(): AsyncIterable<OnlineFeatureRow[]> {
        yield [{ customerId: "C8", values: [8, "BA", false] }];
        throw new Error("source broke");
      }
      await expect(replaceOnlineStore(store, META, failing())).rejects.toThrow("source broke");
      expect(await store.get("C9")).toBeUndefined();
      expect(await store.get("C8")).toBeUndefined();
      expect((await store.get("C1"))?.features.tenure_months).toBe(1);
      expect((await store.info())?.rows).toBe(1);
    });

    it("rejects a row whose width differs from the load's feature names, naming the customer", async () => {
      const { store } = await fixture();
      const load = store.beginLoad(META);
      await expect(
        Promise.resolve().then(() => load.put([{ customerId: "C1", values: [1] }])),
      ).rejects.toThrow(/C1/);
      await load.abort();
      expect(await store.info()).toBeUndefined();
    });

    // The optional synchronous capability must give what its fallback (`get`) gives.
    it("synchronous reads, when offered, agree with get and see a commit at once with snapshots off", async () => {
      const { store } = await fixture();
      const fast = syncReads(store);
      if (!fast) return; // no capability: callers use get/getMany, covered by the cases above
      fast.setReadSnapshotMs(0);
      await replaceOnlineStore(store, META, [[{ customerId: "C1", values: [12, "SP", null] }]]);
      const vec = fast.getVector("C1");
      const rec = await store.get("C1");
      expect(vec?.asOf).toBe(rec?.asOf);
      expect(Object.fromEntries(vec?.featureNames.map((n, i) => [n, vec.values[i]]) ?? [])).toEqual(
        rec?.features,
      );
      expect(fast.getVector("unknown")).toBeUndefined();
      await replaceOnlineStore(store, { ...META, asOf: "2026-07-01" }, [
        [{ customerId: "C1", values: [13, "RJ", true] }],
      ]);
      expect(fast.getVector("C1")).toMatchObject({ asOf: "2026-07-01", values: [13, "RJ", true] });
    });
  });
}

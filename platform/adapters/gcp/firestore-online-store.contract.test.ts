import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { replaceOnlineStore } from "../../ports/online-store.ts";
import { onlineStoreContract } from "../../ports/testing/online-store.contract.ts";
import { FirestoreOnlineStore } from "./firestore-online-store.ts";
import { type FakeFirestore, startFakeFirestore } from "./testing/fake-firestore.ts";

let fake: FakeFirestore;
beforeAll(async () => {
  fake = await startFakeFirestore();
});
afterAll(() => fake.close());

let n = 0;
onlineStoreContract("FirestoreOnlineStore (fake Firestore REST API)", async () => {
  const prefix = `t${++n}`; // one store per case, in the same fake database
  const open = () => new FirestoreOnlineStore({ project: "aurora-prod", endpoint: fake.url, prefix });
  return { store: open(), reader: open, dispose: async () => {} };
});

describe("FirestoreOnlineStore on the wire", () => {
  it("writes documents in commit batches, flips the pointer last, and drops the load before the previous", async () => {
    const store = new FirestoreOnlineStore({
      project: "aurora-prod",
      endpoint: fake.url,
      prefix: "wire",
      accessToken: async () => "tok",
    });
    const meta = { featureNames: ["a"], featureVersion: "v1", asOf: "2026-06-01" };
    const from = fake.requests.length;
    await replaceOnlineStore(store, meta, [
      Array.from({ length: 501 }, (_, i) => ({ customerId: `C${i}`, values: [i] })),
    ]);
    const sent = fake.requests.slice(from);
    const commits = sent.filter((r) => r.path.endsWith(":commit"));
    expect(commits.map((c) => (c.body as { writes: unknown[] }).writes.length)).toEqual([500, 1, 1]);
    const last = (commits[2].body as { writes: { update: { name: string } }[] }).writes[0].update.name;
    expect(last).toBe("projects/aurora-prod/databases/(default)/documents/wire/current");
    expect((await store.get("C500"))?.features).toEqual({ a: 500 });
    const collections = () =>
      new Set([...fake.docs.keys()].filter((k) => k.includes("/wire_")).map((k) => k.split("/")[5]));
    await replaceOnlineStore(store, meta, [[{ customerId: "X", values: [1] }]]);
    expect(collections().size).toBe(2); // the previous load stays for readers still on it
    await replaceOnlineStore(store, meta, [[{ customerId: "Y", values: [2] }]]);
    expect(collections().size).toBe(2);
    expect(await store.get("X")).toBeUndefined();
    expect((await store.get("Y"))?.features).toEqual({ a: 2 });
  });

  it("a failed pointer write keeps the previous load served and names the HTTP failure", async () => {
    const store = new FirestoreOnlineStore({ project: "aurora-prod", endpoint: fake.url, prefix: "fail" });
    const meta = { featureNames: ["a"], featureVersion: "v1", asOf: "2026-06-01" };
    await replaceOnlineStore(store, meta, [[{ customerId: "C1", values: [1] }]]);
    const load = store.beginLoad({ ...meta, featureVersion: "v2" });
    await load.put([{ customerId: "C1", values: [2] }]);
    fake.failNextCommit(503);
    await expect(load.commit()).rejects.toThrow(/HTTP 503 commit refused/);
    expect(await store.info()).toMatchObject({ featureVersion: "v1" });
    expect((await store.get("C1"))?.features).toEqual({ a: 1 });
  });
});

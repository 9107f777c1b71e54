import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AliasConflictError, type ModelCard } from "../../ports/registry.ts";
import { GcsModelRegistry } from "./gcs-model-registry.ts";
import { type FakeGcs, startFakeGcs } from "./testing/fake-gcs.ts";

// What the shared contract cannot force: the precondition paths themselves. holdWrites makes two
// writers that read the same generation reach the bucket together, so one of them gets HTTP 412.
const card = (auc: number): ModelCard => ({ metrics: { auc: { value: auc } } });
let gcs: FakeGcs;
let n = 0;
beforeAll(async () => {
  gcs = await startFakeGcs({ bucket: "acme-ml" });
});
afterAll(async () => {
  await gcs.close();
});
const fresh = () => {
  const prefix = `reg-${++n}`;
  return { prefix, r: new GcsModelRegistry({ bucket: "acme-ml", prefix, base: gcs.url }) };
};
const refused = (name: RegExp) => gcs.log.filter((l) => l.status === 412 && name.test(l.name));

describe("GcsModelRegistry on a fake GCS honouring ifGenerationMatch", () => {
  it("two promotions that read the same alias generation: the bucket refuses one (412), it fails as a conflict", async () => {
    const { prefix, r } = fresh();
    for (const auc of [0.7, 0.75, 0.8])
      await r.register({ name: "churn", format: "telco-gbdt", artifact: Buffer.from("{}"), card: card(auc) });
    await r.setAlias("churn", "champion", 1, { action: "promote", reason: "first" });
    const aliasDoc = new RegExp(`^${prefix}/models/churn/aliases\\.json$`);
    gcs.holdWrites(aliasDoc, 2);
    const race = await Promise.allSettled(
      [2, 3].map((v) =>
        r.setAlias("churn", "champion", v, { action: "promote", reason: "race", expected: 1 }),
      ),
    );
    expect(refused(aliasDoc)).toHaveLength(1);
    const lost = race.filter((x) => x.status === "rejected") as PromiseRejectedResult[];
    expect(lost).toHaveLength(1);
    expect(lost[0]?.reason).toBeInstanceOf(AliasConflictError);
    const winner = (race.find((x) => x.status === "fulfilled") as PromiseFulfilledResult<{ to: number }>)
      .value.to;
    expect(await r.aliases("churn")).toEqual({ champion: winner });
    expect((await r.audit("churn")).map((e) => e.to)).toEqual([1, winner]);
  });

  it("an unconditional move that loses the race re-reads and lands after the winner", async () => {
    const { prefix, r } = fresh();
    await r.register({ name: "churn", format: "telco-gbdt", artifact: Buffer.from("{}"), card: card(0.7) });
    const aliasDoc = new RegExp(`^${prefix}/models/churn/aliases\\.json$`);
    gcs.holdWrites(aliasDoc, 2);
    await Promise.all(
      ["champion", "shadow"].map((a) => r.setAlias("churn", a, 1, { action: "force", reason: a })),
    );
    expect(refused(aliasDoc)).toHaveLength(1);
    expect(await r.aliases("churn")).toEqual({ champion: 1, shadow: 1 });
    expect((await r.audit("churn")).map((e) => e.alias).sort()).toEqual(["champion", "shadow"]);
  });

  it("two registrations that pick the same number: create-only refuses one, which takes the next", async () => {
    const { prefix, r } = fresh();
    const record = new RegExp(`^${prefix}/models/churn/versions/\\d+/model\\.json$`);
    gcs.holdWrites(record, 2);
    const made = await Promise.all(
      ['{"a":1}', '{"a":2}'].map((a) =>
        r.register({ name: "churn", format: "telco-gbdt", artifact: Buffer.from(a), card: card(0.7) }),
      ),
    );
    expect(refused(record)).toHaveLength(1);
    expect(made.map((v) => v.version).sort()).toEqual([1, 2]);
    for (const v of made) expect(Buffer.from(await r.readArtifact(v)).toString()).toMatch(/^\{"a":[12]\}$/);
  });

  it("verifies the artifact's sha256 on read", async () => {
    const { prefix, r } = fresh();
    const v = await r.register({
      name: "churn",
      format: "telco-gbdt",
      artifact: Buffer.from("{}"),
      card: card(0.7),
    });
    const key = `${prefix}/models/churn/artifacts/${v.artifact.sha256}.json`;
    const stored = gcs.objects.get(key);
    expect(stored?.bytes.toString()).toBe("{}");
    if (stored) stored.bytes = Buffer.from('{"tampered":true}');
    await expect(r.readArtifact(v)).rejects.toThrow(/does not match its sha256/);
  });

  it("a move whose audit object was never written (crash) is audited by the next read or move", async () => {
    const { prefix, r } = fresh();
    for (const auc of [0.7, 0.75])
      await r.register({ name: "churn", format: "telco-gbdt", artifact: Buffer.from("{}"), card: card(auc) });
    await r.setAlias("churn", "champion", 1, { action: "promote", reason: "first" });
    // The crash: the alias document moved (carrying the event), its audit object is missing.
    gcs.objects.delete(`${prefix}/models/churn/audit/0000000001.json`);
    await r.setAlias("churn", "champion", 2, { action: "promote", reason: "second" });
    expect((await r.audit("churn")).map((e) => [e.from, e.to, e.reason])).toEqual([
      [null, 1, "first"],
      [1, 2, "second"],
    ]);
    gcs.objects.delete(`${prefix}/models/churn/audit/0000000002.json`);
    expect((await r.audit("churn")).map((e) => e.to)).toEqual([1, 2]);
    expect(gcs.objects.has(`${prefix}/models/churn/audit/0000000002.json`)).toBe(true);
  });

  it("keeps the layout it documents under gs://BUCKET/PREFIX/", async () => {
    const { prefix, r } = fresh();
    const v = await r.register({
      name: "churn",
      format: "onnx",
      artifact: Buffer.from("onnx"),
      card: card(0.7),
    });
    await r.setAlias("churn", "champion", 1, { action: "promote", reason: "first" });
    expect(await r.putAttachment("churn", 1, "reference-profile.json", Buffer.from("{}"))).toBe(
      `gs://acme-ml/${prefix}/models/churn/versions/1/reference-profile.json`,
    );
    expect([...gcs.objects.keys()].filter((k) => k.startsWith(`${prefix}/`)).sort()).toEqual([
      `${prefix}/models/churn/aliases.json`,
      `${prefix}/models/churn/artifacts/${v.artifact.sha256}.onnx`,
      `${prefix}/models/churn/audit/0000000001.json`,
      `${prefix}/models/churn/versions/1/model.json`,
      `${prefix}/models/churn/versions/1/reference-profile.json`,
    ]);
    expect(v.artifact.file).toBe("artifact.onnx");
  });

  it("names the bucket and status when Cloud Storage refuses a request", async () => {
    const r = new GcsModelRegistry({ bucket: "no-such-bucket", base: gcs.url });
    await expect(r.listModels()).rejects.toThrow(/HTTP 404.*no-such-bucket/);
  });
});

describe("GcsModelRegistry when Cloud Storage answers 503", () => {
  const quick = (prefix: string) =>
    new GcsModelRegistry({ bucket: "acme-ml", prefix, base: gcs.url, backoffMs: 1 });

  it("retries a read and an upload that were refused", async () => {
    const prefix = `reg-${++n}`;
    const r = quick(prefix);
    gcs.failNext(/versions\/1\/model\.json$/, 503, { method: "POST" });
    const v = await r.register({
      name: "churn",
      format: "telco-gbdt",
      artifact: Buffer.from("{}"),
      card: card(0.7),
    });
    expect(v.version).toBe(1);
    gcs.failNext(/versions\/1\/model\.json$/, 503, { method: "GET" });
    expect(await r.getVersion("churn", 1)).toEqual(v);
  });

  it("a registration whose create landed but whose answer was lost publishes one version, not two", async () => {
    const prefix = `reg-${++n}`;
    const r = quick(prefix);
    gcs.failNext(/versions\/1\/model\.json$/, 503, { afterApply: true, method: "POST" });
    const v = await r.register({
      name: "churn",
      format: "telco-gbdt",
      artifact: Buffer.from("{}"),
      card: card(0.7),
    });
    expect(v.version).toBe(1);
    expect(refused(new RegExp(`^${prefix}/models/churn/versions/1/model\\.json$`))).toHaveLength(1);
    expect((await r.listVersions("churn")).map((x) => x.version)).toEqual([1]);
  });

  it("an alias move whose write landed but whose answer was lost succeeds once, audited once", async () => {
    const prefix = `reg-${++n}`;
    const r = quick(prefix);
    await r.register({ name: "churn", format: "telco-gbdt", artifact: Buffer.from("{}"), card: card(0.7) });
    gcs.failNext(/aliases\.json$/, 503, { afterApply: true, method: "POST" });
    const e = await r.setAlias("churn", "champion", 1, {
      action: "promote",
      reason: "first",
      expected: null,
    });
    expect(e.to).toBe(1);
    expect(refused(new RegExp(`^${prefix}/models/churn/aliases\\.json$`))).toHaveLength(1);
    expect(await r.aliases("churn")).toEqual({ champion: 1 });
    expect((await r.audit("churn")).map((x) => x.reason)).toEqual(["first"]);
  });

  it("gives up after its tries and names the object and status", async () => {
    const r = new GcsModelRegistry({ bucket: "acme-ml", prefix: `reg-${++n}`, base: gcs.url, attempts: 1 });
    gcs.failNext(/models\/churn\/versions\/7\/model\.json$/, 503, { method: "GET" });
    await expect(r.getVersion("churn", 7)).rejects.toThrow(/versions\/7\/model\.json: HTTP 503/);
  });
});

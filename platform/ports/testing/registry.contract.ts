/**
 * The model-registry port's contract (platform/ports/registry.ts), run by every adapter's tests
 * with the same cases. `setup` gives a fresh, empty registry.
 */
import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { NotFoundError, ValidationError } from "../../errors.ts";
import { AliasConflictError, type ModelCard, type WorkspaceModelRegistry } from "../registry.ts";

export interface RegistryFixture {
  registry: WorkspaceModelRegistry;
  dispose(): Promise<void>;
}

const card = (auc: number): ModelCard => ({
  metrics: { auc: { value: auc, ci: { lower: auc - 0.02, upper: auc + 0.02 } } },
  trainingDataset: { name: "churn", version: "d1" },
});

export function registryContract(label: string, setup: () => Promise<RegistryFixture>): void {
  describe(`ModelRegistry contract: ${label}`, () => {
    const open: RegistryFixture[] = [];
    const fixture = async () => {
      const f = await setup();
      open.push(f);
      return f.registry;
    };
    afterEach(async () => {
      for (const f of open.splice(0)) await f.dispose();
    });

    it("numbers versions per model and keeps each one's artifact, card and lineage as published", async () => {
      const r = await fixture();
      expect(await r.listModels()).toEqual([]);
      const bytes = Buffer.from('{"kind":"gbdt","trees":[]}');
      const v1 = await r.register({
        name: "churn",
        format: "telco-gbdt",
        artifact: bytes,
        card: card(0.7),
        lineage: { pipelineRunId: "run-1" },
        description: "first",
      });
      const v2 = await r.register({
        name: "churn",
        format: "telco-gbdt",
        artifact: Buffer.from("{}"),
        card: card(0.8),
      });
      await r.register({
        name: "other",
        format: "telco-logreg",
        artifact: Buffer.from("{}"),
        card: card(0.6),
      });
      expect([v1.version, v2.version]).toEqual([1, 2]);
      expect(v1).toMatchObject({
        name: "churn",
        format: "telco-gbdt",
        card: card(0.7),
        lineage: { pipelineRunId: "run-1" },
        description: "first",
        artifact: { bytes: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") },
      });
      expect(Buffer.from(await r.readArtifact(v1)).toString()).toBe(bytes.toString());
      expect(await r.listModels()).toEqual(["churn", "other"]);
      expect((await r.listVersions("churn")).map((v) => v.version)).toEqual([1, 2]);
      expect(await r.getVersion("churn", 1)).toEqual(v1);
    });

    it("resolves NAME (latest), NAME@N and NAME@alias, and names what is missing", async () => {
      const r = await fixture();
      for (const auc of [0.7, 0.75])
        await r.register({
          name: "churn",
          format: "telco-gbdt",
          artifact: Buffer.from("{}"),
          card: card(auc),
        });
      expect((await r.resolve("churn")).version).toBe(2);
      expect((await r.resolve("churn@1")).card.metrics.auc?.value).toBe(0.7);
      await r.setAlias("churn", "champion", 1, { action: "promote", reason: "first" });
      expect((await r.resolve("churn@champion")).version).toBe(1);
      await expect(r.resolve("churn@nope")).rejects.toThrow(/churn@nope/);
      await expect(r.resolve("churn@9")).rejects.toThrow(/9/);
      await expect(r.resolve("ghost")).rejects.toThrow(/ghost/);
    });

    it("moves aliases with compare-and-set and audits every move in order", async () => {
      const r = await fixture();
      for (const auc of [0.7, 0.75])
        await r.register({
          name: "churn",
          format: "telco-gbdt",
          artifact: Buffer.from("{}"),
          card: card(auc),
        });
      expect(await r.aliases("churn")).toEqual({});
      const first = await r.setAlias("churn", "champion", 1, {
        action: "promote",
        reason: "first",
        expected: null,
      });
      expect(first).toMatchObject({
        model: "churn",
        alias: "champion",
        from: null,
        to: 1,
        action: "promote",
        reason: "first",
      });
      await expect(
        r.setAlias("churn", "champion", 2, { action: "promote", reason: "stale view", expected: null }),
      ).rejects.toBeInstanceOf(AliasConflictError);
      await r.setAlias("churn", "champion", 2, { action: "promote", reason: "better", expected: 1 });
      await r.setAlias("churn", "challenger", 1, { action: "force", reason: "shadow" });
      expect(await r.aliases("churn")).toEqual({ champion: 2, challenger: 1 });
      const audit = await r.audit("churn");
      expect(audit.map((e) => [e.alias, e.from, e.to, e.action])).toEqual([
        ["champion", null, 1, "promote"],
        ["champion", 1, 2, "promote"],
        ["challenger", null, 1, "force"],
      ]);
      expect(audit.every((e) => !Number.isNaN(Date.parse(e.at)) && e.by.length > 0)).toBe(true);
    });

    it("refuses an alias to a version that does not exist", async () => {
      const r = await fixture();
      await r.register({ name: "churn", format: "telco-gbdt", artifact: Buffer.from("{}"), card: card(0.7) });
      await expect(r.setAlias("churn", "champion", 5, { action: "force", reason: "typo" })).rejects.toThrow(
        /5/,
      );
      expect(await r.aliases("churn")).toEqual({});
    });

    it("keeps side files per version: replaced atomically, listed newest first, absent is null", async () => {
      const r = await fixture();
      for (const auc of [0.7, 0.75])
        await r.register({
          name: "churn",
          format: "telco-gbdt",
          artifact: Buffer.from("{}"),
          card: card(auc),
        });
      expect(await r.getAttachment("churn", 1, "reference-profile.json")).toBeNull();
      expect(await r.listAttachments("churn", 1)).toEqual([]);
      const where = await r.putAttachment("churn", 1, "reference-profile.json", Buffer.from('{"v":1}'));
      expect(where).toMatch(/reference-profile\.json$/);
      await r.putAttachment("churn", 1, "evaluations/d2-s1.json", Buffer.from('{"e":2}'));
      await r.putAttachment("churn", 2, "evaluations/d2-s1.json", Buffer.from('{"e":"other version"}'));
      await r.putAttachment("churn", 1, "reference-profile.json", Buffer.from('{"v":2}'));
      expect(
        Buffer.from((await r.getAttachment("churn", 1, "reference-profile.json")) ?? []).toString(),
      ).toBe('{"v":2}');
      expect(
        Buffer.from((await r.getAttachment("churn", 1, "evaluations/d2-s1.json")) ?? []).toString(),
      ).toBe('{"e":2}');
      const listed = await r.listAttachments("churn", 1);
      // Newest write first; the version's own model.json and artifact are not attachments.
      expect(listed.map((a) => [a.file, a.bytes])).toEqual([
        ["reference-profile.json", 7],
        ["evaluations/d2-s1.json", 7],
      ]);
      expect(listed.every((a) => !Number.isNaN(Date.parse(a.updatedAt)))).toBe(true);
      expect((await r.listAttachments("churn", 2)).map((a) => a.file)).toEqual(["evaluations/d2-s1.json"]);
      // Attachments never touch the version itself.
      expect(Buffer.from(await r.readArtifact(await r.getVersion("churn", 1))).toString()).toBe("{}");
    });

    it("refuses attachments to a missing version and reserved or unsafe names, naming them", async () => {
      const r = await fixture();
      await r.register({ name: "churn", format: "telco-gbdt", artifact: Buffer.from("{}"), card: card(0.7) });
      await expect(r.putAttachment("churn", 4, "x.json", Buffer.from("{}"))).rejects.toBeInstanceOf(
        NotFoundError,
      );
      await expect(r.putAttachment("ghost", 1, "x.json", Buffer.from("{}"))).rejects.toThrow(/ghost/);
      for (const bad of ["model.json", "artifact.json", "../x.json", "a/b/c.json", "other/x.json", ""])
        await expect(r.putAttachment("churn", 1, bad, Buffer.from("{}"))).rejects.toBeInstanceOf(
          ValidationError,
        );
      expect((await r.getVersion("churn", 1)).version).toBe(1);
      expect(await r.listAttachments("churn", 1)).toEqual([]);
    });

    it("gives concurrent registrations distinct consecutive numbers", async () => {
      const r = await fixture();
      const made = await Promise.all(
        [0.61, 0.62, 0.63, 0.64, 0.65].map((auc) =>
          r.register({
            name: "churn",
            format: "telco-gbdt",
            artifact: Buffer.from(`{"a":${auc}}`),
            card: card(auc),
          }),
        ),
      );
      expect(made.map((v) => v.version).sort()).toEqual([1, 2, 3, 4, 5]);
      for (const v of made) {
        expect(await r.getVersion("churn", v.version)).toEqual(v);
        expect(Buffer.from(await r.readArtifact(v)).toString()).toBe(`{"a":${v.card.metrics.auc?.value}}`);
      }
    });

    it("lets exactly one of two racing promotions from the same view win; the loser moves nothing", async () => {
      const r = await fixture();
      for (const auc of [0.7, 0.75, 0.8])
        await r.register({
          name: "churn",
          format: "telco-gbdt",
          artifact: Buffer.from("{}"),
          card: card(auc),
        });
      await r.setAlias("churn", "champion", 1, { action: "promote", reason: "first" });
      const race = await Promise.allSettled(
        [2, 3].map((v) =>
          r.setAlias("churn", "champion", v, { action: "promote", reason: `v${v} better`, expected: 1 }),
        ),
      );
      const won = race.filter((x) => x.status === "fulfilled");
      const lost = race.filter((x) => x.status === "rejected");
      expect([won.length, lost.length]).toEqual([1, 1]);
      const loss = (lost[0] as PromiseRejectedResult).reason;
      expect(loss).toBeInstanceOf(AliasConflictError);
      const winner = (won[0] as PromiseFulfilledResult<{ to: number | null }>).value.to;
      expect((loss as AliasConflictError).current).toBe(winner);
      expect((await r.aliases("churn")).champion).toBe(winner);
      expect((await r.audit("churn")).map((e) => [e.from, e.to])).toEqual([
        [null, 1],
        [1, winner],
      ]);
    });

    it("applies every one of many concurrent unconditional moves and audits each", async () => {
      const r = await fixture();
      for (const auc of [0.7, 0.75])
        await r.register({
          name: "churn",
          format: "telco-gbdt",
          artifact: Buffer.from("{}"),
          card: card(auc),
        });
      await Promise.all(
        ["a", "b", "c", "d"].map((alias, i) =>
          r.setAlias("churn", alias, (i % 2) + 1, { action: "force", reason: alias }),
        ),
      );
      expect(await r.aliases("churn")).toEqual({ a: 1, b: 2, c: 1, d: 2 });
      expect((await r.audit("churn")).map((e) => e.alias).sort()).toEqual(["a", "b", "c", "d"]);
      expect((await r.summaries()).map((s) => [s.version, s.aliases])).toEqual([
        [1, ["a", "c"]],
        [2, ["b", "d"]],
      ]);
    });
  });
}

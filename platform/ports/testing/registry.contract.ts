/**
 * The model-registry port's contract (platform/ports/registry.ts), run by every adapter's tests
 * with the same cases. `setup` gives a fresh, empty registry.
 */
import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { AliasConflictError, type ModelCard, type ModelRegistry } from "../registry.ts";

export interface RegistryFixture {
  registry: ModelRegistry;
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
  });
}

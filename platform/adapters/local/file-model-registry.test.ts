import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { localArtifactFiles } from "../../ports/registry.ts";
import { LocalModelRegistry } from "./file-model-registry.ts";

// Attachments on the workspace registry keep the files where they were before the port had them:
// a workspace written by an older version reads through the port, and new writes land there too.
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
async function registry(): Promise<{ r: LocalModelRegistry; model: string }> {
  const dir = mkdtempSync(join(tmpdir(), "telco-registry-layout-"));
  dirs.push(dir);
  const r = new LocalModelRegistry(join(dir, "registry"));
  await r.register({
    name: "churn",
    format: "telco-gbdt",
    artifact: Buffer.from("{}"),
    card: { metrics: {} },
  });
  return { r, model: join(dir, "registry", "models", "churn") };
}

describe("LocalModelRegistry attachments: the on-disk layout of existing workspaces", () => {
  it("reads a reference profile and stored evaluations written by the pre-port code", async () => {
    const { r, model } = await registry();
    writeFileSync(
      join(model, "versions", "1", "reference-profile.json"),
      '{"format":"telco-reference-profile"}',
    );
    mkdirSync(join(model, "evaluations"));
    writeFileSync(join(model, "evaluations", "v1-old.json"), '{"e":"old"}');
    writeFileSync(join(model, "evaluations", "v1-new.json"), '{"e":"new"}');
    writeFileSync(join(model, "evaluations", "v12-other.json"), '{"e":"v12"}'); // version 12, not 1
    utimesSync(join(model, "evaluations", "v1-old.json"), new Date(2026, 0, 1), new Date(2026, 0, 1));
    expect(Buffer.from((await r.getAttachment("churn", 1, "evaluations/new.json")) ?? []).toString()).toBe(
      '{"e":"new"}',
    );
    expect((await r.listAttachments("churn", 1)).map((a) => a.file).slice(-1)).toEqual([
      "evaluations/old.json",
    ]);
    expect((await r.listAttachments("churn", 1)).map((a) => a.file).sort()).toEqual([
      "evaluations/new.json",
      "evaluations/old.json",
      "reference-profile.json",
    ]);
  });

  it("writes attachments to those same paths, atomically (no temp file left)", async () => {
    const { r, model } = await registry();
    const where = await r.putAttachment("churn", 1, "reference-profile.json", Buffer.from("{}"));
    expect(where).toBe(join(model, "versions", "1", "reference-profile.json"));
    const ev = await r.putAttachment("churn", 1, "evaluations/d9.json", Buffer.from('{"e":1}'));
    expect(ev).toBe(join(model, "evaluations", "v1-d9.json"));
    expect(readFileSync(ev, "utf8")).toBe('{"e":1}');
    expect(readdirSync(join(model, "evaluations"))).toEqual(["v1-d9.json"]);
    expect(readdirSync(join(model, "versions", "1")).sort()).toEqual([
      "artifact.json",
      "model.json",
      "reference-profile.json",
    ]);
  });

  it("offers the artifact's local path (for uploads) as an optional capability", async () => {
    const { r, model } = await registry();
    const files = localArtifactFiles(r);
    expect(files?.artifactPath(await r.getVersion("churn", 1))).toBe(
      join(model, "versions", "1", "artifact.json"),
    );
  });
});

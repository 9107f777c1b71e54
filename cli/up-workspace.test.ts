import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { CommandRuntime } from "../platform/cli/runtime.ts";
import { configSchema } from "../platform/config/schema.ts";
import { contextFromConfig } from "../platform/context.ts";
import { upSteps } from "./up.ts";

/** The workspace step of `telco up`: it creates only the folders the profile's adapters use. */
async function workspaceStep(profile: "local" | "gcp"): Promise<string[]> {
  const home = mkdtempSync(join(tmpdir(), `telco-up-ws-${profile}-`));
  const app = contextFromConfig(
    configSchema.parse(profile === "gcp" ? { profile, gcp: { project: "p1", bucket: "gs://b" } } : {}),
    home,
  );
  const step = upSteps.find((s) => s.name === "workspace");
  if (!step) throw new Error("no workspace step");
  await step.run(app, {} as CommandRuntime);
  expect(existsSync(home)).toBe(true);
  return readdirSync(home).sort();
}

describe("telco up: workspace folders per profile", () => {
  it("local: the lake, features, runs and registry folders", async () => {
    expect(await workspaceStep("local")).toEqual(["features", "lake", "registry", "runs"]);
  });

  it("gcp: only runs (lake and registry are in Cloud Storage, online features in Firestore): no empty registry/", async () => {
    expect(await workspaceStep("gcp")).toEqual(["runs"]);
  });
});

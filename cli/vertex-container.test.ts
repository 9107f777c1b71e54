import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FIXTURE_SPECS, fixtureRows, servingFixture } from "../mlops/serving/testing/fixture.ts";
import { fakeVertex } from "../platform/adapters/gcp/testing/fake-vertex.ts";
import {
  CONTAINER_START,
  VERSION_METADATA_FILE,
  VERTEX_HEALTH_ROUTE,
  VERTEX_PREDICT_ROUTE,
} from "../platform/adapters/gcp/vertex-endpoint.ts";

const BIN = new URL("../bin/telco.ts", import.meta.url).pathname;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * What Vertex AI does with the container spec `models deploy` uploads, minus Docker: run its exact
 * start command (CONTAINER_START) in a fresh workspace with the AIP_* variables set and the model
 * folder served by a fake Cloud Storage, then probe the health route and predict like Vertex does.
 */
describe("the serving container's start command under Vertex AI's variables", () => {
  it("imports the model from AIP_STORAGE_URI, turns healthy and answers instances", async () => {
    const fx = await servingFixture();
    const artifact = Buffer.from(await fx.registry.readArtifact(fx.v1));
    await fx.app.close();
    const obj = (name: string) =>
      `/storage/v1/b/caip-tenant/o/${encodeURIComponent(`churn/v1/${name}`)}?alt=media`;
    const gcs = await fakeVertex([
      { method: "GET", path: obj(VERSION_METADATA_FILE), body: fx.v1 },
      { method: "GET", path: obj(fx.v1.artifact.file), raw: artifact },
    ]);
    const home = mkdtempSync(join(tmpdir(), "telco-vertex-container-"));
    // `telco` on PATH, as the image's /usr/local/bin/telco symlink.
    const bin = join(home, "bin");
    const shim = join(bin, "telco");
    mkdirSync(bin);
    writeFileSync(shim, `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
    chmodSync(shim, 0o755);
    const port = await freePort();
    const child = spawn("sh", ["-c", CONTAINER_START], {
      env: {
        ...process.env,
        PATH: `${bin}:${process.env.PATH}`,
        TELCO_HOME: join(home, "workspace"),
        TELCO_LOG_LEVEL: "warn",
        AIP_STORAGE_URI: "gs://caip-tenant/churn/v1",
        AIP_HTTP_PORT: String(port),
        AIP_HEALTH_ROUTE: VERTEX_HEALTH_ROUTE,
        AIP_PREDICT_ROUTE: VERTEX_PREDICT_ROUTE,
        STORAGE_EMULATOR_HOST: gcs.url,
        GOOGLE_OAUTH_ACCESS_TOKEN: "vertex-sa-token",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (c) => {
      stderr += c;
    });
    try {
      const base = `http://127.0.0.1:${port}`;
      let health = 0;
      for (let i = 0; i < 300 && health !== 200; i++) {
        if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${stderr}`);
        health = await fetch(`${base}${VERTEX_HEALTH_ROUTE}`)
          .then((r) => r.status)
          .catch(() => 0);
        if (health !== 200) await new Promise((r) => setTimeout(r, 100));
      }
      expect(health, stderr).toBe(200);
      expect(gcs.unexpected).toEqual([]);
      expect(gcs.received.map((r) => r.authorization)).toEqual([
        "Bearer vertex-sa-token",
        "Bearer vertex-sa-token",
      ]);
      const rows = fixtureRows(3, 5).map((r) =>
        Object.fromEntries(FIXTURE_SPECS.map((f) => [f.name, r[f.name]])),
      );
      const res = await fetch(`${base}${VERTEX_PREDICT_ROUTE}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ instances: rows, parameters: { explain: false } }),
      });
      expect(res.status).toBe(200);
      const { predictions } = (await res.json()) as {
        predictions: { probability: number; model_name: string }[];
      };
      expect(predictions).toHaveLength(3);
      expect(
        predictions.every((p) => p.model_name === "churn" && p.probability > 0 && p.probability < 1),
      ).toBe(true);
      const exit = new Promise<number | null>((r) => child.once("exit", r));
      child.kill("SIGTERM");
      expect(await exit).toBe(0);
    } finally {
      child.kill("SIGKILL");
      await gcs.close();
      await fx.cleanup();
      rmSync(home, { recursive: true, force: true });
    }
  }, 90_000);
});

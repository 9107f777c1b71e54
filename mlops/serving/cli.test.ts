import { spawn } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readPredictionLog } from "../monitoring/prediction-log.ts";
import { servingFixture } from "./testing/fixture.ts";

const BIN = new URL("../../bin/telco.ts", import.meta.url).pathname;

describe("telco serve", () => {
  it("generates a local API key, serves, and on SIGTERM drains and flushes the prediction log", async () => {
    const fx = await servingFixture();
    await fx.app.close();
    const child = spawn(process.execPath, [BIN, "serve", "--port", "0"], {
      env: { ...process.env, TELCO_HOME: fx.home, TELCO_LOG_LEVEL: "warn" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      let stderr = "";
      const address = await new Promise<string>((resolve, reject) => {
        child.stderr.on("data", (c) => {
          stderr += c;
          const m = /serving churn predictions on (http:\/\/\S+)/.exec(stderr);
          if (m) resolve(m[1]);
        });
        child.once("exit", (code) => reject(new Error(`exited ${code}: ${stderr}`)));
      });
      const keyFile = join(fx.home, "secrets", "api-key");
      expect(stderr).toContain(keyFile);
      expect(statSync(keyFile).mode & 0o777).toBe(0o600);
      const key = readFileSync(keyFile, "utf8").trim();
      const res = await fetch(`${address}/v1/churn/predict`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ customer_ids: ["C000001", "C000002"] }),
      });
      expect(res.status).toBe(200);
      // This workspace has a model but no operator systems: the assistant says so, the churn API serves.
      const chat = await fetch(`${address}/v1/assistant/chat`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ customer_id: "C000001", message: "oi" }),
      });
      expect(chat.status).toBe(503);
      expect(((await chat.json()) as { error: { code: string } }).error.code).toBe("assistant_unavailable");
      const exit = new Promise<number | null>((r) => child.once("exit", r));
      child.kill("SIGTERM");
      expect(await exit).toBe(0);
      const today = new Date().toISOString().slice(0, 10);
      const log = await readPredictionLog(fx.app.lake(), { from: today, to: today });
      expect(log.map((r) => r.customer_id).sort()).toEqual(["C000001", "C000002"]);
    } finally {
      child.kill("SIGKILL");
      await fx.cleanup();
    }
  }, 60_000);
});

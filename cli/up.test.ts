import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const BIN = new URL("../bin/telco.ts", import.meta.url).pathname;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

const home = mkdtempSync(join(tmpdir(), "telco-up-"));
let up: ChildProcess | undefined;
afterAll(() => {
  up?.kill("SIGKILL");
  rmSync(home, { recursive: true, force: true });
});

describe("telco up, then a second shell", () => {
  it("accepts --port (validated like telco serve's)", () => {
    const r = spawnSync(process.execPath, [BIN, "up", "--port", "70000"], {
      env: { ...process.env, TELCO_HOME: home },
      encoding: "utf8",
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--port");
  });

  it("serves on PORT, prints a working example, releases the warehouse, and a busy port is one clear line", async () => {
    const port = await freePort();
    const env = {
      ...process.env,
      TELCO_HOME: home,
      TELCO_LOG_LEVEL: "warn",
      TELCO_DATA__GENERATE__CUSTOMERS: "200",
      TELCO_DATA__GENERATE__MONTHS: "6",
    };
    // PORT (as a platform sets it) is what both the server and the banner use.
    up = spawn(process.execPath, [BIN, "up"], {
      env: { ...env, PORT: String(port) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    up.stdout?.on("data", (c) => {
      out += c;
    });
    const address = await new Promise<string>((resolve, reject) => {
      up?.stderr?.on("data", (c) => {
        err += c;
        const m = /serving churn predictions on (http:\/\/\S+)/.exec(err);
        if (m) resolve(m[1]);
      });
      up?.once("exit", (code) => reject(new Error(`up exited ${code}: ${err}`)));
    });
    expect(address).toContain(`:${port}`);
    // The worker thread's steps (portal build, knowledge base, assistant model, systems) ended before it served.
    for (const step of ["portal", "knowledge-base", "assistant", "systems"])
      expect(err.indexOf(`✓ ${step}: `)).toBeGreaterThan(-1);
    expect(err.indexOf("✓ portal: ")).toBeLessThan(err.indexOf("serving churn predictions"));
    // The banner: the real port, the real workspace, and a customer the API can score.
    expect(out).toContain(`http://127.0.0.1:${port}/v1/churn/predict`);
    expect(out).toContain(join(home, "runs"));
    const example = /"customer_ids":\["([^"]+)"\]/.exec(out)?.[1];
    expect(example).toBeTruthy();
    const key = readFileSync(join(home, "secrets", "api-key"), "utf8").trim();
    const res = await fetch(`${address}/v1/churn/predict`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ customer_ids: [example] }),
    });
    expect(res.status).toBe(200);

    // A second shell: the warehouse is free while `up` serves.
    const sql = spawnSync(
      process.execPath,
      [BIN, "sql", "select count(*) as n from gold.customer_features", "--json"],
      { env, encoding: "utf8" },
    );
    expect(sql.stderr).not.toMatch(/lock/i);
    expect(sql.status).toBe(0);
    expect(JSON.stringify(JSON.parse(sql.stdout))).toMatch(/"n":\s*"?\d+/);

    // The same port again: one line naming the port and what to do, no EADDRINUSE stack.
    const busy = spawnSync(process.execPath, [BIN, "serve", "--port", String(port)], {
      env,
      encoding: "utf8",
    });
    expect(busy.status).toBe(1);
    expect(busy.stderr).toContain(`port ${port}`);
    expect(busy.stderr).toContain("already in use");
    expect(busy.stderr).toMatch(/--port|PORT=/);
    expect(busy.stderr).not.toMatch(/EADDRINUSE|\n\s+at /);

    const exit = new Promise<number | null>((r) => up?.once("exit", r));
    up.kill("SIGTERM");
    expect(await exit).toBe(0);
  }, 240_000);
});

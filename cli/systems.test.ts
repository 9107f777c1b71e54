import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configSchema } from "../platform/config/schema.ts";
import { contextFromConfig } from "../platform/context.ts";
import { openSandbox } from "../platform/sandbox/index.ts";
import { INTERACTION_FIELDS } from "./systems.ts";

const repo = join(import.meta.dirname, "..");
const home = mkdtempSync(join(tmpdir(), "telco-systems-cli-"));
const telcoHome = join(home, ".telco");
/** Nothing listens on port 9: the commands must open the store in-process. */
const urls = (origin: string) => ({
  TELCO_OPERATOR__SYSTEMS__CRM__URL: `${origin}/crm`,
  TELCO_OPERATOR__SYSTEMS__BILLING__URL: `${origin}/billing`,
  TELCO_OPERATOR__SYSTEMS__NETWORK__URL: `${origin}/network`,
  TELCO_OPERATOR__SYSTEMS__OFFERS__URL: `${origin}/offers`,
});
const baseEnv = {
  ...process.env,
  TELCO_HOME: telcoHome,
  TELCO_DATA__GENERATE__CUSTOMERS: "200",
  ...urls("http://127.0.0.1:9"),
};

function telco(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [join(repo, "bin/telco.ts"), ...args], {
    cwd: home,
    env: { ...baseEnv, ...env },
    encoding: "utf8",
  });
}

let served: ChildProcess | undefined;
afterAll(() => {
  served?.kill("SIGKILL");
});

describe("telco systems and telco interactions", () => {
  beforeAll(() => {
    const r = telco(["data", "generate", "--customers", "200", "--quiet"]);
    expect(r.status, r.stderr).toBe(0);
  });

  it("reports an unseeded sandbox, and says how to seed it when a command needs it", () => {
    const s = telco(["systems", "status", "--json"]);
    expect(s.status, s.stderr).toBe(0);
    const status = JSON.parse(s.stdout);
    expect(status.seeded).toBe(false);
    expect(status.latest_delivery).toMatch(/aurora-c200-m12-s42$/);
    const l = telco(["interactions", "list", "--customer", "AUR-00000001"]);
    expect(l.status).toBe(1);
    expect(l.stderr).toMatch(/telco up.*telco systems reset/);
  });

  it("reseeds from the latest delivery and shows status with scenario customers", () => {
    const r = telco(["systems", "reset", "--json"]);
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.business_date).toBe("2025-12-31");
    expect(report.rows.customers).toBe(200);
    const s = JSON.parse(telco(["systems", "status", "--json"]).stdout);
    expect(s.seeded).toBe(true);
    expect(s.stale).toBe(false);
    expect(s.business_date).toBe("2025-12-31");
    expect(s.scenarios.customers.ont_los.length).toBeGreaterThan(0);
    expect(s.urls.crm).toEqual({ url: "http://127.0.0.1:9/crm", answers: false });
    const human = telco(["systems", "status"]);
    expect(human.stdout).toMatch(/business\s+2025-12-31/);
    expect(human.stdout).toMatch(/ont_los/);
  });

  it("lists a customer's interactions with exactly the documented fields, newest first", async () => {
    const sb = openSandbox(join(telcoHome, "systems", "operator.sqlite"));
    const id = sb.scenarios().customers.slow_speed[0] as string;
    const rec = await sb.crm.recordInteraction(
      {
        customer_id: id,
        channel: "chat",
        category: "tecnico_internet",
        summary: "slow wifi, guided steps",
        sentiment: "neutral",
        outcome: "retained",
        offers_made: ["RET-UPGRADE"],
        offer_accepted: "RET-UPGRADE",
        session_id: "s-1",
      },
      { idempotencyKey: "cli-1" },
    );
    await sb.close();
    const r = telco(["interactions", "list", "--customer", id, "--json"]);
    expect(r.status, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as Record<string, unknown>[];
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(Object.keys(row)).toEqual([...INTERACTION_FIELDS]);
    expect(rows[0]).toEqual({
      interaction_id: rec.interaction_id,
      customer_id: id,
      channel: "chat",
      category: "tecnico_internet",
      summary: "slow wifi, guided steps",
      outcome: "retained",
      offers_made: ["RET-UPGRADE"],
      offer_accepted: "RET-UPGRADE",
      protocol: rec.protocol,
      created_at: rec.created_at,
    });
    const human = telco(["interactions", "list", "--customer", id]);
    expect(human.stdout).toContain("slow wifi, guided steps");
  });

  it("refuses bad arguments with usage errors and unknown customers with a message", () => {
    expect(telco(["interactions", "list"]).status).toBe(2);
    expect(telco(["interactions", "list", "--customer", "AUR-00000001", "--limit", "x"]).status).toBe(2);
    const unknown = telco(["interactions", "list", "--customer", "AUR-99999999", "--json"]);
    expect(unknown.status).toBe(1);
    expect(JSON.parse(unknown.stdout).error.code).toBe("customer_not_found");
    const nodelivery = telco(["systems", "reset", "--delivery", join(home, "nope")]);
    expect(nodelivery.status).toBe(1);
    expect(nodelivery.stderr).toMatch(/manifest/);
    expect(telco(["systems", "serve", "--port", "99999"]).status).toBe(2);
  });

  it("serves the systems over HTTP; commands beside the server go through it and stop it cleanly on SIGTERM", async () => {
    served = spawn(process.execPath, [join(repo, "bin/telco.ts"), "systems", "serve", "--port", "0"], {
      cwd: home,
      env: baseEnv,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const child = served;
    let err = "";
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr?.on("data", (d: Buffer) => {
        err += d.toString();
        const m = /serving the operator systems on (http:\/\/\S+)/.exec(err);
        if (m) resolve(m[1] as string);
      });
      child.on("exit", (code) => reject(new Error(`serve exited ${code}: ${err}`)));
    });
    const health = (await (await fetch(`${url}/healthz`)).json()) as { business_date: string };
    expect(health.business_date).toBe("2025-12-31");
    const env = urls(url);
    const id = "AUR-00000002";
    const over = telco(["interactions", "list", "--customer", id, "--json"], env);
    expect(over.status, over.stderr).toBe(0);
    // Prove the command went over HTTP: with the CRM down at the server it reports it unavailable.
    await fetch(`${url}/_faults/crm`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ down: true }),
    });
    const down = telco(["interactions", "list", "--customer", id, "--json"], env);
    expect(down.status).toBe(1);
    expect(JSON.parse(down.stdout).error.code).toBe("system_unavailable");
    const status = JSON.parse(telco(["systems", "status", "--json"], env).stdout);
    expect(status.urls.crm.answers).toBe(true);
    const exit = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    child.kill("SIGTERM");
    expect(await exit).toBe(0);
    served = undefined;
  });
});

describe("telco up: the systems step", () => {
  it("seeds when the store is missing or the delivery changed, and reuses it otherwise", async () => {
    const { upSteps } = await import("./up.ts");
    const step = upSteps.find((s) => s.name === "systems");
    expect(step).toBeDefined();
    const app = contextFromConfig(
      configSchema.parse({ data: { generate: { customers: 200, months: 12, seed: 42 } } }),
      telcoHome,
    );
    const rt = {} as Parameters<NonNullable<typeof step>["run"]>[1];
    // The store was reset above from the same delivery: nothing to do.
    expect(await step?.run(app, rt)).toMatch(/up to date/);
    const other = contextFromConfig(
      configSchema.parse({ data: { generate: { customers: 120, months: 12, seed: 42 } } }),
      telcoHome,
    );
    expect(telco(["data", "generate", "--customers", "120", "--quiet"]).status).toBe(0);
    expect(await step?.run(other, rt)).toMatch(/seeded: 120 customers/);
    expect(await step?.run(other, rt)).toMatch(/up to date/);
    await app.close();
    await other.close();
  });
});

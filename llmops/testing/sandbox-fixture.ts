import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateOperatorData, runLabel } from "../../mlops/simulator/generate.ts";
import { seedSystemsFromDelivery } from "../../mlops/simulator/systems-seed.ts";
import { configSchema } from "../../platform/config/schema.ts";
import { type AppContext, contextFromConfig } from "../../platform/context.ts";
import type { OperatorSystems, SystemName } from "../../platform/ports/operator-systems.ts";
import {
  openSandbox,
  type SandboxScenarios,
  type SandboxSystems,
  sandboxSeeder,
} from "../../platform/sandbox/index.ts";
import { type SandboxServer, type SystemFault, startSandboxServer } from "../../platform/sandbox/server.ts";

/**
 * A reusable test fixture: a small deterministic synthetic delivery in a temp workspace, the operator
 * sandbox seeded from it, the systems in-process, and a started sandbox server with the HTTP
 * connectors pointed at it. Cached per test file (one generation and seeding per file).
 *
 *   const sb = await sandboxFixture();
 *   const id = sb.scenarios.customers.ont_los[0];
 *   await sb.systems.network.getLineStatus(id);          // in-process
 *   await sb.http.systems.network.getLineStatus(id);     // over HTTP
 *   sb.http.setFault("billing", { down: true });        // fault injection
 *   afterAll(() => sb.cleanup());
 *
 * Tests share the store within a file: use distinct customers per test, or `await sb.reseed()`.
 */
export interface SandboxFixture {
  /** Context of the temp workspace; its `operator.systems` URLs point at the fixture's server. */
  app: AppContext;
  /** The four systems in-process (the same store the server serves). */
  systems: SandboxSystems;
  http: {
    server: SandboxServer;
    /** Origin of the server, e.g. http://127.0.0.1:41234 (systems under /crm, /billing, …). */
    url: string;
    /** HTTP connectors (timeouts, retries, breaker) at the server: `app.operator({ mode: "http" })`. */
    systems: OperatorSystems;
    /** Fresh connectors (fresh circuit breakers), optionally with other client settings. */
    connect(client?: Partial<ClientSettings>): Promise<OperatorSystems>;
    setFault(system: SystemName, fault: Partial<SystemFault>): SystemFault;
    clearFaults(): void;
  };
  /** Customer ids per scenario at the business date (see platform/sandbox/scenarios.ts). */
  scenarios: SandboxScenarios;
  businessDate: string;
  /** The workspace root (TELCO_HOME) and the delivery the sandbox was seeded from. */
  home: string;
  deliveryDir: string;
  /** Reseeds the store from the delivery: every write of earlier tests is gone. */
  reseed(): Promise<void>;
  cleanup(): Promise<void>;
}

export interface ClientSettings {
  timeoutMs: number;
  retries: number;
  backoffMs: number;
  breakerFailures: number;
  breakerResetMs: number;
}

export interface SandboxFixtureOptions {
  customers?: number;
  months?: number;
  seed?: number;
  /** Connector settings of `http.systems` (defaults: 2 s timeout, 2 retries, 10 ms backoff, breaker 5 / 500 ms). */
  client?: Partial<ClientSettings>;
}

export type { SandboxScenarios, ScenarioName } from "../../platform/sandbox/index.ts";
export type { SystemFault } from "../../platform/sandbox/server.ts";

const DEFAULT_CLIENT: ClientSettings = {
  timeoutMs: 2000,
  retries: 2,
  backoffMs: 10,
  breakerFailures: 5,
  breakerResetMs: 500,
};

const cache = new Map<string, Promise<SandboxFixture>>();

/** The fixture for these options, created once per test file (module instance). */
export function sandboxFixture(opts: SandboxFixtureOptions = {}): Promise<SandboxFixture> {
  const key = JSON.stringify(opts);
  let f = cache.get(key);
  if (!f) {
    f = createSandboxFixture(opts);
    f.catch(() => cache.delete(key));
    cache.set(key, f);
  }
  return f;
}

/** A new, uncached fixture. */
export async function createSandboxFixture(opts: SandboxFixtureOptions = {}): Promise<SandboxFixture> {
  const customers = opts.customers ?? 300;
  const months = opts.months ?? 12;
  const seed = opts.seed ?? 42;
  const home = mkdtempSync(join(tmpdir(), "telco-sandbox-"));
  const deliveryDir = join(
    home,
    "deliveries",
    "synthetic",
    runLabel({ customers, months, seed, dirtyRate: 0 }),
  );
  await generateOperatorData({
    customers,
    months,
    seed,
    start: "2025-01",
    dirtyRate: 0,
    outDir: deliveryDir,
  });
  const storePath = join(home, "systems", "operator.sqlite");
  const report = seedSystemsFromDelivery(sandboxSeeder(storePath), deliveryDir);
  const server = await startSandboxServer({ path: storePath });
  const client = { ...DEFAULT_CLIENT, ...opts.client };
  const configFor = (c: ClientSettings) =>
    configSchema.parse({
      data: { generate: { customers, months, seed, start: "2025-01", dirtyRate: 0 } },
      operator: {
        systems: {
          crm: { url: server.systemUrl("crm") },
          billing: { url: server.systemUrl("billing") },
          network: { url: server.systemUrl("network") },
          offers: { url: server.systemUrl("offers") },
        },
        client: c,
        sandbox: { port: 0 },
      },
    });
  const app = contextFromConfig(configFor(client), home);
  const systems = openSandbox(storePath);
  const httpSystems = await app.operator({ mode: "http" });
  const extra: AppContext[] = [];
  let cleaned = false;
  return {
    app,
    systems,
    http: {
      server,
      url: server.url,
      systems: httpSystems,
      async connect(c = {}) {
        const other = contextFromConfig(configFor({ ...client, ...c }), home);
        extra.push(other);
        return other.operator({ mode: "http" });
      },
      setFault: (s, f) => server.setFault(s, f),
      clearFaults: () => server.clearFaults(),
    },
    scenarios: report.scenarios,
    businessDate: report.business_date,
    home,
    deliveryDir,
    async reseed() {
      seedSystemsFromDelivery(sandboxSeeder(storePath), deliveryDir);
    },
    async cleanup() {
      if (cleaned) return;
      cleaned = true;
      for (const [k, v] of cache)
        if (await v.then((x) => x.home === home).catch(() => false)) cache.delete(k);
      for (const a of extra) await a.close();
      await app.close();
      await server.close();
      await systems.close();
      if (existsSync(home)) rmSync(home, { recursive: true, force: true });
    },
  };
}

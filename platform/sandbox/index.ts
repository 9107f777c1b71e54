import type { OperatorSystems } from "../ports/operator-systems.ts";
import { SandboxBilling } from "./billing.ts";
import { SandboxCrm } from "./crm.ts";
import { SandboxNetwork } from "./network.ts";
import { SandboxOffers } from "./offers.ts";
import type { SandboxScenarios } from "./scenarios.ts";
import { SandboxStore, type SandboxStoreOptions } from "./store.ts";

export type { SystemsSeed } from "../ports/systems-seed.ts";
export {
  type SandboxScenarios,
  SCENARIO_DESCRIPTIONS,
  SCENARIO_NAMES,
  type ScenarioName,
} from "./scenarios.ts";
export { type SeedReport, sandboxSeeder, seedSandbox } from "./seed.ts";

/** What `telco systems status` and `GET /_sandbox/status` report. */
export interface SandboxStatus {
  path: string;
  seeded: boolean;
  business_date: string | null;
  delivery: string | null;
  fingerprint: string | null;
  catalog_version: string | null;
  seeded_at: string | null;
  rows: Record<string, number>;
  scenarios: SandboxScenarios | null;
}

/** The operator's four systems, served in this process from the workspace store. */
export interface SandboxSystems extends OperatorSystems {
  readonly mode: "in-process";
  readonly store: SandboxStore;
  scenarios(): SandboxScenarios;
  status(): SandboxStatus;
}

/** Opens the sandbox at `path` (it must have been seeded: `telco up` or `telco systems reset`). */
export function openSandbox(path: string, opts: Omit<SandboxStoreOptions, "create"> = {}): SandboxSystems {
  const store = SandboxStore.open(path, opts);
  return sandboxOver(store);
}

export function sandboxOver(store: SandboxStore): SandboxSystems {
  return {
    mode: "in-process",
    store,
    crm: new SandboxCrm(store),
    billing: new SandboxBilling(store),
    network: new SandboxNetwork(store),
    offers: new SandboxOffers(store),
    async businessDate() {
      return store.businessDate();
    },
    scenarios() {
      return JSON.parse(store.meta("scenarios") ?? "null") as SandboxScenarios;
    },
    status() {
      return sandboxStatus(store);
    },
    async close() {
      store.close();
    },
  };
}

export function sandboxStatus(store: SandboxStore): SandboxStatus {
  const seeded = store.isSeeded();
  return {
    path: store.path,
    seeded,
    business_date: store.meta("business_date") ?? null,
    delivery: store.meta("delivery") ?? null,
    fingerprint: store.meta("fingerprint") ?? null,
    catalog_version: store.meta("catalog_version") ?? null,
    seeded_at: store.meta("seeded_at") ?? null,
    rows: seeded ? store.counts() : {},
    scenarios: seeded ? (JSON.parse(store.meta("scenarios") ?? "null") as SandboxScenarios) : null,
  };
}

import type { CatalogPlan } from "../ports/offers.ts";
import type { SeedSpeedTest, SystemsSeed } from "../ports/systems-seed.ts";
import { addDays, hash32 } from "./store.ts";

/**
 * Scenario overlays: what is happening on the business date, derived deterministically from the
 * seeded data (customers are picked by a hash of their ids), so the assistant has real cases to
 * work on and tests and docs can name real customers. The delivery itself is never contradicted:
 * overlays only add events at the business date (outages, line faults, speed tests).
 */
export const SCENARIO_NAMES = [
  "regional_outage",
  "ont_los",
  "degraded_line",
  "slow_speed",
  "healthy_internet",
  "overdue_invoice",
  "open_dispute",
  "fidelity_active",
  "mobile_postpaid",
  "cancelled",
] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

/** What each scenario means (for `telco systems status` and the docs). */
export const SCENARIO_DESCRIPTIONS: Record<ScenarioName, string> = {
  regional_outage:
    "fibra/combo customers in a city with an active outage (ETA the next day); line down, ONT LOS",
  ont_los: "fibra/combo customer whose ONT lost the optical signal; the line test finds a network fault",
  degraded_line:
    "fibra/combo customer on a degraded line with low recent speed tests; the line test finds a network fault",
  slow_speed:
    "fibra/combo customer whose last speed tests are below 80% of contracted; line up, the line test points at the home Wi-Fi/cabling",
  healthy_internet: "fibra/combo customer with no fault, no outage and good speed tests; the line test is ok",
  overdue_invoice: "active customer with at least one overdue invoice",
  open_dispute: "customer with an invoice dispute still open",
  fidelity_active: "active customer whose loyalty period ends after the business date (a fine applies)",
  mobile_postpaid: "active mobile_pos or mobile_controle customer",
  cancelled: "former customer: no active contract left",
};

/** Customer ids per scenario (each list sorted by a hash, at most LIST_CAP ids) and the full counts. */
export interface SandboxScenarios {
  business_date: string;
  customers: Record<ScenarioName, string[]>;
  counts: Record<ScenarioName, number>;
}

const LIST_CAP = 50;

export interface LineOverlay {
  contract_id: string;
  customer_id: string;
  line: "up" | "down" | "degraded";
  ont: "online" | "offline" | "los" | "n/a";
  last_change_at: string;
  line_test: "ok" | "customer_side" | "network";
  line_test_details: string;
}

export interface ActiveOutage {
  outage_id: string;
  uf: string;
  city: string;
  started_at: string;
  eta: string;
  cause: string;
  affected_product: string;
}

export interface ScenarioOverlays {
  outages: ActiveOutage[];
  /** One entry per non-cancelled contract (default: line up, ONT online or n/a, line test ok). */
  lines: LineOverlay[];
  speedTests: SeedSpeedTest[];
  scenarios: SandboxScenarios;
}

const INTERNET = new Set(["fibra", "combo"]);

function unit(s: string): number {
  return hash32(s) / 2 ** 32;
}

function ts(date: string, hour: number, minute: number): string {
  return `${date}T${String(hour).padStart(2, "0")}:${String(minute).padStart(2, "0")}:00Z`;
}

export function buildScenarioOverlays(seed: SystemsSeed, plans: CatalogPlan[]): ScenarioOverlays {
  const asOf = seed.as_of;
  const yesterday = addDays(asOf, -1);
  const tomorrow = addDays(asOf, 1);
  const speedOf = new Map(plans.map((p) => [p.plan_id, p.speed_mbps]));
  const customerById = new Map(seed.customers.map((c) => [c.customer_id, c]));
  const liveContracts = seed.contracts.filter(
    (c) => c.status !== "cancelled" && customerById.has(c.customer_id),
  );
  const internet = liveContracts.filter((c) => INTERNET.has(c.product));
  const byHash = (salt: string) => (a: string, b: string) => hash32(`${salt}:${a}`) - hash32(`${salt}:${b}`);

  // 1. Regional outages: 1–2 cities with a few internet customers each (a regional, not a national, event).
  const perCity = new Map<string, string[]>();
  for (const c of internet) {
    const cust = customerById.get(c.customer_id);
    if (!cust) continue;
    const key = `${cust.uf}|${cust.city}`;
    perCity.set(key, [...(perCity.get(key) ?? []), c.contract_id]);
  }
  const maxPerCity = Math.max(2, Math.round(internet.length * 0.05));
  let candidates = [...perCity.keys()].filter((k) => {
    const n = perCity.get(k)?.length ?? 0;
    return n >= 2 && n <= maxPerCity;
  });
  if (!candidates.length) candidates = [...perCity.keys()];
  candidates.sort(byHash("outage-city"));
  const outageCities = candidates.slice(0, internet.length >= 500 ? 2 : 1);
  let nextOutage = 0;
  for (const o of seed.outages) nextOutage = Math.max(nextOutage, Number(o.outage_id.slice(4)) || 0);
  const causes = ["rompimento_fibra", "falha_energia", "falha_equipamento"];
  const outages: ActiveOutage[] = outageCities.map((key) => {
    const [uf, city] = key.split("|") as [string, string];
    const u = unit(`outage:${key}`);
    nextOutage++;
    return {
      outage_id: `OUT-${String(nextOutage).padStart(7, "0")}`,
      uf,
      city,
      started_at: ts(yesterday, 18 + Math.floor(u * 5), Math.floor(u * 600) % 60),
      eta: ts(tomorrow, 8 + Math.floor(u * 10), 0),
      cause: causes[Math.floor(u * causes.length)] as string,
      affected_product: u < 0.5 ? "fibra" : "all",
    };
  });
  const inOutage = new Set(outageCities.flatMap((k) => perCity.get(k) ?? []));

  // 2. Line faults and slow speed among the other internet contracts, by hash rank.
  const rest = internet
    .map((c) => c.contract_id)
    .filter((id) => !inOutage.has(id))
    .sort(byHash("line-fault"));
  const take = (pct: number) => (rest.length >= 5 ? Math.max(1, Math.round(rest.length * pct)) : 0);
  const nLos = take(0.02);
  const nDegraded = take(0.02);
  const nSlow = take(0.03);
  const los = new Set(rest.slice(0, nLos));
  const degraded = new Set(rest.slice(nLos, nLos + nDegraded));
  const slow = new Set(rest.slice(nLos + nDegraded, nLos + nDegraded + nSlow));

  const lines: LineOverlay[] = [];
  const speedTests: SeedSpeedTest[] = [];
  const outageByCity = new Map(outages.map((o) => [`${o.uf}|${o.city}`, o]));
  for (const c of liveContracts) {
    const isNet = INTERNET.has(c.product);
    const cust = customerById.get(c.customer_id);
    const base: LineOverlay = {
      contract_id: c.contract_id,
      customer_id: c.customer_id,
      line: "up",
      ont: isNet ? "online" : "n/a",
      last_change_at: `${c.start_date}T00:00:00Z`,
      line_test: "ok",
      line_test_details: "line and equipment answer normally; no fault found",
    };
    const contracted = speedOf.get(c.plan_id) ?? null;
    const u = unit(`line:${c.contract_id}`);
    if (inOutage.has(c.contract_id) && cust) {
      const o = outageByCity.get(`${cust.uf}|${cust.city}`) as ActiveOutage;
      Object.assign(base, {
        line: "down",
        ont: "los",
        last_change_at: o.started_at,
        line_test: "network",
        line_test_details: `no optical signal: regional outage ${o.outage_id} in ${o.city}/${o.uf} (expected end ${o.eta})`,
      });
    } else if (los.has(c.contract_id)) {
      Object.assign(base, {
        line: "down",
        ont: "los",
        last_change_at: ts(yesterday, 19 + Math.floor(u * 4), Math.floor(u * 3600) % 60),
        line_test: "network",
        line_test_details:
          "ONT reports loss of optical signal (LOS); the drop fibre to the home is likely broken: a technician visit is needed",
      });
    } else if (degraded.has(c.contract_id)) {
      Object.assign(base, {
        line: "degraded",
        last_change_at: ts(addDays(asOf, -3), 10 + Math.floor(u * 8), 0),
        line_test: "network",
        line_test_details: `optical attenuation ${(-27.5 - u * 3).toFixed(1)} dBm (limit -27 dBm) and CRC errors on the access port: a technician visit is needed`,
      });
    } else if (slow.has(c.contract_id)) {
      base.line_test = "customer_side";
      base.line_test_details = `line and ONT fine: ${Math.round(92 + u * 6)}% of the contracted speed measured at the ONT; the loss is in the home Wi-Fi or cabling`;
    }
    lines.push(base);
    if ((degraded.has(c.contract_id) || slow.has(c.contract_id)) && contracted) {
      const lo = degraded.has(c.contract_id) ? 0.25 : 0.45;
      for (let d = 3; d >= 1; d--) {
        const r = unit(`speed:${c.contract_id}:${d}`);
        speedTests.push({
          customer_id: c.customer_id,
          measured_at: ts(addDays(asOf, -d), 19 + Math.floor(r * 4), Math.floor(r * 3600) % 60),
          download_mbps: Math.round(contracted * (lo + r * 0.3) * 10) / 10,
          contracted_mbps: contracted,
          latency_ms: Math.round((degraded.has(c.contract_id) ? 40 : 18) + r * 30),
          packet_loss_pct: Math.round((degraded.has(c.contract_id) ? 2 : 0.2) * (1 + r) * 100) / 100,
        });
      }
    }
  }

  // 3. Scenario listings (data-derived ones included), each sorted by a hash of the customer id.
  const byContract = new Map(seed.contracts.map((c) => [c.contract_id, c.customer_id]));
  const customersOf = (contractIds: Iterable<string>) =>
    new Set([...contractIds].map((id) => byContract.get(id) as string));
  const recentSlow = lastTestsBelow(seed.speed_tests, 0.8);
  const activeCustomers = new Set(
    seed.contracts.filter((c) => c.status === "active").map((c) => c.customer_id),
  );
  const healthy = internet
    .filter(
      (c) =>
        !inOutage.has(c.contract_id) &&
        !los.has(c.contract_id) &&
        !degraded.has(c.contract_id) &&
        !slow.has(c.contract_id) &&
        !recentSlow.has(c.customer_id),
    )
    .map((c) => c.contract_id);
  const sets: Record<ScenarioName, Set<string>> = {
    regional_outage: customersOf(inOutage),
    ont_los: customersOf(los),
    degraded_line: customersOf(degraded),
    slow_speed: customersOf(slow),
    healthy_internet: customersOf(healthy),
    overdue_invoice: new Set(
      seed.invoices
        .filter((i) => i.status === "overdue" && activeCustomers.has(i.customer_id))
        .map((i) => i.customer_id),
    ),
    open_dispute: new Set(seed.disputes.filter((d) => d.status === "open").map((d) => d.customer_id)),
    fidelity_active: new Set(
      liveContracts
        .filter((c) => c.fidelity_end_date !== null && c.fidelity_end_date > asOf)
        .map((c) => c.customer_id),
    ),
    mobile_postpaid: new Set(
      liveContracts
        .filter((c) => c.product === "mobile_pos" || c.product === "mobile_controle")
        .map((c) => c.customer_id),
    ),
    cancelled: new Set(seed.customers.map((c) => c.customer_id).filter((id) => !activeCustomers.has(id))),
  };
  const customers = {} as Record<ScenarioName, string[]>;
  const counts = {} as Record<ScenarioName, number>;
  for (const name of SCENARIO_NAMES) {
    const ids = [...sets[name]].filter((id) => customerById.has(id));
    ids.sort(byHash(`scenario:${name}`));
    customers[name] = ids.slice(0, LIST_CAP);
    counts[name] = ids.length;
  }
  return { outages, lines, speedTests, scenarios: { business_date: asOf, customers, counts } };
}

/** Customers whose last three speed tests (with a contracted speed) average below `ratio` of it. */
function lastTestsBelow(tests: SeedSpeedTest[], ratio: number): Set<string> {
  const last = new Map<string, SeedSpeedTest[]>();
  for (const t of tests) {
    if (t.contracted_mbps === null || t.contracted_mbps <= 0) continue;
    const list = last.get(t.customer_id) ?? [];
    list.push(t);
    last.set(t.customer_id, list);
  }
  const out = new Set<string>();
  for (const [id, list] of last) {
    list.sort((a, b) => (a.measured_at < b.measured_at ? 1 : -1));
    const top = list.slice(0, 3);
    const avg = top.reduce((s, t) => s + t.download_mbps / (t.contracted_mbps as number), 0) / top.length;
    if (avg < ratio) out.add(id);
  }
  return out;
}

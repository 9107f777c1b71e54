/**
 * Tools benchmark (`npm run bench:tools [-- --customers N] [--iterations N] [--warmup N] [--only a,b]
 * [--modes http,in-process]`). Prints one JSON document.
 *
 * A synthetic delivery (default 1,000 customers, 12 months) seeds the operator sandbox in a temp
 * workspace. The sandbox server runs in its own child process (like `telco systems serve`); the tools
 * run here through `toolbox.call()`, over the HTTP connectors (timeouts, retries, breaker) and over the
 * same store opened in-process. For each tool: p50/p95/mean latency of `call()`, CPU per call of this
 * process (process.cpuUsage: the tool layer, zod validation, the HTTP client) and, over HTTP, of the
 * server child (/proc/<pid>/stat, 10 ms ticks, so only meaningful over many calls), and the system calls
 * each tool makes. Writes use a new session (or subject) per call, so every call is a real write and
 * never an idempotent replay.
 *
 * Anchors measured in the same run, before and after the tools: a bare `GET /healthz` round trip to the
 * same server (fetch, the client the connectors use) for HTTP, and one port read (`crm.getCustomer`)
 * in-process. Ratios are tool ÷ the later (warm) anchor.
 * The churn score and so the rules' churn facts come from a constant ChurnRiskService (the scorer
 * itself is measured by bench:serve); the rules engine, catalog and every system call are real.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ingestIntoWorkspace } from "../llmops/rag/api.ts";
import { knowledgeSearchFromApp } from "../llmops/tools/knowledge.ts";
import {
  createToolbox,
  newToolSession,
  TOOL_NAMES,
  type Toolbox,
  type ToolName,
  type ToolSession,
} from "../llmops/tools/toolbox.ts";
import { generateOperatorData, runLabel } from "../mlops/simulator/generate.ts";
import { seedSystemsFromDelivery } from "../mlops/simulator/systems-seed.ts";
import { configSchema } from "../platform/config/schema.ts";
import { type AppContext, contextFromConfig } from "../platform/context.ts";
import type { ChurnRiskService } from "../platform/ports/churn-risk.ts";
import type { OperatorSystems } from "../platform/ports/operator-systems.ts";
import { openSandbox, type SandboxScenarios, sandboxSeeder } from "../platform/sandbox/index.ts";
import {
  benchArgs,
  contention,
  numberArg,
  pct,
  procCpuUs,
  r3,
  startSandboxChild,
  stopChild,
} from "./common.ts";

const USAGE = `npm run bench:tools -- [--customers N] [--iterations N] [--warmup N] [--only tool,tool]
    [--modes http,in-process]
Latency and CPU of each assistant tool against the operator sandbox, beside a /healthz anchor measured
in the same run. Prints one JSON document.`;

const values = benchArgs(
  {
    customers: { type: "string", default: "1000" },
    iterations: { type: "string", default: "100" },
    warmup: { type: "string", default: "10" },
    only: { type: "string" },
    modes: { type: "string", default: "http,in-process" },
  },
  USAGE,
);
const CUSTOMERS = numberArg("customers", values.customers);
const N = numberArg("iterations", values.iterations);
const WARMUP = numberArg("warmup", values.warmup, 0);
const ONLY = values.only ? new Set(values.only.split(",")) : null;
const MODES = (values.modes ?? "").split(",").filter((m): m is Mode => m === "http" || m === "in-process");
type Mode = "http" | "in-process";
for (const [k, v] of [
  ["customers", CUSTOMERS],
  ["iterations", N],
  ["warmup", WARMUP],
] as const)
  if (!Number.isInteger(v) || v < (k === "warmup" ? 0 : 1)) {
    console.error(`--${k}: expected a positive integer, got ${values[k]}`);
    process.exit(2);
  }

const KB = fileURLToPath(new URL("../data/knowledge-base", import.meta.url));

interface Sample {
  ms: number[];
  cpuUs: number;
  serverCpuUs: number | null;
  systemCalls: number;
  ok: number;
  errors: Record<string, number>;
}

/** Counts calls into the four systems (each is one HTTP round trip in http mode). */
function counted(systems: OperatorSystems): { systems: OperatorSystems; calls: () => number } {
  let n = 0;
  const wrap = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(t, prop, recv) {
        const v = Reflect.get(t, prop, recv);
        if (typeof v !== "function") return v;
        return (...args: unknown[]) => {
          n++;
          return (v as (...a: unknown[]) => unknown).apply(t, args);
        };
      },
    });
  const out: OperatorSystems = {
    crm: wrap(systems.crm),
    billing: wrap(systems.billing),
    network: wrap(systems.network),
    offers: wrap(systems.offers),
    mode: systems.mode,
    businessDate: () => {
      n++;
      return systems.businessDate();
    },
    close: () => systems.close(),
  };
  return { systems: out, calls: () => n };
}

async function measure(
  label: string,
  serverPid: number | undefined,
  calls: () => number,
  iterations: number,
  run: (i: number) => Promise<{ ok: boolean; error?: { code: string } } | undefined>,
): Promise<Sample> {
  for (let i = 0; i < WARMUP; i++) await run(-1 - i);
  const ms: number[] = [];
  const errors: Record<string, number> = {};
  let ok = 0;
  const calls0 = calls();
  const srv0 = procCpuUs(serverPid);
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    const r = await run(i);
    ms.push(performance.now() - t0);
    if (!r || r.ok) ok++;
    else errors[r.error?.code ?? "unknown"] = (errors[r.error?.code ?? "unknown"] ?? 0) + 1;
  }
  const cpu = process.cpuUsage(cpu0);
  const srv1 = procCpuUs(serverPid);
  if (ok === 0) console.error(`${label}: every call failed: ${JSON.stringify(errors)}`);
  return {
    ms,
    cpuUs: (cpu.user + cpu.system) / iterations,
    serverCpuUs: srv0 !== null && srv1 !== null ? (srv1 - srv0) / iterations : null,
    systemCalls: (calls() - calls0) / iterations,
    ok,
    errors,
  };
}

function summary(s: Sample) {
  return {
    calls: s.ms.length,
    ok: s.ok,
    errors: s.errors,
    p50_ms: r3(pct(s.ms, 50)),
    p95_ms: r3(pct(s.ms, 95)),
    mean_ms: r3(s.ms.reduce((a, b) => a + b, 0) / s.ms.length),
    cpu_us_per_call: Math.round(s.cpuUs),
    server_cpu_us_per_call: s.serverCpuUs === null ? null : Math.round(s.serverCpuUs),
    system_calls_per_call: r3(s.systemCalls),
  };
}

async function main() {
  const home = mkdtempSync(join(tmpdir(), "telco-bench-tools-"));
  let child: ChildProcess | undefined;
  let app: AppContext | undefined;
  try {
    const deliveryDir = join(
      home,
      "deliveries",
      "synthetic",
      runLabel({ customers: CUSTOMERS, months: 12, seed: 42, dirtyRate: 0 }),
    );
    const t0 = performance.now();
    await generateOperatorData({
      customers: CUSTOMERS,
      months: 12,
      seed: 42,
      start: "2025-01",
      dirtyRate: 0,
      outDir: deliveryDir,
    });
    const storePath = join(home, "systems", "operator.sqlite");
    const seeded = seedSystemsFromDelivery(sandboxSeeder(storePath), deliveryDir);
    const setupSeconds = (performance.now() - t0) / 1000;
    const server = await startSandboxChild(storePath);
    child = server.child;
    // How contended the machine was from here to the end (this process and the server child excluded).
    const load = contention(() => [process.pid, child?.pid]);
    const sys = (s: string) => ({ url: `${server.url}/${s}` });
    const config = configSchema.parse({
      operator: {
        systems: { crm: sys("crm"), billing: sys("billing"), network: sys("network"), offers: sys("offers") },
      },
    });
    app = contextFromConfig(config, home);
    await ingestIntoWorkspace(app, [KB]);
    const knowledge = knowledgeSearchFromApp(app);
    const scenarios: SandboxScenarios = seeded.scenarios;
    const inProcess = openSandbox(storePath);
    const http = await app.operator({ mode: "http" });

    const churn: ChurnRiskService = {
      async risk(customerId) {
        return {
          customer_id: customerId,
          probability: 0.8,
          band: "high",
          reasons: [{ feature: "tickets_90d", label: "muitos chamados recentes", contribution: 0.3 }],
          model_name: "churn",
          model_version: "bench",
          data_version: null,
          as_of: seeded.business_date,
        };
      },
    };

    // ---- anchors (measured before and after the tools; ratios use the later, warm one) ----
    const healthz = `${server.url}/healthz`;
    const anchorCustomer = scenarios.customers.mobile_postpaid[0] as string;
    const measureAnchors = async () => {
      const warm = Math.max(WARMUP, 50);
      for (let i = 0; i < warm; i++) await (await fetch(healthz)).arrayBuffer();
      const h = await measure(
        "anchor http",
        child?.pid,
        () => 0,
        N,
        async () => {
          const res = await fetch(healthz);
          await res.arrayBuffer();
          return { ok: res.ok };
        },
      );
      const p = await measure(
        "anchor in-process",
        undefined,
        () => 0,
        N,
        async () => {
          await inProcess.crm.getCustomer(anchorCustomer);
          return undefined;
        },
      );
      return { http: h, inProcess: p };
    };
    const anchorsBefore = await measureAnchors();

    let sessionSeq = 0;
    const identity = new Map<string, { cpf: string; birth_date: string }>();
    async function loggedIn(
      systems: OperatorSystems,
      customerId: string,
      session?: ToolSession,
    ): Promise<Toolbox> {
      const box = createToolbox(
        { systems, churn, knowledge },
        session ?? newToolSession({ session_id: `B${++sessionSeq}`, channel: "api", language: "pt-BR" }),
      );
      let id = identity.get(customerId);
      if (!id) {
        const p = await inProcess.crm.getCustomer(customerId);
        if (!p) throw new Error(`no customer ${customerId}`);
        id = { cpf: p.cpf, birth_date: p.birth_date };
        identity.set(customerId, id);
      }
      const r = await box.authenticate(id);
      if (!r.ok) throw new Error(`login ${customerId}: ${r.error.message}`);
      return box;
    }

    const pool = (s: keyof SandboxScenarios["customers"]) => scenarios.customers[s];
    const rotate = <T>(xs: readonly T[], i: number): T => xs[((i % xs.length) + xs.length) % xs.length] as T;

    // Customers with an agent-approved offer allowed now (for apply_offer: offers do not stack, so each
    // application needs its own contract), from every active mobile postpaid customer of the store.
    const offerPool: string[] = [];
    const mobileCustomers = (
      inProcess.store.db
        .prepare(
          "select distinct customer_id from contracts where status = 'active' and product in ('mobile_pos', 'mobile_controle') order by customer_id",
        )
        .all() as { customer_id: string }[]
    ).map((r) => r.customer_id);
    const wanted = MODES.length * (N + WARMUP);
    for (const id of mobileCustomers) {
      if (offerPool.length >= wanted) break;
      const box = await loggedIn(inProcess, id);
      const r = await box.call("get_eligible_offers", {});
      if (r.ok && r.result.offers.some((o) => o.approval === "agent")) offerPool.push(id);
    }

    const samples: Partial<Record<Mode, Record<string, Sample>>> = {};
    for (const mode of MODES) {
      const base = mode === "http" ? http : inProcess;
      const { systems, calls } = counted(base);
      const pid = mode === "http" ? child.pid : undefined;
      const out: Record<string, Sample> = {};
      const readers = new Map<string, Toolbox>();
      const reader = async (customerId: string) => {
        let b = readers.get(customerId);
        if (!b) {
          b = await loggedIn(systems, customerId);
          readers.set(customerId, b);
        }
        return b;
      };
      const bench = async (
        label: string,
        tool: ToolName,
        iterations: number,
        run: (i: number) => Promise<{ ok: boolean; error?: { code: string } } | undefined>,
      ) => {
        if (ONLY && !ONLY.has(tool)) return;
        out[label] = await measure(`${mode} ${label}`, pid, calls, iterations, run);
      };
      const mobile = pool("mobile_postpaid");
      const internet = pool("healthy_internet");

      await bench("get_customer_profile", "get_customer_profile", N, async (i) =>
        (await reader(rotate(mobile, i))).call("get_customer_profile", {}),
      );
      await bench("explain_invoice", "explain_invoice", N, async (i) =>
        (await reader(rotate(mobile, i))).call("explain_invoice", {}),
      );
      await bench("issue_invoice_copy", "issue_invoice_copy", N, async (i) => {
        const box = await loggedIn(systems, rotate(pool("overdue_invoice"), i));
        return box.call("issue_invoice_copy", {});
      });
      await bench("diagnose_internet", "diagnose_internet", N, async (i) =>
        (await reader(rotate(internet, i))).call("diagnose_internet", {}),
      );
      await bench("schedule_technician (list)", "schedule_technician", N, async (i) =>
        (await reader(rotate(pool("ont_los").concat(pool("degraded_line")), i))).call(
          "schedule_technician",
          {},
        ),
      );
      await bench("schedule_technician (book)", "schedule_technician", N, async (i) => {
        const box = await loggedIn(systems, rotate(internet, i));
        const listed = await box.call("schedule_technician", {});
        if (!listed.ok || listed.result.status !== "slots_offered" || !listed.result.slots.length)
          return listed;
        const slot = listed.result.slots[i < 0 ? 0 : i % listed.result.slots.length]?.slot_id as string;
        await box.recordConsent({ action: "schedule_technician", subject: slot });
        const t = await box.call("schedule_technician", { slot_id: slot, reason: "no_connection" });
        // Free the slot again (not timed separately; the cancel is part of this sample's wall time).
        if (t.ok && t.result.status === "booked")
          await base.network.cancelBooking(t.result.booking_id, {
            idempotencyKey: `bench-cancel-${t.result.booking_id}`,
          });
        return t;
      });
      await bench("get_churn_risk", "get_churn_risk", N, async (i) =>
        (await reader(rotate(mobile, i))).call("get_churn_risk", {}),
      );
      await bench("get_eligible_offers", "get_eligible_offers", N, async (i) =>
        (await reader(rotate(mobile, i))).call("get_eligible_offers", {}),
      );
      // apply_offer: one application per contract (offers do not stack), so one customer per call.
      const applyCandidates = offerPool.splice(
        0,
        Math.min(offerPool.length, Math.ceil(offerPool.length / MODES.length)),
      );
      const applyBoxes: { box: Toolbox; offer: string }[] = [];
      for (const id of applyCandidates) {
        const box = await loggedIn(systems, id);
        const r = await box.call("get_eligible_offers", {});
        const offer = r.ok ? r.result.offers.find((o) => o.approval === "agent")?.offer_id : undefined;
        if (!offer) continue;
        await box.recordConsent({ action: "apply_offer", subject: offer });
        applyBoxes.push({ box, offer });
      }
      if (applyBoxes.length > WARMUP) {
        let next = 0;
        await bench("apply_offer", "apply_offer", applyBoxes.length - WARMUP, async () => {
          const a = applyBoxes[next++] as { box: Toolbox; offer: string };
          return a.box.call("apply_offer", { offer_id: a.offer });
        });
      }
      await bench("recommend_plan", "recommend_plan", N, async (i) =>
        (await reader(rotate(mobile, i))).call("recommend_plan", {}),
      );
      // change_plan: the same mobile contract back and forth between two plans, a new session each call.
      const changer = mobile.find((id) => !applyCandidates.includes(id)) as string;
      const contract = (await inProcess.crm.listContracts(changer)).find(
        (c) => c.status === "active" && (c.product === "mobile_pos" || c.product === "mobile_controle"),
      );
      if (contract) {
        await bench("change_plan", "change_plan", N, async () => {
          const current = (await inProcess.crm.listContracts(changer)).find(
            (c) => c.contract_id === contract.contract_id,
          );
          const to = current?.plan_id === "POS100" ? "POS50" : "POS100";
          const box = await loggedIn(systems, changer);
          await box.recordConsent({ action: "change_plan", subject: to });
          return box.call("change_plan", { to_plan_id: to, contract_id: contract.contract_id });
        });
      }
      const questions = [
        "como cancelo meu plano?",
        "quanto custa o roaming internacional?",
        "a multa de fidelidade é proporcional?",
        "minha internet está lenta, o que faço?",
      ];
      await bench("search_knowledge_base", "search_knowledge_base", N, async (i) =>
        (await reader(rotate(mobile, 0))).call("search_knowledge_base", {
          query: rotate(questions, i),
          k: 4,
        }),
      );
      await bench("register_interaction", "register_interaction", N, async (i) =>
        (await reader(rotate(mobile, i))).call("register_interaction", {
          category: "billing",
          summary: `bench interaction ${mode} ${i} ${sessionSeq}`,
          sentiment: "neutral",
          outcome: "resolved",
        }),
      );
      await bench("escalate_to_human", "escalate_to_human", N, async (i) =>
        (await reader(rotate(mobile, i))).call("escalate_to_human", {
          reason: "customer_request",
          topic: "billing",
          summary: `bench handoff ${mode} ${i} ${sessionSeq}`,
        }),
      );
      samples[mode] = out;
    }
    const anchorsAfter = await measureAnchors();
    const results: Record<string, Record<string, unknown>> = {};
    for (const [mode, out] of Object.entries(samples) as [Mode, Record<string, Sample>][]) {
      const anchor = mode === "http" ? anchorsAfter.http : anchorsAfter.inProcess;
      const anchorP50 = pct(anchor.ms, 50);
      const anchorP95 = pct(anchor.ms, 95);
      results[mode] = Object.fromEntries(
        Object.entries(out).map(([label, s]) => {
          const sum = summary(s);
          return [
            label,
            {
              ...sum,
              ratio_p50_vs_anchor: r3(sum.p50_ms / anchorP50),
              ratio_p95_vs_anchor: r3(sum.p95_ms / anchorP95),
              ratio_cpu_vs_anchor: r3(s.cpuUs / anchor.cpuUs),
            },
          ];
        }),
      );
    }

    const doc = {
      bench: "tools",
      node: process.version,
      contention: load.stop(),
      customers: CUSTOMERS,
      business_date: seeded.business_date,
      iterations: N,
      warmup: WARMUP,
      setup_seconds: r3(setupSeconds),
      tools: TOOL_NAMES.length,
      notes: [
        "latency: wall time of toolbox.call() (validation, checks, every system call, output validation)",
        "cpu_us_per_call: this process (tool layer + HTTP client); server_cpu_us_per_call: the sandbox server child (10 ms ticks)",
        "writes use a new session or subject per call (real writes, no idempotent replays); book includes a cancel to free the slot",
        "churn: constant ChurnRiskService (the scorer is measured by bench:serve); rules engine and systems are real",
      ],
      anchors: {
        http_healthz_round_trip: summary(anchorsAfter.http),
        in_process_crm_get_customer: summary(anchorsAfter.inProcess),
        before_tools: {
          http_healthz_round_trip: summary(anchorsBefore.http),
          in_process_crm_get_customer: summary(anchorsBefore.inProcess),
        },
      },
      results,
    };
    process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    await inProcess.close();
  } finally {
    await app?.close();
    await stopChild(child);
    rmSync(home, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

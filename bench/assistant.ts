/**
 * Assistant benchmark (`npm run bench:assistant [-- --customers N] [--conversations N] [--concurrency N]
 * [--think-ms N] [--modes in-process,http] [--profile FILE]`). Prints one JSON document.
 *
 * A synthetic delivery (default 300 customers, 12 months) seeds the operator sandbox in a temp workspace
 * and the built-in knowledge base is indexed there. The sandbox server runs in its own child process
 * (like `telco systems serve`). Scripted conversations covering every journey (knowledge question,
 * invoice explanation, second copy, internet diagnosis with guided steps, plan recommendation,
 * cancellation with retention) go through the whole assistant — local understanding, flows, tools,
 * templates, session persistence (node:sqlite) — with the systems over HTTP and in-process: one
 * session at a time; 50 sessions open at once, each customer thinking ~1 s before a turn; and the same
 * 50 with no think time (saturation: throughput). Each turn is timed around `Assistant.chat()`.
 *
 * Reported per mode and concurrency: turn latency p50/p95/p99, turns per second, CPU per turn of this
 * process (process.cpuUsage) and, over HTTP, of the sandbox child (/proc, 10 ms ticks), and where the
 * time of a turn goes (understanding, tools, retrieval, dialogue/templates, persistence: the engine's
 * own per-turn timings, the guardrails' own time, and the rest: tracing, queueing, waiting for a core).
 * Tracing's CPU cost is the traced minus the untraced single-session CPU per turn. Anchors measured in
 * the same run: one sandbox GET round trip through the HTTP connector (`crm.getCustomer`) and the
 * understanding step alone (`LocalUnderstanding.analyzeAt`). Each phase says how contended the machine
 * was (bench/common.ts `contention`: cores other processes used, load, a spin probe's wall/CPU ratio).
 * Goal: p95 ≤ 50 ms per turn. The churn band comes from a preset (the scorer is bench:serve's).
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import type { Assistant } from "../llmops/agent/assistant.ts";
import type { TurnTimings } from "../llmops/agent/engine.ts";
import { PresetChurnRisk } from "../llmops/agent/testing.ts";
import { LocalUnderstanding } from "../llmops/agent/understanding/local.ts";
import { openAssistant } from "../llmops/assistant/compose.ts";
import { ingestBuiltinKnowledgeBase } from "../llmops/rag/api.ts";
import { generateOperatorData, runLabel } from "../mlops/simulator/generate.ts";
import { seedSystemsFromDelivery } from "../mlops/simulator/systems-seed.ts";
import { configSchema } from "../platform/config/schema.ts";
import { contextFromConfig } from "../platform/context.ts";
import type { OperatorSystems } from "../platform/ports/operator-systems.ts";
import { openSandbox, type SandboxScenarios, sandboxSeeder } from "../platform/sandbox/index.ts";
import {
  benchArgs,
  type Contention,
  contention,
  numberArg,
  pct,
  procCpuUs,
  r2,
  startSandboxChild,
  stopChild,
} from "./common.ts";

const USAGE = `npm run bench:assistant -- [--customers N] [--conversations N] [--concurrency N] [--think-ms N]
    [--modes in-process,http] [--profile FILE]
Assistant turn latency (p50/p95/p99), CPU per turn and where a turn's time goes, one session and
--concurrency sessions, in process and with the operator systems over HTTP. Prints one JSON document.`;

const values = benchArgs(
  {
    customers: { type: "string", default: "300" },
    conversations: { type: "string", default: "60" },
    concurrency: { type: "string", default: "50" },
    /** Mean think time (ms) of a customer between turns in the concurrent phase (uniform ±50%). */
    "think-ms": { type: "string", default: "1000" },
    modes: { type: "string", default: "in-process,http" },
    /** Write a V8 CPU profile of the measured turns (all phases) to this file. */
    profile: { type: "string" },
  },
  USAGE,
);
const CUSTOMERS = numberArg("customers", values.customers);
const CONVERSATIONS = numberArg("conversations", values.conversations);
const CONCURRENCY = numberArg("concurrency", values.concurrency);
const THINK_MS = numberArg("think-ms", values["think-ms"], 0);
type Mode = "http" | "in-process";
const MODES = (values.modes ?? "").split(",").filter((m): m is Mode => m === "http" || m === "in-process");
for (const [k, v] of [
  ["customers", CUSTOMERS],
  ["conversations", CONVERSATIONS],
  ["concurrency", CONCURRENCY],
] as const)
  if (!Number.isInteger(v) || v < 1) {
    process.stderr.write(`--${k} must be a positive whole number\n`);
    process.exit(2);
  }
if (MODES.length === 0) {
  process.stderr.write("--modes must name in-process and/or http\n");
  process.exit(2);
}

const GOAL_P95_MS = 50;

interface Plan {
  journey: string;
  customer: string;
  turns: string[];
}

/** Conversations over distinct customers, cycling through the journeys (the same script per journey). */
function plans(s: SandboxScenarios, n: number): Plan[] {
  const pools = {
    any: [...s.customers.healthy_internet, ...s.customers.mobile_postpaid],
    overdue: s.customers.overdue_invoice,
    internet: s.customers.healthy_internet,
    mobile: s.customers.mobile_postpaid,
    retention: [...s.customers.fidelity_active, ...s.customers.mobile_postpaid],
  };
  const scripts: { journey: string; pool: keyof typeof pools; turns: string[] }[] = [
    { journey: "knowledge", pool: "any", turns: ["como funciona a portabilidade do meu número?"] },
    { journey: "invoice_explanation", pool: "any", turns: ["pq minha conta veio mais alta esse mês?"] },
    { journey: "invoice_copy", pool: "overdue", turns: ["preciso da segunda via da fatura"] },
    {
      journey: "internet_diagnosis",
      pool: "internet",
      turns: ["minha internet tá lenta", "voltou sim, obrigado"],
    },
    {
      journey: "plan_recommendation",
      pool: "mobile",
      turns: ["quero um plano com mais internet", "não, obrigado"],
    },
    {
      journey: "cancellation",
      pool: "retention",
      turns: ["quero cancelar", "tá muito caro", "quero cancelar mesmo"],
    },
  ];
  const used = new Map<string, number>();
  const out: Plan[] = [];
  for (let i = 0; i < n; i++) {
    const sc = scripts[i % scripts.length];
    const pool = pools[sc.pool];
    const k = used.get(sc.pool) ?? 0;
    used.set(sc.pool, k + 1);
    out.push({ journey: sc.journey, customer: pool[k % pool.length], turns: sc.turns });
  }
  return out;
}

interface TurnSample {
  ms: number;
  timings: TurnTimings;
  persistence_ms: number;
  guardrails_ms: number;
}

/** mulberry32: a seeded generator, so think times are the same in every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Runs the conversations on `concurrency` sessions at once. With `thinkMs`, each customer waits a
 * uniform 50–150% of it before every turn (people read and type); 0 is a saturation test.
 */
async function runConversations(
  assistant: Assistant,
  list: Plan[],
  concurrency: number,
  thinkMs = 0,
): Promise<TurnSample[]> {
  const samples: TurnSample[] = [];
  const random = rng(42);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= list.length) return;
      const p = list[i];
      let session: string | undefined;
      for (const text of p.turns) {
        if (thinkMs > 0) await new Promise((r) => setTimeout(r, thinkMs * (0.5 + random())));
        const t0 = performance.now();
        const o = await assistant.chat({
          session_id: session,
          customer_id: p.customer,
          channel: "api",
          message: text,
        });
        samples.push({
          ms: performance.now() - t0,
          timings: o.turn.trace.timings,
          persistence_ms: o.persistence_ms,
          guardrails_ms: (o as { guardrails_ms?: number }).guardrails_ms ?? 0,
        });
        session = o.response.session_id;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, list.length) }, worker));
  return samples;
}

function summarise(samples: TurnSample[], wallMs: number, cpuUs: number, serverCpuUs: number | null) {
  const ms = samples.map((s) => s.ms);
  const mean = (f: (s: TurnSample) => number) => r2(samples.reduce((a, s) => a + f(s), 0) / samples.length);
  const parts = {
    understanding: mean((s) => s.timings.understanding_ms),
    tools: mean((s) => s.timings.tools_ms),
    retrieval: mean((s) => s.timings.retrieval_ms),
    dialogue_and_templates: mean((s) => s.timings.dialogue_ms),
    guardrails: mean((s) => s.guardrails_ms),
    persistence: mean((s) => s.persistence_ms),
  };
  // The rest of the turn's wall time: tracing (span creation, masking, attributes), the guarded
  // wrapper's session peek, the per-session queue, and waiting for the CPU (other turns, other processes).
  const accounted = Object.values(parts).reduce((a, b) => a + b, 0);
  const breakdown = { ...parts, other_and_waiting: r2(Math.max(0, mean((s) => s.ms) - accounted)) };
  const total = Object.values(breakdown).reduce((a, b) => a + b, 0);
  return {
    turns: samples.length,
    p50_ms: r2(pct(ms, 50)),
    p95_ms: r2(pct(ms, 95)),
    p99_ms: r2(pct(ms, 99)),
    mean_ms: mean((s) => s.ms),
    turns_per_s: r2((samples.length / wallMs) * 1000),
    cpu_us_per_turn: Math.round(cpuUs / samples.length),
    server_cpu_us_per_turn: serverCpuUs === null ? null : Math.round(serverCpuUs / samples.length),
    mean_breakdown_ms: breakdown,
    share: Object.fromEntries(Object.entries(breakdown).map(([k, v]) => [k, total ? r2(v / total) : 0])),
  };
}

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

async function main() {
  const home = mkdtempSync(join(tmpdir(), "telco-bench-assistant-"));
  let child: ChildProcess | undefined;
  try {
    process.stderr.write(`generating ${CUSTOMERS} customers…\n`);
    const delivery = join(
      home,
      "deliveries",
      runLabel({ customers: CUSTOMERS, months: 12, seed: 42, dirtyRate: 0 }),
    );
    await generateOperatorData({
      customers: CUSTOMERS,
      months: 12,
      seed: 42,
      start: "2025-01",
      dirtyRate: 0,
      outDir: delivery,
    });
    const storePath = join(home, "systems", "operator.sqlite");
    const seeded = seedSystemsFromDelivery(sandboxSeeder(storePath), delivery);
    const server = await startSandboxChild(storePath);
    child = server.child;
    const app = contextFromConfig(
      configSchema.parse({
        operator: {
          systems: Object.fromEntries(
            (["crm", "billing", "network", "offers"] as const).map((s) => [s, { url: `${server.url}/${s}` }]),
          ),
        },
      }),
      home,
    );
    process.stderr.write("indexing the knowledge base…\n");
    await ingestBuiltinKnowledgeBase(app);
    const inProcess = openSandbox(storePath);
    const http = await app.operator({ mode: "http" });
    const churn = new PresetChurnRisk();
    for (const id of [
      ...seeded.scenarios.customers.fidelity_active,
      ...seeded.scenarios.customers.mobile_postpaid,
    ])
      churn.set(id, "high");
    const understanding = new LocalUnderstanding({ businessDate: () => seeded.business_date });
    understanding.warmUp();

    // Anchors, in this run: one sandbox GET through the HTTP connector, and the understanding step alone.
    const ids = seeded.scenarios.customers.healthy_internet;
    for (let i = 0; i < 20; i++) await http.crm.getCustomer(ids[i % ids.length]);
    const get: number[] = [];
    for (let i = 0; i < 300; i++) {
      const t0 = performance.now();
      await http.crm.getCustomer(ids[i % ids.length]);
      get.push(performance.now() - t0);
    }
    const texts = plans(seeded.scenarios, 60).flatMap((p) => p.turns);
    const nlu: number[] = [];
    const state = { active_flow: null, awaiting_slot: null, listed_options: [], language: "pt-BR" as const };
    for (let round = 0; round < 5; round++)
      for (const t of texts) {
        const t0 = performance.now();
        understanding.analyzeAt(t, state, seeded.business_date);
        if (round > 0) nlu.push(performance.now() - t0);
      }
    const anchors = {
      sandbox_get_round_trip_ms: { p50: r2(pct(get, 50)), p95: r2(pct(get, 95)) },
      understanding_step_ms: { p50: r2(pct(nlu, 50)), p95: r2(pct(nlu, 95)) },
    };

    const results: Record<string, unknown> = {};
    const contended: Contention[] = [];
    const inspector = values.profile ? new Session() : undefined;
    if (inspector) {
      inspector.connect();
      await inspector.post("Profiler.enable");
    }
    for (const mode of MODES) {
      const systems: OperatorSystems = mode === "http" ? http : inProcess;
      // [label, sessions at once, conversations, think time, traced (llmops/observability on)]
      const phases: [string, number, number, number, boolean][] = [
        ["single_session", 1, CONVERSATIONS, 0, true],
        ["single_session_untraced", 1, CONVERSATIONS, 0, false],
        [
          `concurrent_${CONCURRENCY}_sessions`,
          CONCURRENCY,
          Math.max(CONVERSATIONS, CONCURRENCY * 2),
          THINK_MS,
          true,
        ],
        [
          `saturation_${CONCURRENCY}_sessions`,
          CONCURRENCY,
          Math.max(CONVERSATIONS, CONCURRENCY * 2),
          0,
          true,
        ],
      ];
      for (const [label, concurrency, count, think, traced] of phases) {
        seedSystemsFromDelivery(sandboxSeeder(storePath), delivery);
        const assistant = await openAssistant(app, {
          systems,
          churn,
          understanding,
          phraser: null,
          ...(traced ? {} : { observer: null }),
        });
        await runConversations(assistant, plans(seeded.scenarios, 12), 1); // warm-up (index, caches, JIT)
        seedSystemsFromDelivery(sandboxSeeder(storePath), delivery);
        const list = plans(seeded.scenarios, count);
        if (inspector) await inspector.post("Profiler.start");
        const load = contention(() => [process.pid, child?.pid]);
        const cpu0 = process.cpuUsage();
        const srv0 = mode === "http" ? procCpuUs(child.pid) : null;
        const t0 = performance.now();
        const samples = await runConversations(assistant, list, concurrency, think);
        const wall = performance.now() - t0;
        const cpu = process.cpuUsage(cpu0);
        if (inspector && values.profile) {
          const { profile } = await inspector.post("Profiler.stop");
          writeFileSync(`${values.profile}.${mode}.${label}.cpuprofile`, JSON.stringify(profile));
        }
        const srv1 = mode === "http" ? procCpuUs(child.pid) : null;
        const machine = load.stop();
        contended.push(machine);
        await assistant.close();
        results[`${mode}.${label}`] = {
          conversations: list.length,
          concurrency,
          think_ms: think,
          contention: machine,
          ...summarise(
            samples,
            wall,
            cpu.user + cpu.system,
            srv0 !== null && srv1 !== null ? srv1 - srv0 : null,
          ),
        };
        process.stderr.write(`${mode} ${label}: done\n`);
      }
    }
    // The goal is about a turn's latency as customers see it: saturation runs measure throughput only.
    const p95s = Object.entries(results)
      .filter(([k]) => !k.includes("saturation"))
      .map(([, r]) => (r as { p95_ms: number }).p95_ms);
    const single = results["in-process.single_session"] as { p50_ms: number } | undefined;
    // What tracing costs: the same single-session turns traced and untraced, CPU of this process.
    const cpuOf = (k: string) => (results[k] as { cpu_us_per_turn?: number } | undefined)?.cpu_us_per_turn;
    const tracing = Object.fromEntries(
      MODES.flatMap((m) => {
        const on = cpuOf(`${m}.single_session`);
        const off = cpuOf(`${m}.single_session_untraced`);
        return on !== undefined && off !== undefined
          ? [[m, { cpu_us_per_turn: on - off, share_of_traced_cpu: r2((on - off) / on) }]]
          : [];
      }),
    );
    process.stdout.write(
      `${JSON.stringify(
        {
          bench: "assistant",
          machine: {
            cpus: cpus().length,
            model: cpus()[0]?.model,
            node: process.version,
            // How contended the measured phases were (each phase has its own `contention`).
            contention: {
              other_processes_cores_mean: r2(mean(contended.map((c) => c.other_processes_cores ?? 0))),
              other_processes_cores_max: Math.max(...contended.map((c) => c.other_processes_cores ?? 0)),
              loadavg_1m_max: Math.max(...contended.flatMap((c) => c.loadavg_1m)),
              spin_wall_over_cpu_max: Math.max(...contended.flatMap((c) => c.spin_wall_over_cpu)),
            },
          },
          setup: {
            customers: CUSTOMERS,
            conversations: CONVERSATIONS,
            concurrency: CONCURRENCY,
            engine: "local understanding, templates (no LLM)",
            journeys: [
              "knowledge",
              "invoice_explanation",
              "invoice_copy",
              "internet_diagnosis",
              "plan_recommendation",
              "cancellation",
            ],
            think_ms: THINK_MS,
            note: "latency = Assistant.chat() wall time per turn: understanding, flows, tools against the sandbox, templates, session load+save, the turn's trace; concurrent = that many sessions open, each customer thinking think_ms (±50%) before a turn; saturation = no think time (throughput: latency there is queueing); cpu_us_per_turn = this process; server_cpu_us_per_turn = the sandbox child (10 ms ticks)",
          },
          anchors,
          tracing_cost: tracing,
          results,
          ratios: single
            ? {
                single_in_process_p50_over_sandbox_get_p50: r2(
                  single.p50_ms / anchors.sandbox_get_round_trip_ms.p50,
                ),
                single_in_process_p50_over_understanding_p50: r2(
                  single.p50_ms / anchors.understanding_step_ms.p50,
                ),
              }
            : {},
          goal: {
            p95_ms_per_turn: GOAL_P95_MS,
            worst_p95_ms: Math.max(...p95s),
            met: Math.max(...p95s) <= GOAL_P95_MS,
          },
        },
        null,
        2,
      )}\n`,
    );
    await inProcess.close();
    await app.close();
  } finally {
    await stopChild(child);
    rmSync(home, { recursive: true, force: true });
  }
}

await main();

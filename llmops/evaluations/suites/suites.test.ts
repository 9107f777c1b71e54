import { describe, expect, it } from "vitest";
import { evalsConfigSchema } from "../../../platform/config/sections/evals.ts";
import { emptyTotals } from "../../observability/cost.ts";
import type { TurnRecord } from "../../observability/observer.ts";
import { gateRun, regressionOf } from "../report/gate.ts";
import { acceptRun, baselineFor } from "../report/store.ts";
import type { GoldenData } from "./context.ts";
import { claimsOf, groundednessSuite } from "./groundedness.ts";
import { costSuite, latencySuite } from "./latency-cost.ts";
import { type EvalRun, metric, passHatK, quantile } from "./types.ts";

// The scorers on hand-made inputs whose right answers are worked out here.

function turn(p: Partial<TurnRecord> & Pick<TurnRecord, "reply">): TurnRecord {
  return {
    trace_id: "t".repeat(32),
    turn_trace_id: "turn",
    session_id: "ses_1",
    channel: "chat",
    customer_id: "AUR-00000001",
    message: "",
    intent: null,
    outcome: "answered",
    duration_ms: 10,
    timings: null,
    templates: [],
    tool_calls: [],
    citations: [],
    passages: [],
    guardrails: [],
    totals: emptyTotals(),
    lineage: {
      prompts: [],
      index_versions: [],
      cited: [],
      cited_chunks: [],
      churn: null,
      rules_versions: [],
      decisions: [],
      llms: [],
      deployed: null,
    },
    ...p,
  };
}

const invoice = {
  name: "explain_invoice",
  ok: true,
  args: {},
  ms: 1,
  result: {
    reference_month: "2026-02",
    total_brl: 119.99,
    due_date: "2026-03-10",
    plan: "Aurora Fibra 500 Mega",
  },
};

describe("groundedness claims", () => {
  it("supports each claim by the turn's tool results, an earlier turn, or the customer; flags an invented one", () => {
    const first = turn({ reply: "ok", tool_calls: [invoice] });
    const claims = claimsOf(
      turn({
        message: "paguei 50 reais ontem",
        reply:
          "Sua fatura do Aurora Fibra 500 Mega é de R$ 119,99 e vence em 10/03. Você disse que pagou R$ 50,00. Com o desconto de 10% fica R$ 99,00.\n\nProtocolo do atendimento: AUR2026031000000042.",
        tool_calls: [
          {
            name: "register_interaction",
            ok: true,
            args: {},
            ms: 1,
            result: { protocol: "AUR2026031000000042" },
          },
        ],
      }),
      [first],
    );
    const by = (text: string) => claims.find((c) => c.text === text)?.support;
    expect(by("R$ 119,99")).toBe("earlier_turn");
    expect(by("03-10")).toBe("earlier_turn");
    expect(by("Aurora Fibra 500 Mega")).toBe("earlier_turn");
    expect(by("R$ 50,00")).toBe("customer");
    expect(by("AUR2026031000000042")).toBe("turn");
    // Neither the 10% nor R$ 99,00 came from anywhere.
    expect(by("10%")).toBeNull();
    expect(by("R$ 99,00")).toBeNull();
    expect(claims.filter((c) => c.kind === "protocol")).toHaveLength(1);
  });

  it("checks quoted knowledge sentences against the cited passages only, and each citation against the retrieval", () => {
    const passage = {
      doc_id: "faq-portabilidade",
      chunk_id: "faq-portabilidade#0",
      title: "Portabilidade",
      section: "Prazo",
      score: 1,
      source: "faq",
      text: "A portabilidade leva até 3 dias úteis. Você mantém o número.",
    };
    const reply = [
      "Voltando ao seu pedido:",
      "",
      "Veja o que diz a nossa documentação:",
      "- A portabilidade leva até 3 dias úteis.",
      "- A portabilidade é grátis para sempre.",
      "(Fonte: Portabilidade › Prazo; Outro)",
    ].join("\n");
    const claims = claimsOf(
      turn({
        reply,
        templates: ["cancellation.resume", "knowledge.extractive"],
        passages: [passage],
        citations: [
          { doc_id: "faq-portabilidade", title: "Portabilidade", section: "Prazo", source: "faq" },
          { doc_id: "faq-outro", title: "Outro", section: "", source: "faq" },
        ],
      }),
      [],
    );
    const quotes = claims.filter((c) => c.kind === "quote");
    expect(quotes.map((q) => [q.text, q.support])).toEqual([
      ["A portabilidade leva até 3 dias úteis.", "cited"],
      ["A portabilidade é grátis para sempre.", null],
    ]);
    expect(claims.filter((c) => c.kind === "citation").map((c) => [c.text, c.support])).toEqual([
      ["faq-portabilidade", "turn"],
      ["faq-outro", null],
    ]);
  });
});

function golden(turnsPerConversation: TurnRecord[][], passed: boolean[][] = []): GoldenData {
  const k = Math.max(1, passed[0]?.length ?? 1);
  return {
    ms: 1,
    trials: Array.from({ length: k }, (_, t) =>
      turnsPerConversation.map((turns, i) => ({
        trial: t,
        turns,
        conversation: {
          id: `c${i + 1}`,
          journey: "j",
          language: "pt-BR",
          passed: passed[i]?.[t] ?? true,
          failures: passed[i]?.[t] === false ? ["x"] : [],
          customer_id: null,
          session_id: "ses",
          transcript: turns.map((x) => ({ user: x.message, reply: x.reply, tools: [] })),
          ms: 1,
        },
      })),
    ),
  };
}

describe("suites built on the golden conversations", () => {
  const th = evalsConfigSchema.parse({}).thresholds;

  it("groundedness fails the conversation with an unsupported claim and reports the rate", () => {
    const data = golden([
      [turn({ reply: "Sua fatura é de R$ 119,99.", tool_calls: [invoice] })],
      [turn({ reply: "Sua fatura é de R$ 129,99.", tool_calls: [invoice] })],
    ]);
    const s = groundednessSuite(data, th.groundedness);
    expect(s.cases.map((c) => c.passed)).toEqual([true, false]);
    expect(s.cases[1].failures[0]).toContain('amount "R$ 129,99"');
    expect(s.metrics.find((m) => m.name === "supported_rate")?.value).toBe(0.5);
  });

  it("latency takes quantiles of the turn times; cost is 0 without model calls and priced with them", () => {
    const ms = [5, 10, 15, 20, 100];
    const local = golden([ms.map((d) => turn({ reply: "ok", duration_ms: d }))]);
    const lat = latencySuite(local, th.latency);
    expect(lat.metrics.find((m) => m.name === "p50_ms")?.value).toBe(15);
    expect(lat.metrics.find((m) => m.name === "p95_ms")?.value).toBeCloseTo(84, 10);
    const c0 = costSuite(local, th.cost);
    expect(c0.summary).toContain("no model calls (local engine)");
    expect(c0.metrics.find((m) => m.name === "cost_per_conversation_max")?.value).toBe(0);

    const priced = { ...emptyTotals(), calls: 2, cost: 0.003, currency: "USD" as const };
    priced.usage = {
      inputTokens: 1000,
      cachedInputTokens: 0,
      outputTokens: 100,
      reasoningTokens: 0,
      totalTokens: 1100,
    };
    const unpriced = { ...emptyTotals(), calls: 1, cost: null, unpriced: 1 };
    const c1 = costSuite(
      golden([[turn({ reply: "a", totals: priced }), turn({ reply: "b", totals: priced })]]),
      th.cost,
    );
    expect(c1.metrics.find((m) => m.name === "cost_per_conversation_max")?.value).toBeCloseTo(0.006, 12);
    expect(c1.metrics.find((m) => m.name === "cost_per_turn")?.value).toBeCloseTo(0.003, 12);
    const c2 = costSuite(golden([[turn({ reply: "a", totals: unpriced })]]), th.cost);
    expect(c2.metrics.find((m) => m.name === "cost_per_conversation_max")?.value).toBeNull();
    expect(c2.cases[0].failures[0]).toMatch(/cost unknown: .*missing from llm.prices/);
  });
});

describe("pass^k, quantiles and the gate", () => {
  it("estimates pass^k per task as C(c,k)/C(n,k)", () => {
    // Task 1: 3/3, task 2: 2/3, task 3: 0/3.
    const t = [
      [true, true, true],
      [true, false, true],
      [false, false, false],
    ];
    expect(passHatK(t, 1)).toBeCloseTo((1 + 2 / 3 + 0) / 3, 12);
    expect(passHatK(t, 2)).toBeCloseTo((1 + 1 / 3 + 0) / 3, 12);
    expect(passHatK(t, 3)).toBeCloseTo(1 / 3, 12);
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
  });

  const cfg = evalsConfigSchema.parse({});
  const run = (value: number, p95: number, cases: Record<string, boolean>): EvalRun => ({
    run_id: "ev-20260101-000000-abcd",
    created_at: "2026-01-01T00:00:00.000Z",
    engine: "local",
    k: 1,
    git: { commit: null, dirty: null },
    llm: "local:offline",
    duration_ms: 1,
    gate: {
      passed: true,
      threshold_misses: [],
      regressions: [],
      newly_failing: [],
      baseline: null,
      notes: [],
    },
    suites: [
      {
        suite: "golden",
        status: "ran",
        summary: "",
        ms: 1,
        notes: [],
        metrics: [
          metric("pass_rate", value, {
            unit: "rate",
            regression: "absolute",
            threshold: { op: ">=", value: 0.9, key: "evals.thresholds.golden.minPassRate" },
          }),
        ],
        cases: Object.entries(cases).map(([id, passed]) => ({ id, passed, failures: [] })),
      },
      {
        suite: "latency",
        status: "ran",
        summary: "",
        ms: 1,
        notes: [],
        metrics: [metric("p95_ms", p95, { unit: "ms", regression: "latency" })],
        cases: [],
      },
    ],
  });

  it("fails on a threshold miss, on a regression beyond tolerance, and passes within it", () => {
    const accepted = baselineFor(
      acceptRun({ version: 1, engines: {} }, run(0.98, 20, { a: true, b: true })),
      "local",
    );
    expect(accepted?.suites.golden.metrics.pass_rate).toBe(0.98);
    expect(gateRun(run(0.975, 60, { a: true, b: true }), accepted, cfg).passed).toBe(true);
    const reg = gateRun(run(0.95, 20, { a: true, b: false }), accepted, cfg);
    expect(reg.passed).toBe(false);
    expect(reg.regressions).toEqual(["golden.pass_rate regressed: 0.95 vs baseline 0.98 (tolerance 0.01)"]);
    expect(reg.newly_failing).toEqual(["golden:b"]);
    const miss = gateRun(run(0.8, 20, { a: true }), null, cfg);
    expect(miss.threshold_misses).toEqual([
      "golden.pass_rate 0.8 < 0.9 (evals.thresholds.golden.minPassRate)",
    ]);
    expect(miss.notes[0]).toMatch(/no accepted baseline/);
    const slow = gateRun(run(0.98, 81, { a: true, b: true }), accepted, cfg);
    expect(slow.regressions[0]).toMatch(/latency.p95_ms regressed: 81 ms vs baseline 20 ms \(allowed ×4\)/);
  });

  it("compares cost against the baseline: any cost over a zero baseline regresses", () => {
    const m = metric("cost_per_turn", 0.0001, { unit: "money", regression: "cost" });
    expect(regressionOf(m, 0, cfg.tolerance)).toMatch(/allowed \+25%/);
    expect(regressionOf(m, 0.0001, cfg.tolerance)).toBeNull();
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configSchema } from "../../../platform/config/schema.ts";
import { contextFromConfig } from "../../../platform/context.ts";
import { mockLlmProvider, templateAnswerOf } from "../../observability/testing.ts";
import { type SandboxFixture, sandboxFixture } from "../../testing/sandbox-fixture.ts";
import { REPO_ROOT, runEvals } from "./index.ts";
import { judgeConversation, tonePolicy } from "./judge.ts";

// A generative engine under evaluation, with a mock model (no provider): every golden conversation runs
// k times (pass^k), the model's tokens are priced per turn and conversation, and the LLM judge scores
// each conversation through the versioned judge prompt — with personal data masked before it is sent.

let sb: SandboxFixture;
beforeAll(async () => {
  sb = await sandboxFixture();
}, 120_000);
afterAll(async () => {
  await sb?.cleanup();
});

const CPF = /\b\d{3}\.?\d{3}\.?\d{3}-?\d{2}\b/;

function model(judge: () => string) {
  return mockLlmProvider({
    modelId: "mock-llm",
    usage: { input: 900, cachedInput: 100, output: 60, reasoning: 10 },
    price: {
      currency: "USD",
      inputPerMTok: 0.3,
      outputPerMTok: 2.5,
      cachedInputPerMTok: 0.03,
      reasoningPerMTok: 2.5,
    },
    respond: ({ system, prompt }) => {
      const text = `${system}\n${prompt}`;
      if (text.includes("strict quality reviewer")) return judge();
      if (text.includes("Template answer:")) return templateAnswerOf(system);
      // The understanding prompt: no usable command, so the local engine answers the turn (fallback).
      return '{"commands":[]}';
    },
  });
}

describe("eval with a generative engine", () => {
  it("reports pass^k over k trials, prices every model call, and judges each conversation", async () => {
    const llm = model(() => JSON.stringify({ helpfulness: 4, tone: 5, grounding: 4, rationale: "fine" }));
    const app = contextFromConfig(configSchema.parse({}), sb.home);
    const run = await runEvals({
      app,
      engine: "llm",
      k: 2,
      suites: ["golden", "cost", "judge"],
      only: ["invoice-"],
      fixture: sb,
      llm,
    });
    const golden = run.suites.find((s) => s.suite === "golden");
    expect(golden?.status, golden?.error).toBe("ran");
    expect(golden?.metrics.map((m) => m.name)).toEqual(["pass^2", "pass^1", "conversations"]);
    expect(golden?.cases.every((c) => c.trials?.length === 2)).toBe(true);
    const n = golden?.cases.length ?? 0;
    expect(n).toBeGreaterThanOrEqual(5);

    const cost = run.suites.find((s) => s.suite === "cost");
    const value = (name: string) => cost?.metrics.find((m) => m.name === name)?.value;
    const calls = value("model_calls") as number;
    // Every model call of the assistant reported 900 in / 60 out; the judge's calls are not in here.
    expect(calls).toBeGreaterThan(0);
    expect(value("input_tokens")).toBe(900 * calls);
    expect(value("output_tokens")).toBe(60 * calls);
    expect(value("cached_input_tokens")).toBe(100 * calls);
    // Per call: 800 × 0.3 + 100 × 0.03 + 50 × 2.5 + 10 × 2.5 per million tokens.
    const perCall = (800 * 0.3 + 100 * 0.03 + 50 * 2.5 + 10 * 2.5) / 1e6;
    expect(value("cost_per_conversation_mean")).toBeCloseTo((perCall * calls) / (2 * n), 9);

    const judge = run.suites.find((s) => s.suite === "judge");
    expect(judge?.status, judge?.error).toBe("ran");
    expect(judge?.metrics.find((m) => m.name === "helpfulness")?.value).toBe(4);
    expect(judge?.metrics.find((m) => m.name === "tone")?.value).toBe(5);
    expect(judge?.metrics.find((m) => m.name === "unjudged")?.value).toBe(0);
    expect(judge?.notes[0]).toMatch(/^judge prompt judge@1\.0\.0#[0-9a-f]{12}; its own cost USD/);
    const judged = llm.calls.filter(
      (c) => c.prompt.includes("strict quality reviewer") || c.system.includes("strict quality reviewer"),
    );
    expect(judged.length).toBe(n);
    for (const c of judged) {
      expect(c.prompt + c.system).toContain("Guia de tom de voz");
      expect(c.prompt + c.system).not.toMatch(CPF);
    }
  }, 600_000);

  it("leaves a conversation unjudged when the judge's answer does not parse, and scores nothing for it", async () => {
    const llm = model(() => "I think it was good");
    const r = await judgeConversation(
      llm,
      { language: "pt-BR", turns: [{ user: "meu cpf é 529.982.247-25", reply: "Obrigado!" }], facts: [] },
      tonePolicy(REPO_ROOT),
    );
    expect(r.scores).toBeNull();
    expect(r.trace.outcome).toBe("fallback");
    expect(r.trace.error?.reason).toBe("invalid_output");
    expect(llm.calls[0].prompt + llm.calls[0].system).toContain("***.***.***-**");
  });
});

import { MockLanguageModelV4 } from "ai/test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LlmProvider } from "../../platform/ports/llm.ts";
import { openAssistant } from "../assistant/compose.ts";
import { ingestBuiltinKnowledgeBase } from "../rag/api.ts";
import { type SandboxFixture, sandboxFixture } from "../testing/sandbox-fixture.ts";
import { PresetChurnRisk } from "./testing.ts";
import { LlmUnderstanding } from "./understanding/llm.ts";
import { LocalUnderstanding } from "./understanding/local.ts";

// Readings the engine applies to the commands of any understanding engine, played through the whole
// assistant on the operator sandbox with the llm engine, whose model is a MockLanguageModelV4 replaying
// recorded structured output (the JSON a provider returns for the command schema). Judged on what the
// systems hold and where the session is.

let sb: SandboxFixture;
let a: Awaited<ReturnType<typeof openAssistant>>;
const churn = new PresetChurnRisk();
/** The commands the model "returns" for the next understanding call. */
let recorded: unknown[] = [];
let modelCalls = 0;

function provider(): LlmProvider {
  const model = new MockLanguageModelV4({
    doGenerate: async () => {
      modelCalls += 1;
      return {
        content: [{ type: "text", text: JSON.stringify({ commands: recorded }) }],
        finishReason: { unified: "stop", raw: "stop" },
        usage: {
          inputTokens: { total: 1490, noCache: 1490, cacheRead: undefined, cacheWrite: undefined },
          outputTokens: { total: 42, text: 42, reasoning: undefined },
        },
        warnings: [],
      };
    },
  });
  return {
    provider: "openai-compatible",
    modelId: "mock-7b",
    model,
    price: null,
    timeoutMs: 5000,
    maxRetries: 0,
  };
}

beforeAll(async () => {
  sb = await sandboxFixture();
  await ingestBuiltinKnowledgeBase(sb.app);
  const businessDate = () => sb.systems.businessDate();
  const local = new LocalUnderstanding({ businessDate });
  const understanding = new LlmUnderstanding({ llm: provider(), local, businessDate });
  a = await openAssistant(sb.app, { systems: sb.systems, churn, phraser: null, understanding });
}, 120_000);
afterAll(async () => {
  await a?.close();
  await sb?.cleanup();
});

async function talk(customer: string, messages: string[]) {
  let session: string | undefined;
  const turns: Awaited<ReturnType<typeof a.chat>>[] = [];
  for (const message of messages) {
    const t = await a.chat({
      ...(session ? { session_id: session } : {}),
      customer_id: customer,
      channel: "chat",
      message,
    });
    session = t.response.session_id;
    turns.push(t);
  }
  const view = await a.session(session as string, { customerId: customer });
  return { turns, last: turns[turns.length - 1], flows: view.flows };
}

function oneContractCustomer(): string {
  const row = sb.systems.store.get<{ customer_id: string }>(
    "select customer_id from contracts where status = 'active' group by customer_id having count(*) = 1 order by customer_id",
  );
  if (!row) throw new Error("no customer with one active contract in the fixture");
  return row.customer_id;
}

function cancellations(customer: string): number {
  return (
    sb.systems.store.get<{ n: number }>(
      "select count(*) as n from cancellations where customer_id = ?",
      customer,
    )?.n ?? 0
  );
}

describe("porting out with the llm understanding engine", () => {
  it("the model reads 'quero portar meu número' as a cancellation; the shared reading answers from faq-portabilidade and cancels nothing", async () => {
    const customer = oneContractCustomer();
    churn.set(customer, "high");
    recorded = [
      { type: "start_flow", flow: "cancellation" },
      { type: "set_slot", slot: "cancel_reason", value: "competitor" },
    ];
    const calls = modelCalls;
    const r = await talk(customer, ["quero portar meu número"]);
    // The model answered the turn (no fallback to the local engine).
    expect(modelCalls).toBe(calls + 1);
    expect(r.last.response.tool_calls.map((c) => c.name)).toEqual(["search_knowledge_base"]);
    expect(r.last.response.citations.map((c) => c.doc_id)).toContain("faq-portabilidade");
    expect(r.last.response.reply).toMatch(/encerrada automaticamente/);
    expect(r.flows).toEqual([]);
    expect(cancellations(customer)).toBe(0);
    const statuses = sb.systems.store
      .all<{ status: string }>("select status from contracts where customer_id = ?", customer)
      .map((c) => c.status);
    expect(statuses).toEqual(["active"]);
  });

  it("leaving in other words as well ('quero cancelar e portar meu número') stays the cancellation", async () => {
    const customer = oneContractCustomer();
    recorded = [{ type: "start_flow", flow: "cancellation" }];
    const r = await talk(customer, ["quero cancelar e portar meu número"]);
    expect(r.flows.map((f) => f.flow)).toEqual(["cancellation"]);
    expect(r.last.response.citations.map((c) => c.doc_id)).not.toContain("faq-portabilidade");
  });
});

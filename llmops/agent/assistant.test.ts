import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openAssistant } from "../assistant/compose.ts";
import { ingestBuiltinKnowledgeBase } from "../rag/api.ts";
import { type SandboxFixture, sandboxFixture } from "../testing/sandbox-fixture.ts";
import type { Assistant } from "./assistant.ts";
import { extractAnswer, passageUnits } from "./knowledge-answer.ts";
import { PresetChurnRisk, ScriptedUnderstanding } from "./testing.ts";

// Sessions over time: a conversation that goes idle is closed and registered (by the server's sweep,
// or before the next message), and a stored state is validated, never trusted.

let sb: SandboxFixture;
let clock = Date.parse("2026-01-10T12:00:00Z");
const now = () => new Date(clock);

beforeAll(async () => {
  sb = await sandboxFixture();
  await ingestBuiltinKnowledgeBase(sb.app);
});
afterAll(() => sb.cleanup());

async function assistant(script: ScriptedUnderstanding): Promise<Assistant> {
  return openAssistant(sb.app, {
    systems: sb.systems,
    churn: new PresetChurnRisk(),
    understanding: script,
    phraser: null,
    observer: null,
    now,
  });
}

const IDLE = 15 * 60_000;

describe("idle conversations", () => {
  it("are closed by the sweep, which registers what was done", async () => {
    const customer = sb.scenarios.customers.healthy_internet[0];
    const a = await assistant(
      new ScriptedUnderstanding().push([
        { type: "answer_knowledge", query: "como funciona a portabilidade?" },
      ]),
    );
    const t = await a.chat({
      customer_id: customer,
      channel: "chat",
      message: "como funciona a portabilidade?",
    });
    expect(t.response.interaction_id).toBeNull();
    expect(await a.sweepIdle()).toEqual({ closed: 0, interactions: [] });
    clock += IDLE + 1000;
    const swept = await a.sweepIdle();
    expect(swept.closed).toBe(1);
    const [interaction] = await sb.systems.crm.listInteractions(customer, { limit: 1 });
    expect(interaction).toMatchObject({
      interaction_id: swept.interactions[0],
      category: "knowledge",
      outcome: "resolved",
      session_id: t.response.session_id,
    });
    expect((await a.session(t.response.session_id)).status).toBe("closed");
  });

  it("are closed before the next message: an open flow is registered as abandoned and the new one starts clean", async () => {
    const customer = sb.scenarios.customers.ont_los[0];
    const a = await assistant(
      new ScriptedUnderstanding()
        .push([{ type: "start_flow", flow: "internet_diagnosis" }])
        .push([{ type: "chitchat", kind: "greeting" }]),
    );
    const t1 = await a.chat({ customer_id: customer, channel: "chat", message: "minha internet caiu" });
    expect(t1.turn.trace.stack_after).toEqual(["internet_diagnosis"]);
    clock += IDLE + 1000;
    const t2 = await a.chat({
      session_id: t1.response.session_id,
      customer_id: customer,
      channel: "chat",
      message: "oi",
    });
    expect(t2.closed_idle).not.toBeNull();
    expect(t2.turn.trace.stack_before).toEqual([]);
    const [interaction] = await sb.systems.crm.listInteractions(customer, { limit: 1 });
    expect(interaction).toMatchObject({
      interaction_id: t2.closed_idle,
      outcome: "abandoned",
      category: "internet_diagnosis",
    });
    expect(await sb.systems.network.listBookings(customer)).toEqual([]);
  });
});

describe("stored sessions", () => {
  it("reject a corrupt state naming the field instead of running on it", async () => {
    const customer = sb.scenarios.customers.mobile_postpaid[0];
    const a = await assistant(new ScriptedUnderstanding().push([{ type: "chitchat", kind: "greeting" }]));
    const t = await a.chat({ customer_id: customer, channel: "chat", message: "oi" });
    const stored = await a.store.get(t.response.session_id);
    if (!stored) throw new Error("session not stored");
    await a.store.save(
      { ...stored, state: { ...stored.state, stack: [{ flow: "teleport", step: "x" }] } },
      { expectedVersion: stored.version },
    );
    await expect(
      a.chat({ session_id: t.response.session_id, customer_id: customer, channel: "chat", message: "oi" }),
    ).rejects.toThrow(/stack\.0\.flow/);
  });
});

describe("extractive knowledge answers", () => {
  it("read table rows and list items as sentences, and quote only what matches the question", () => {
    const text =
      "| Canal | Como fazer | | App Aurora | Perfil > Meus serviços | | Telefone | 0800-000-1234, opção 9 | - O serviço é desligado em até 48 horas. - Débitos em aberto continuam devidos.";
    expect(passageUnits(text)).toEqual([
      "App Aurora: Perfil > Meus serviços",
      "Telefone: 0800-000-1234, opção 9",
      "O serviço é desligado em até 48 horas.",
      "Débitos em aberto continuam devidos.",
    ]);
    const a = extractAnswer(
      "em quanto tempo o serviço é desligado?",
      [{ doc_id: "faq-cancelamento", title: "Cancelar", section: "Depois", source: "x.md", text, score: 1 }],
      { maxSentences: 3, maxPassages: 3 },
    );
    expect(a?.sentences[0]).toBe("O serviço é desligado em até 48 horas.");
    expect(a?.citations).toEqual([
      { doc_id: "faq-cancelamento", title: "Cancelar", section: "Depois", source: "x.md" },
    ]);
    expect(
      extractAnswer(
        "previsão do tempo amanhã",
        [{ doc_id: "d", title: "t", section: "", source: "", text, score: 1 }],
        {
          maxSentences: 3,
          maxPassages: 3,
        },
      ),
    ).toBeNull();
  });
});

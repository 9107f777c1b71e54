import { randomBytes } from "node:crypto";
import type { GuardrailsConfig } from "../../../platform/config/sections/guardrails.ts";
import { ValidationError } from "../../../platform/errors.ts";
import type { Phraser } from "../../agent/engine.ts";
import { PresetChurnRisk } from "../../agent/testing.ts";
import type { GuardedAssistant, GuardedChatOutcome } from "../../assistant/guarded-assistant.ts";
import { openGuardedAssistant } from "../../assistant/open-guarded.ts";
import type { UnderstandingEngine } from "../../conversation/commands.ts";
import type { SandboxFixture, ScenarioName } from "../../testing/sandbox-fixture.ts";
import { knowledgeSearchFromApp } from "../../tools/knowledge.ts";

/**
 * What the red-team and benign runners share: the guarded assistant over a sandbox fixture (the
 * local engine unless told otherwise), customers picked per scenario in rotation so cases do not
 * share a customer, the people a case talks about, and snapshots of what the systems hold.
 */

export interface SafetyEnvOptions {
  fixture: SandboxFixture;
  /** The knowledge index the assistant searches (ingested by the caller). */
  index?: string;
  understanding?: UnderstandingEngine;
  /** null (default): the local templates; a phraser puts a generative model in the loop. */
  phraser?: Phraser | null;
  /** Guardrail settings instead of the app's `guardrails` config (e.g. all off, to compare). */
  guardrails?: GuardrailsConfig;
}

export interface Person {
  id: string;
  name: string;
  first_name: string;
  cpf: string;
  cpf_digits: string;
  /** dd/mm/yyyy, as a customer types it. */
  birth_date: string;
  phone: string;
  phone_digits: string;
  email: string;
}

export interface Snapshot {
  contracts: string;
  plan_changes: number;
  applied: { offer_id: string; decision_id: string }[];
  bookings: number;
  interactions: number;
}

export interface PlayedTurn {
  /** The message as a report may show it (PII masked). */
  message: string;
  reply: string;
  tools: { name: string; ok: boolean }[];
  outcome: GuardedChatOutcome | null;
  rejected: string | null;
  error: string | null;
}

export class SafetyEnv {
  readonly fixture: SandboxFixture;
  readonly churn: PresetChurnRisk;
  readonly assistant: GuardedAssistant;
  private readonly next = new Map<string, number>();

  private constructor(fixture: SandboxFixture, assistant: GuardedAssistant, churn: PresetChurnRisk) {
    this.fixture = fixture;
    this.assistant = assistant;
    this.churn = churn;
  }

  static async open(o: SafetyEnvOptions): Promise<SafetyEnv> {
    const churn = new PresetChurnRisk();
    const assistant = await openGuardedAssistant(
      o.fixture.app,
      {
        systems: o.fixture.systems,
        churn,
        knowledge: knowledgeSearchFromApp(o.fixture.app, { index: o.index }),
        phraser: o.phraser === undefined ? null : o.phraser,
        ...(o.understanding ? { understanding: o.understanding } : {}),
      },
      { config: o.guardrails },
    );
    return new SafetyEnv(o.fixture, assistant, churn);
  }

  get engineName(): string {
    return this.assistant.engine.deps.understanding.name;
  }

  /** The next customer of a scenario not handed out yet (rotating when the list runs out). */
  pick(scenario: ScenarioName, avoid: string[] = []): string {
    const ids = this.fixture.scenarios.customers[scenario];
    if (!ids?.length) throw new Error(`the sandbox has no ${scenario} customer`);
    for (let tries = 0; tries < ids.length; tries++) {
      const n = this.next.get(scenario) ?? 0;
      this.next.set(scenario, n + 1);
      const id = ids[n % ids.length];
      if (!avoid.includes(id)) return id;
    }
    throw new Error(`no ${scenario} customer left that is not ${avoid.join(", ")}`);
  }

  async person(id: string): Promise<Person> {
    const p = await this.fixture.systems.crm.getCustomer(id);
    if (!p) throw new Error(`customer ${id} is not in the sandbox`);
    const [y, m, d] = p.birth_date.split("-");
    return {
      id: p.customer_id,
      name: p.name,
      first_name: p.name.split(/\s+/)[0] ?? p.name,
      cpf: p.cpf,
      cpf_digits: p.cpf.replace(/\D/g, ""),
      birth_date: `${d}/${m}/${y}`,
      phone: p.phone,
      phone_digits: p.phone.replace(/\D/g, ""),
      email: p.email ?? "",
    };
  }

  async snapshot(id: string): Promise<Snapshot> {
    const s = this.fixture.systems;
    const [contracts, changes, applied, bookings, interactions] = await Promise.all([
      s.crm.listContracts(id),
      s.offers.listPlanChanges(id),
      s.offers.listAppliedOffers(id),
      s.network.listBookings(id),
      s.crm.listInteractions(id, { limit: 1000 }),
    ]);
    return {
      // Plans, not statuses: cancelling is the customer's right and changes a status.
      contracts: JSON.stringify(contracts.map((c) => [c.contract_id, c.plan_id])),
      plan_changes: changes.length,
      applied: applied.map((a) => ({ offer_id: a.offer_id, decision_id: a.decision_id })),
      bookings: bookings.length,
      interactions: interactions.length,
    };
  }

  newSessionId(prefix: string): string {
    return `${prefix}-${randomBytes(4).toString("hex")}`.slice(0, 64);
  }

  /** Plays the turns on one session; a message the assistant rejects as invalid is recorded, not thrown. */
  async play(sessionId: string, customerId: string | null, turns: string[]): Promise<PlayedTurn[]> {
    const out: PlayedTurn[] = [];
    for (const message of turns) {
      try {
        const r = await this.assistant.chat({
          session_id: sessionId,
          customer_id: customerId,
          channel: "chat",
          message,
        });
        out.push({
          message: r.message_masked,
          reply: r.response.reply,
          tools: r.response.tool_calls.map((c) => ({ name: c.name, ok: !isFailure(c.result) })),
          outcome: r,
          rejected: null,
          error: null,
        });
      } catch (err) {
        const text = err instanceof Error ? err.message : String(err);
        out.push({
          message: "(not shown)",
          reply: "",
          tools: [],
          outcome: null,
          rejected: err instanceof ValidationError ? text : null,
          error: err instanceof ValidationError ? null : text,
        });
      }
    }
    return out;
  }

  async close(): Promise<void> {
    await this.assistant.close();
  }
}

export function isFailure(result: unknown): boolean {
  return !!result && typeof result === "object" && (result as { ok?: unknown }).ok === false;
}

/** Fills `{{me.cpf}}`, `{{victim.name}}`… in a turn. */
export function fill(text: string, people: Record<string, Person>): string {
  return text.replace(/\{\{\s*(\w+)\.(\w+)\s*\}\}/g, (m, who: string, field: string) => {
    const p = people[who];
    const v = p ? (p as unknown as Record<string, unknown>)[field] : undefined;
    if (typeof v !== "string") throw new Error(`unknown placeholder ${m}`);
    return v;
  });
}

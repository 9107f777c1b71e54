import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import type { Assistant } from "../../agent/assistant.ts";
import type { Phraser, ToolCallView } from "../../agent/engine.ts";
import { EN_MONTHS, PT_MONTHS } from "../../agent/format.ts";
import { PresetChurnRisk } from "../../agent/testing.ts";
import { openAssistant } from "../../assistant/compose.ts";
import type { UnderstandingEngine } from "../../conversation/commands.ts";
import { ingestBuiltinKnowledgeBase } from "../../rag/api.ts";
import { createSandboxFixture, type SandboxFixture } from "../../testing/sandbox-fixture.ts";
import { knowledgeSearchFromApp } from "../../tools/knowledge.ts";
import { createToolbox, newToolSession, type ToolDeps } from "../../tools/toolbox.ts";
import {
  consentBeforeChange,
  diagnosisBeforeVisit,
  eligibleBeforeApply,
  identityBeforeData,
  type JudgedTurn,
  noInventedAmounts,
  offersOnce,
  ok,
  onlyOwnCustomer,
} from "./judge.ts";
import { type GoldenConversation, goldenFileSchema, type Requirement } from "./schema.ts";

/**
 * Runs the golden conversations against the operator sandbox: for each script, the sandbox is reseeded
 * (every conversation starts from the same world), the customer the preconditions describe is chosen,
 * the churn band is preset, the customer's turns are played through the real assistant (understanding,
 * flows, tools), the conversation is closed, and the end state is judged. `telco eval run --suite golden`
 * and llmops/evaluations/conversations/conversations.test.ts call it.
 */

export const GOLDEN_CONVERSATIONS_DIR = join(import.meta.dirname, "..", "golden", "conversations");

export interface ConversationResult {
  id: string;
  journey: string;
  language: string;
  passed: boolean;
  failures: string[];
  customer_id: string | null;
  session_id: string | null;
  transcript: { user: string; reply: string; tools: string[] }[];
  ms: number;
}

export interface GoldenReport {
  suite: "golden-conversations";
  engine: string;
  total: number;
  passed: number;
  failed: number;
  pass_rate: number;
  by_journey: Record<string, { total: number; passed: number }>;
  by_language: Record<string, { total: number; passed: number }>;
  results: ConversationResult[];
}

/** Loads every YAML file of the folder; a bad file is rejected naming the file and the field. */
export function loadGoldenConversations(dir: string = GOLDEN_CONVERSATIONS_DIR): GoldenConversation[] {
  const out: GoldenConversation[] = [];
  const ids = new Set<string>();
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith(".yaml") || f.endsWith(".yml"))
    .sort()) {
    let raw: unknown;
    try {
      raw = parseYaml(readFileSync(join(dir, file), "utf8"));
    } catch (err) {
      throw new Error(
        `${file}: not valid YAML: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`,
      );
    }
    const parsed = goldenFileSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(`${file}: ${issue.path.join(".") || "(root)"}: ${issue.message}`);
    }
    for (const c of parsed.data) {
      if (ids.has(c.id)) throw new Error(`${file}: duplicate conversation id ${c.id}`);
      ids.add(c.id);
      out.push(c);
    }
  }
  return out;
}

export interface RunOptions {
  /** A sandbox fixture to use (its knowledge base is indexed if needed); default: a new one. */
  fixture?: SandboxFixture;
  /** Only these conversation ids (or id prefixes). */
  only?: string[];
  /** An understanding engine instead of the configured one (e.g. an LLM engine under evaluation). */
  understanding?: UnderstandingEngine;
  /** A phraser (a generative model under evaluation); default none: the templates answer. */
  phraser?: Phraser | null;
  dir?: string;
  onResult?: (r: ConversationResult) => void;
}

export async function runGoldenConversations(opts: RunOptions = {}): Promise<GoldenReport> {
  const all = loadGoldenConversations(opts.dir);
  const selected = opts.only?.length ? all.filter((c) => opts.only?.some((o) => c.id.startsWith(o))) : all;
  const sb = opts.fixture ?? (await createSandboxFixture());
  const own = !opts.fixture;
  try {
    await ingestBuiltinKnowledgeBase(sb.app);
    const churn = new PresetChurnRisk();
    const assistant = await openAssistant(sb.app, {
      systems: sb.systems,
      churn,
      phraser: opts.phraser ?? null,
      ...(opts.understanding ? { understanding: opts.understanding } : {}),
    });
    const chooser = new CustomerChooser(sb, churn);
    const results: ConversationResult[] = [];
    for (const c of selected) {
      const r = await runOne(sb, assistant, churn, chooser, c);
      results.push(r);
      opts.onResult?.(r);
    }
    await assistant.close();
    return report(results, opts.understanding?.name ?? sb.app.config.assistant.understanding);
  } finally {
    if (own) await sb.cleanup();
  }
}

function report(results: ConversationResult[], engine: string): GoldenReport {
  const group = (key: (r: ConversationResult) => string) => {
    const g: Record<string, { total: number; passed: number }> = {};
    for (const r of results) {
      const k = key(r);
      g[k] ??= { total: 0, passed: 0 };
      g[k].total++;
      if (r.passed) g[k].passed++;
    }
    return g;
  };
  const passed = results.filter((r) => r.passed).length;
  return {
    suite: "golden-conversations",
    engine,
    total: results.length,
    passed,
    failed: results.length - passed,
    pass_rate: results.length ? Math.round((passed / results.length) * 10000) / 10000 : 0,
    by_journey: group((r) => r.journey),
    by_language: group((r) => r.language),
    results,
  };
}

/** Picks, for each precondition, the first scenario customers whose facts meet the requirements. */
class CustomerChooser {
  private readonly sb: SandboxFixture;
  private readonly churn: PresetChurnRisk;
  private readonly deps: ToolDeps;

  constructor(sb: SandboxFixture, churn: PresetChurnRisk) {
    this.sb = sb;
    this.churn = churn;
    this.deps = { systems: sb.systems, churn, knowledge: knowledgeSearchFromApp(sb.app) };
  }

  /** Runs on a freshly reseeded sandbox; the checks' own writes (decisions) are reseeded away after. */
  async choose(g: GoldenConversation["given"]): Promise<string> {
    const ids = this.sb.scenarios.customers[g.scenario];
    let skip = g.pick;
    for (const id of ids) {
      if (g.churn_band !== "none") this.churn.set(id, g.churn_band);
      if (!(await this.meets(id, g.require))) continue;
      if (skip-- > 0) continue;
      return id;
    }
    throw new Error(
      `no ${g.scenario} customer #${g.pick} meets ${JSON.stringify(g.require)} (churn ${g.churn_band}) in the fixture`,
    );
  }

  private async meets(id: string, req: Requirement): Promise<boolean> {
    const session = newToolSession({ session_id: `golden-check-${id}`, channel: "api", language: "pt-BR" });
    session.customer_id = id;
    const tb = createToolbox(this.deps, session);
    if (req.offers_include || req.no_offers !== undefined) {
      const r = await tb.call("get_eligible_offers", {});
      if (!r.ok) return false;
      const ids = r.result.offers.map((o) => o.offer_id);
      if (req.no_offers === true && ids.length > 0) return false;
      if (req.no_offers === false && ids.length === 0) return false;
      if (req.offers_include && !req.offers_include.every((o) => ids.includes(o))) return false;
    }
    if (req.recommendation || req.no_mobile !== undefined) {
      const r = await tb.call("recommend_plan", {});
      if (req.no_mobile === true) {
        if (r.ok || r.error.code !== "not_applicable") return false;
      } else if (!r.ok) return false;
      if (req.recommendation && (!r.ok || r.result.reason !== req.recommendation)) return false;
    }
    if (req.finding || req.next_step || req.no_internet !== undefined) {
      const r = await tb.call("diagnose_internet", {});
      if (req.no_internet === true) {
        if (r.ok || r.error.code !== "not_applicable") return false;
      } else if (!r.ok) return false;
      if (r.ok && req.finding && r.result.finding !== req.finding) return false;
      if (r.ok && req.next_step && r.result.next_step !== req.next_step) return false;
    }
    if (req.unpaid_invoice !== undefined) {
      const invoices = await this.sb.systems.billing.listInvoices(id, { limit: 24 });
      const unpaid = invoices.some((i) => i.status === "open" || i.status === "overdue");
      if (unpaid !== req.unpaid_invoice) return false;
    }
    if (req.invoice_changed !== undefined) {
      const r = await tb.call("explain_invoice", {});
      if (!r.ok) return false;
      if ((r.result.difference_brl !== 0) !== req.invoice_changed) return false;
    }
    if (req.in_fidelity !== undefined) {
      const r = await tb.call("get_customer_profile", {});
      if (!r.ok) return false;
      const inFidelity = r.result.contracts.some((c) => c.status === "active" && c.fidelity_fine_brl > 0);
      if (inFidelity !== req.in_fidelity) return false;
    }
    if (req.plans_include) {
      const r = await tb.call("get_customer_profile", {});
      if (!r.ok) return false;
      const plans = r.result.contracts.filter((c) => c.status === "active").map((c) => c.plan_id);
      if (!req.plans_include.every((p) => plans.includes(p))) return false;
    }
    return true;
  }
}

interface Baseline {
  bookings: number;
  copies: number;
  planChanges: number;
  applied: Set<string>;
  cancellations: number;
}

async function baseline(sb: SandboxFixture, customer: string): Promise<Baseline> {
  const count = (table: string) =>
    sb.systems.store.get<{ n: number }>(`select count(*) as n from ${table} where customer_id = ?`, customer)
      ?.n ?? 0;
  return {
    bookings: (await sb.systems.network.listBookings(customer)).filter((b) => b.status === "booked").length,
    copies: count("invoice_copies"),
    planChanges: (await sb.systems.offers.listPlanChanges(customer)).length,
    applied: new Set((await sb.systems.offers.listAppliedOffers(customer)).map((a) => a.application_id)),
    cancellations: count("cancellations"),
  };
}

/** Fills {{placeholders}} in a customer's line from the chosen customer and the conversation so far. */
function fill(text: string, vars: Record<string, string>): string {
  return text.replace(/\{\{([a-z_]+)\}\}/g, (m, k: string) => vars[k] ?? m);
}

/** "a de março" / "the March one": how a customer names an invoice's month. */
function monthWord(referenceMonth: string, lang: "pt-BR" | "en"): string {
  const m = Number(referenceMonth.slice(5, 7)) - 1;
  return lang === "en" ? `the ${EN_MONTHS[m]} one` : `a de ${PT_MONTHS[m]}`;
}

function br(iso: string): string {
  const [y, m, d] = iso.split("-");
  return `${d}/${m}/${y}`;
}

function formatCpf(digits: string): string {
  return `${digits.slice(0, 3)}.${digits.slice(3, 6)}.${digits.slice(6, 9)}-${digits.slice(9)}`;
}

async function runOne(
  sb: SandboxFixture,
  assistant: Assistant,
  churn: PresetChurnRisk,
  chooser: CustomerChooser,
  c: GoldenConversation,
): Promise<ConversationResult> {
  const t0 = performance.now();
  const failures: string[] = [];
  const transcript: ConversationResult["transcript"] = [];
  let customer: string | null = null;
  let sessionId: string | null = null;
  try {
    await sb.reseed();
    customer = await chooser.choose(c.given);
    await sb.reseed();
    if (c.given.churn_band !== "none") churn.set(customer, c.given.churn_band);
    const profile = await sb.systems.crm.getCustomer(customer);
    if (!profile) throw new Error(`customer ${customer} not in the CRM`);
    const otherId = sb.scenarios.customers.healthy_internet.find((x) => x !== customer) ?? "AUR-00000001";
    const other = await sb.systems.crm.getCustomer(otherId);
    const digits = profile.cpf.replace(/\D/g, "");
    const vars: Record<string, string> = {
      customer_id: customer,
      cpf: formatCpf(digits),
      cpf_digits: digits,
      birth_date: br(profile.birth_date),
      birth_date_iso: profile.birth_date,
      wrong_birth_date: br(`${Number(profile.birth_date.slice(0, 4)) + 1}${profile.birth_date.slice(4)}`),
      phone: profile.phone,
      first_name: profile.name.split(/\s+/)[0] ?? "",
      other_customer_id: otherId,
      other_cpf: other ? formatCpf(other.cpf.replace(/\D/g, "")) : "123.456.789-09",
    };
    const unpaid = (await sb.systems.billing.listInvoices(customer, { limit: 24 }))
      .filter((i) => i.status === "overdue" || i.status === "open")
      .sort((a, b) => (a.due_date < b.due_date ? -1 : 1))[0];
    if (unpaid) vars.overdue_month = monthWord(unpaid.reference_month, c.language === "en" ? "en" : "pt-BR");
    const before = await baseline(sb, customer);
    const turns: JudgedTurn[] = [];
    let ended = false;
    for (const [i, t] of c.turns.entries()) {
      const message = fill(t.user, vars);
      const out = await assistant.chat({
        session_id: sessionId ?? undefined,
        customer_id: c.given.channel === "trusted" ? customer : null,
        channel: c.given.channel === "trusted" ? "chat" : "whatsapp",
        message,
        language: c.language === "en" ? "en" : "pt-BR",
      });
      sessionId = out.response.session_id;
      for (const n of out.turn.notices) {
        const code = /\b(\d{6})\b/.exec(n.text);
        if (code) vars.sms_code = code[1];
      }
      const calls = out.response.tool_calls;
      turns.push({ reply: out.response.reply, calls });
      transcript.push({ user: message, reply: out.response.reply, tools: calls.map((x) => x.name) });
      ended = out.turn.ended;
      const e = t.expect;
      if (!e) continue;
      const where = `turn ${i + 1}`;
      const names = calls.map((x) => x.name);
      for (const tool of e.tools ?? [])
        if (!names.includes(tool)) failures.push(`${where}: ${tool} was not called`);
      for (const tool of e.no_tools ?? [])
        if (names.includes(tool)) failures.push(`${where}: ${tool} was called`);
      if (e.reply && !new RegExp(e.reply, "i").test(out.response.reply))
        failures.push(`${where}: reply does not match /${e.reply}/`);
      if (e.not_reply && new RegExp(e.not_reply, "i").test(out.response.reply))
        failures.push(`${where}: reply matches /${e.not_reply}/`);
      if (e.offers) {
        const shown = out.response.offers.map((o) => o.offer_id);
        if (JSON.stringify(shown) !== JSON.stringify(e.offers))
          failures.push(`${where}: offers ${JSON.stringify(shown)}, expected ${JSON.stringify(e.offers)}`);
      }
      if (e.citations) {
        const docs = out.response.citations.map((x) => x.doc_id);
        if (docs.length === 0) failures.push(`${where}: no citation`);
        for (const d of e.citations)
          if (!docs.includes(d)) failures.push(`${where}: ${d} not cited (${docs.join(", ")})`);
      }
      if (e.active_flow !== undefined) {
        const top = out.turn.trace.stack_after.at(-1) ?? null;
        if (top !== e.active_flow) failures.push(`${where}: active flow ${top}, expected ${e.active_flow}`);
      }
    }
    // The conversation ends as a real one does when the customer just leaves: it goes idle.
    if (!ended && sessionId) await assistant.end(sessionId, "idle");
    await judgeEnd(sb, c, customer, sessionId, before, turns, failures);
  } catch (err) {
    failures.push(`error: ${err instanceof Error ? err.message : String(err)}`);
  }
  return {
    id: c.id,
    journey: c.journey,
    language: c.language,
    passed: failures.length === 0,
    failures,
    customer_id: customer,
    session_id: sessionId,
    transcript,
    ms: Math.round(performance.now() - t0),
  };
}

async function judgeEnd(
  sb: SandboxFixture,
  c: GoldenConversation,
  customer: string,
  sessionId: string | null,
  before: Baseline,
  turns: JudgedTurn[],
  failures: string[],
): Promise<void> {
  const e = c.expect;
  const after = await baseline(sb, customer);
  const calls: ToolCallView[] = turns.flatMap((t) => t.calls);
  const interactions = (await sb.systems.crm.listInteractions(customer, { limit: 100 }))
    .filter((i) => i.session_id === sessionId)
    .sort((a, b) =>
      a.created_at < b.created_at
        ? -1
        : a.created_at > b.created_at
          ? 1
          : a.interaction_id < b.interaction_id
            ? -1
            : 1,
    );
  const outcomes = interactions.map((i) => i.outcome);
  if (e.interactions && JSON.stringify(outcomes) !== JSON.stringify(e.interactions))
    failures.push(`interactions ${JSON.stringify(outcomes)}, expected ${JSON.stringify(e.interactions)}`);
  const num = (what: string, got: number, want: number) => {
    if (got !== want) failures.push(`${what}: ${got}, expected ${want}`);
  };
  num("new bookings", after.bookings - before.bookings, e.bookings);
  num("new invoice copies", after.copies - before.copies, e.copies);
  num("new plan changes", after.planChanges - before.planChanges, e.plan_changes);
  if (e.plan_to) {
    const changes = await sb.systems.offers.listPlanChanges(customer);
    if (!changes.some((p) => p.to_plan_id === e.plan_to)) failures.push(`no plan change to ${e.plan_to}`);
  }
  const applied = (await sb.systems.offers.listAppliedOffers(customer)).filter(
    (a) => !before.applied.has(a.application_id),
  );
  // Offers applied ⊆ offers the recorded decision of this conversation allowed.
  for (const a of applied) {
    const d = await sb.systems.offers.getDecision(a.decision_id);
    if (!d || d.session_id !== sessionId || !d.allowed.some((x) => x.offer_id === a.offer_id))
      failures.push(`offer ${a.offer_id} applied without a decision of this conversation allowing it`);
  }
  const appliedIds = applied.map((a) => a.offer_id).sort();
  if (e.offers_applied_count !== undefined) num("offers applied", applied.length, e.offers_applied_count);
  else if (JSON.stringify(appliedIds) !== JSON.stringify([...e.offers_applied].sort()))
    failures.push(
      `offers applied ${JSON.stringify(appliedIds)}, expected ${JSON.stringify(e.offers_applied)}`,
    );
  const cancelled = after.cancellations > before.cancellations;
  if (cancelled !== e.cancellation)
    failures.push(`cancellation registered: ${cancelled}, expected ${e.cancellation}`);
  const handoff = calls.some((x) => x.name === "escalate_to_human" && ok(x));
  if (handoff !== e.handoff) failures.push(`hand-off: ${handoff}, expected ${e.handoff}`);
  if (e.identified !== undefined) {
    const identified = calls.some((x) => x.name === "authenticate" && ok(x)) || c.given.channel === "trusted";
    if (identified !== e.identified) failures.push(`identified: ${identified}, expected ${e.identified}`);
  }
  if (e.protocol_told) {
    // Interactions registered during the conversation (not by closing it after the customer left).
    const replies = turns.map((t) => t.reply).join("\n");
    const during = new Set(
      calls
        .filter((x) => x.name === "register_interaction" && ok(x))
        .map((x) => (x.result as { interaction_id: string }).interaction_id),
    );
    for (const i of interactions)
      if (during.has(i.interaction_id) && i.protocol && !replies.includes(i.protocol))
        failures.push(`protocol ${i.protocol} (${i.outcome}) never told to the customer`);
  }
  if (e.offers_presented !== undefined) {
    const presented = calls.some((x) => x.name === "get_eligible_offers" && ok(x));
    if (presented !== e.offers_presented)
      failures.push(`offers presented: ${presented}, expected ${e.offers_presented}`);
  }
  const checks: [string, string[]][] = [
    ["identity before data", c.given.channel === "anonymous" ? identityBeforeData(turns) : []],
    ["diagnosis before a visit", diagnosisBeforeVisit(turns)],
    ["consent before a change", consentBeforeChange(turns)],
    ["get_eligible_offers before apply_offer", eligibleBeforeApply(turns)],
    ["offers once per contact", offersOnce(turns)],
    ["only the session's customer", onlyOwnCustomer(turns, customer)],
    ["no invented amount", noInventedAmounts(turns)],
  ];
  for (const [name, v] of checks) for (const f of v) failures.push(`${name}: ${f}`);
}

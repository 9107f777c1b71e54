import { randomUUID } from "node:crypto";
import { isAbsolute, relative } from "node:path";
import type { AssistantConfig } from "../../platform/config/sections/assistant.ts";
import { maskPii } from "../../platform/pii/index.ts";
import type {
  Command,
  DialogueState,
  FlowName,
  Language,
  SlotName,
  Understanding,
  UnderstandingEngine,
} from "../conversation/commands.ts";
import type { Citation, Passage } from "../conversation/knowledge.ts";
import type {
  AuthenticateInput,
  CallRecord,
  ConsentAction,
  ToolArgs,
  Toolbox,
  ToolCallRecord,
  ToolName,
  ToolSession,
} from "../tools/toolbox.ts";
import { complaintNotAnswer, complaintStartsNothing } from "./confirmation-reading.ts";
import {
  type ConversationFacts,
  type FlowContext,
  type FlowEnd,
  type FlowFrame,
  newFrame,
  type ReplySet,
  type SlotValue,
  type Transition,
} from "./flows/flow.ts";
import { FLOW_CATEGORY, FLOW_TOPIC, FLOWS } from "./flows/index.ts";
import { extractAnswer, renderKnowledge } from "./knowledge-answer.ts";
import { portingNotCancellation } from "./porting-reading.ts";
import { common } from "./replies.ts";
import { type AssistantState, newConversation } from "./session.ts";
import { INTENT_FLOW, type Intent, isIntent } from "./understanding/intents.ts";

/**
 * The dialogue engine (Rasa CALM's split): understanding turns the message into commands; this engine
 * applies them to a stack of flows — start, fill, correct, cancel, digress, hand off — and runs the top
 * flow until it needs the customer again. Business logic lives in the flows, answers in their reply
 * templates; a generative model, when configured, only rephrases (see phrasing.ts) under a grounding check.
 */

/** A tool call as the turn shows it (PII in identity calls masked). */
export interface ToolCallView {
  name: string;
  args: unknown;
  result: unknown;
}

export interface Notice {
  kind: "simulated_sms";
  text: string;
}

export interface TurnTimings {
  understanding_ms: number;
  /** Operator-system tools (CRM, billing, network, offers, rules). */
  tools_ms: number;
  /** Knowledge-base search and sentence extraction. */
  retrieval_ms: number;
  /** Flow logic and templates: the engine's own time. */
  dialogue_ms: number;
  phrasing_ms: number;
  total_ms: number;
}

/** One turn as persisted (the trace) and as every interface returns it. */
export interface TurnResult {
  reply: string;
  /** The top intent understood (or the flow started), null when nothing was understood. */
  intent: string | null;
  citations: Citation[];
  tool_calls: ToolCallView[];
  offers: { offer_id: string; [k: string]: unknown }[];
  /** The last interaction registered this turn. */
  interaction_id: string | null;
  trace_id: string;
  language: Language;
  notices: Notice[];
  /** The customer said goodbye: the conversation was closed and registered. */
  ended: boolean;
  trace: TurnTrace;
}

export interface TurnTrace {
  trace_id: string;
  turn_no: number;
  at: string;
  /** The customer's message with CPF-like digit runs masked. */
  message: string;
  engine: Understanding["engine"];
  fallback: Understanding["fallback"] | null;
  intents: Understanding["intents"];
  commands: Command[];
  stack_before: FlowName[];
  stack_after: FlowName[];
  /** flow.step transitions run this turn. */
  steps: string[];
  /** Reply templates used (flow.key). */
  templates: string[];
  tool_calls: { name: string; ok: boolean; ms: number; error?: string }[];
  /** Prompts sent to a model this turn, as name@version#hash. */
  prompts: string[];
  phrasing: PhrasingTrace | null;
  interactions: string[];
  timings: TurnTimings;
  reply: string;
}

export interface PhrasingTrace {
  /** generated: the model's text was sent; template: the template answer was (why in `reason`). */
  used: "generated" | "template";
  reason?: string;
  violations?: { kind: string; value: string }[];
  model?: string;
  fallback?: { from: string; error: string };
}

/** What a generative model may do to a turn (phrasing.ts); absent with the local provider. */
export interface Phraser {
  /** Rephrases the template reply from the turn's facts; returns the text sent and the trace. */
  phrase(input: PhraseInput): Promise<{ reply: string; trace: PhrasingTrace; prompts: string[] }>;
  /** Answers a question no flow covers with read-only tools (AI SDK tool loop); null: no answer. */
  answerOpen?(input: OpenQuestionInput): Promise<{
    reply: string | null;
    trace: PhrasingTrace;
    prompts: string[];
    calls: CallRecord<string, unknown>[];
  }>;
}

export interface PhraseInput {
  language: Language;
  message: string;
  templateReply: string;
  facts: unknown[];
  history: AssistantState["history"];
}

export interface OpenQuestionInput {
  language: Language;
  message: string;
  history: AssistantState["history"];
  toolbox: Toolbox;
}

export interface DialogueDeps {
  understanding: UnderstandingEngine;
  /** The toolbox over one session's tool state (createToolbox(deps, session)); it mutates the session. */
  toolbox(session: ToolSession): Toolbox;
  config: AssistantConfig;
  phraser?: Phraser | null;
}

export interface TurnOptions {
  /** Called with each tool call as it completes (the API's server-sent `tool` events). */
  onToolCall?: (call: ToolCallView) => void;
}

const MAX_STEPS_PER_TURN = 40;
const MAX_HISTORY = 40;
/** Another customer's id written in the message ("me mostra a conta do AUR-00000002"). */
const CUSTOMER_ID_IN_TEXT = /\bAUR-\d{8}\b/gi;
/** A slot a step consumes (yes/no, 1-based choice): only meaningful as the answer to a question. */
const ANSWER_SLOTS: ReadonlySet<SlotName> = new Set(["confirm", "choice"]);
const IDENTITY_SLOTS: ReadonlySet<SlotName> = new Set(["cpf", "phone", "birth_date", "login_code"]);
/** Free-text slots: when asked for and nothing else is understood, the message itself fills them. */
const FREE_TEXT_SLOTS: ReadonlySet<SlotName> = new Set(["cancel_reason"]);

const PT_INTERACTION = (id: string) => `Protocolo do atendimento: ${id}.`;
const EN_INTERACTION = (id: string) => `Protocol number for this contact: ${id}.`;

/**
 * Masks personal data (CPF, phone, e-mail, card, CEP, … with the shared Brazilian detector) in what the
 * session history and the turn record keep: identity steps carry it, stored text must not.
 */
export function maskDigits(text: string): string {
  return maskPii(text);
}

function maskCall(name: string, args: unknown, result: unknown): ToolCallView {
  if (name === "authenticate" || name === "request_login_code") {
    const a = { ...(args as Record<string, unknown>) };
    if (a.cpf) a.cpf = "***";
    if (a.birth_date) a.birth_date = "****-**-**";
    if (a.code) a.code = "******";
    if (a.phone) a.phone = "***";
    const r =
      result && typeof result === "object" && "simulated_sms_code" in result
        ? { ...(result as Record<string, unknown>), simulated_sms_code: "******" }
        : result;
    return { name, args: a, result: r };
  }
  return { name, args, result };
}

export class DialogueEngine {
  readonly deps: DialogueDeps;

  constructor(deps: DialogueDeps) {
    this.deps = deps;
  }

  /** Runs one turn on `state` (mutated in place); `onToolCall` sees each tool call as it completes. */
  async turn(state: AssistantState, message: string, opts: TurnOptions = {}): Promise<TurnResult> {
    return new TurnRun(this.deps, state, message, opts).run();
  }

  /**
   * Ends the conversation (goodbye, idle, a new conversation on the session): flows still open count as
   * abandoned, and whatever was done and not yet registered is registered in one interaction.
   */
  async close(
    state: AssistantState,
    reason: "goodbye" | "idle" | "new",
  ): Promise<{ interaction_id: string | null; tool_calls: ToolCallView[] }> {
    const toolbox = this.deps.toolbox(state.tool_session);
    const conv = state.conversation;
    for (const frame of state.stack)
      if (frame.flow !== "identity")
        conv.pending.push({
          category: FLOW_CATEGORY[frame.flow],
          outcome: "abandoned",
          summary: `${frame.flow} left open at step ${frame.step} (conversation ${reason}).`,
        });
    state.stack = [];
    const calls: ToolCallView[] = [];
    let interactionId: string | null = null;
    if (state.tool_session.customer_id) {
      // Each journey left open or deferred is one record; the questions answered outside any journey, another.
      const journeys = conv.pending.filter((p) => p.category !== "knowledge");
      const questions = conv.pending.filter((p) => p.category === "knowledge");
      const records = journeys.map((p) => ({ ...p, offers_made: p.offers_made ?? [] }));
      if (questions.length)
        records.push({
          category: "knowledge",
          outcome: "resolved",
          summary: questions.map((p) => p.summary).join(" "),
          offers_made: [],
        });
      for (const p of records) {
        const r = await toolbox.call("register_interaction", {
          category: p.category,
          summary: p.summary.slice(0, 1000),
          sentiment: conv.sentiment,
          outcome: p.outcome,
          offers_made: p.offers_made,
          offer_accepted: null,
          protocol: conv.protocols.at(-1) ?? null,
        });
        calls.push(maskCall(r.name, r.args, r.ok ? r.result : { ok: false, error: r.error }));
        if (r.ok) interactionId = r.result.interaction_id;
      }
    }
    state.conversation = newConversation(new Date().toISOString());
    return { interaction_id: interactionId, tool_calls: calls };
  }
}

/** One turn's work: understanding, commands, flows, reply. */
class TurnRun {
  private readonly deps: DialogueDeps;
  private readonly state: AssistantState;
  private readonly message: string;
  private readonly toolbox: Toolbox;
  private readonly traceId = randomUUID();
  private readonly parts: string[] = [];
  private readonly templates: string[] = [];
  private readonly steps: string[] = [];
  private readonly calls: CallRecord<string, unknown>[] = [];
  private readonly facts: unknown[] = [];
  private readonly offers: { offer_id: string; [k: string]: unknown }[] = [];
  private readonly notices: Notice[] = [];
  private readonly citations: Citation[] = [];
  private readonly interactions: string[] = [];
  private readonly prompts: string[] = [];
  private phrasing: PhrasingTrace | null = null;
  private lang: Language;
  private toolsMs = 0;
  private retrievalMs = 0;
  private phrasingMs = 0;
  private ended = false;
  /** Slot values that arrived before the flow that takes them (seeded into frames pushed this turn). */
  private readonly carry = new Map<SlotName, SlotValue>();
  /** Frames that asked a question before this turn (they say "back to…" when resumed). */
  private readonly interrupted = new Set<FlowFrame>();

  private readonly onToolCall: TurnOptions["onToolCall"];

  constructor(deps: DialogueDeps, state: AssistantState, message: string, opts: TurnOptions = {}) {
    this.deps = deps;
    this.onToolCall = opts.onToolCall;
    this.state = state;
    this.message = message;
    this.lang = state.language;
    this.toolbox = deps.toolbox(state.tool_session);
  }

  private get top(): FlowFrame | undefined {
    return this.state.stack.at(-1);
  }

  private say<R extends Record<string, (...a: never[]) => string>>(
    set: ReplySet<R>,
    key: keyof R & string,
    ...args: unknown[]
  ): void {
    const fn = set[this.lang][key] as unknown as (...a: unknown[]) => string;
    this.parts.push(fn(...args));
    this.templates.push(`${this.top?.flow ?? "common"}.${key}`);
  }

  async run(): Promise<TurnResult> {
    const t0 = performance.now();
    const state = this.state;
    state.turns += 1;
    const stackBefore = state.stack.map((f) => f.flow);
    const top = this.top;
    // Right after a flow ended, the conversation is still about it ("não, a de setembro").
    const last = state.conversation.last_ended;
    const recent = !top && last && last.turn === state.turns - 1 ? last.frame.flow : null;
    const dstate: DialogueState = {
      active_flow: top?.flow ?? recent,
      awaiting_slot: top?.awaiting ?? null,
      listed_options: top?.options ?? [],
      language: state.language,
    };
    const tu = performance.now();
    const u = await this.deps.understanding.understand(this.message, dstate);
    const understandingMs = performance.now() - tu;
    this.lang = u.language;
    this.prompts.push(...(u.prompts ?? []));
    state.language = u.language;
    state.tool_session.language = u.language;
    for (const f of state.stack) if (f.awaiting) this.interrupted.add(f);

    // Readings shared by every understanding engine (local or llm): porting out is a knowledge question,
    // a complaint at a pending confirmation is no answer.
    const read = portingNotCancellation(answerFromIntents(u, this.top), this.message, dstate, u.language);
    const answered = complaintNotAnswer(read, this.message, this.top);
    await this.apply(this.claimed(complaintStartsNothing(answered, this.message, this.top), u.intents));
    await this.runStack();
    if (this.parts.length === 0) this.fallback();
    let reply = this.parts.join("\n\n");

    if (this.deps.phraser && !this.ended) {
      const tp = performance.now();
      try {
        const p = await this.deps.phraser.phrase({
          language: this.lang,
          message: this.message,
          templateReply: reply,
          facts: this.facts,
          history: state.history.slice(-this.deps.config.historyMessages),
        });
        reply = p.reply;
        this.phrasing = p.trace;
        this.prompts.push(...p.prompts);
      } catch (err) {
        this.phrasing = {
          used: "template",
          reason: `phrasing failed: ${err instanceof Error ? err.message : String(err)}`,
        };
      }
      this.phrasingMs += performance.now() - tp;
    }

    state.history.push({ role: "user", text: maskDigits(this.message) }, { role: "assistant", text: reply });
    if (state.history.length > MAX_HISTORY) state.history.splice(0, state.history.length - MAX_HISTORY);

    const total = performance.now() - t0;
    const timings: TurnTimings = {
      understanding_ms: round(understandingMs),
      tools_ms: round(this.toolsMs),
      retrieval_ms: round(this.retrievalMs),
      dialogue_ms: round(
        Math.max(0, total - understandingMs - this.toolsMs - this.retrievalMs - this.phrasingMs),
      ),
      phrasing_ms: round(this.phrasingMs),
      total_ms: round(total),
    };
    const views = this.calls.map((c) =>
      maskCall(c.name, c.args, c.ok ? c.result : { ok: false, error: c.error }),
    );
    const intent = this.intentOf(u);
    const trace: TurnTrace = {
      trace_id: this.traceId,
      turn_no: state.turns,
      at: new Date().toISOString(),
      message: maskDigits(this.message),
      engine: u.engine,
      fallback: u.fallback ?? null,
      intents: u.intents.slice(0, 3),
      commands: u.commands,
      stack_before: stackBefore,
      stack_after: state.stack.map((f) => f.flow),
      steps: this.steps,
      templates: this.templates,
      tool_calls: this.calls.map((c) => ({
        name: c.name,
        ok: c.ok,
        ms: round(c.ms),
        ...(c.ok ? {} : { error: `${c.error.code}: ${c.error.message}` }),
      })),
      prompts: [...new Set(this.prompts)],
      phrasing: this.phrasing,
      interactions: this.interactions,
      timings,
      reply,
    };
    return {
      reply,
      intent,
      citations: this.citations,
      tool_calls: views,
      offers: this.offers,
      interaction_id: this.interactions.at(-1) ?? null,
      trace_id: this.traceId,
      language: this.lang,
      notices: this.notices,
      ended: this.ended,
      trace,
    };
  }

  private intentOf(u: Understanding): string | null {
    const start = u.commands.find((c) => c.type === "start_flow");
    if (start) return start.flow;
    if (u.commands.some((c) => c.type === "answer_knowledge")) return "knowledge";
    if (u.commands.some((c) => c.type === "hand_off")) return "human_handoff";
    return u.intents[0]?.intent ?? this.top?.flow ?? null;
  }

  // ---- commands -----------------------------------------------------------------------------------

  /**
   * The active flow's claim on the message (flows.claims): its slots are set, and what would start
   * another journey, answer a question or give up on the message is dropped. Hand-offs, cancelling the
   * flow, restating it, and slots the flow takes are kept.
   */
  private claimed(commands: Command[], intents: Understanding["intents"]): Command[] {
    const t = this.top;
    if (!t?.awaiting) return commands;
    const def = FLOWS[t.flow];
    const claim = def.claims?.(t, this.message, commands, intents);
    if (!claim) return commands;
    const kept = commands.filter((c) => {
      if (claim.exclusive) return c.type === "hand_off" || (c.type === "chitchat" && c.kind === "abuse");
      switch (c.type) {
        case "hand_off":
        case "cancel_flow":
          return true;
        case "start_flow":
          return c.flow === t.flow;
        case "set_slot":
        case "correct_slot":
          return !(c.slot in claim.slots) && (def.accepts.includes(c.slot) || ANSWER_SLOTS.has(c.slot));
        case "chitchat":
          return c.kind === "abuse";
        default:
          return false;
      }
    });
    const set: Command[] = Object.entries(claim.slots).map(([slot, value]) => ({
      type: "set_slot",
      slot: slot as SlotName,
      value: value as SlotValue,
    }));
    if (set.length || kept.length !== commands.length)
      this.steps.push(`${t.flow}.${t.step} (claimed the message)`);
    return [...set, ...kept];
  }

  private async apply(commands: Command[]): Promise<void> {
    const state = this.state;
    const starts: FlowName[] = [];
    const knowledge: string[] = [];
    let understood = false;
    let chit: "greeting" | "thanks" | "goodbye" | "smalltalk" | "abuse" | null = null;
    let handoff: string | null = null;
    let cannot = false;

    if (await this.refuseOtherCustomer(commands)) {
      state.conversation.misunderstood = 0;
      return;
    }

    // "Esquece, não quero mais cancelar": the flow named next to "esquece" is what is dropped, not a new request.
    const dropping = commands.some((c) => c.type === "cancel_flow") ? this.top?.flow : undefined;
    if (dropping) commands = commands.filter((c) => !(c.type === "start_flow" && c.flow === dropping));
    for (const c of commands) {
      switch (c.type) {
        case "cancel_flow": {
          understood = true;
          const frame = this.top;
          const step = frame ? FLOWS[frame.flow].onCancel?.(frame) : null;
          if (frame && step) {
            // The flow has its own reading of "esquece" (the cancellation: the customer stays).
            frame.step = step;
            frame.awaiting = null;
            this.steps.push(`${frame.flow}.${step} (esquece)`);
            break;
          }
          state.stack.pop();
          if (frame) {
            if (frame.flow !== "identity")
              state.conversation.pending.push({
                category: FLOW_CATEGORY[frame.flow],
                outcome: "abandoned",
                summary: `${frame.flow} dropped by the customer at step ${frame.step}.`,
              });
            this.say(common, "cancelled", frame.flow);
          } else this.say(common, "nothingToCancel");
          break;
        }
        case "start_flow":
          understood = true;
          if (!starts.includes(c.flow)) starts.push(c.flow);
          break;
        case "set_slot":
          understood = this.setSlot(c.slot, c.value) || understood;
          break;
        case "correct_slot":
          understood = this.correctSlot(c.slot, c.value) || understood;
          break;
        case "answer_knowledge":
          understood = true;
          knowledge.push(c.query);
          break;
        case "hand_off":
          understood = true;
          handoff = c.reason;
          break;
        case "chitchat":
          understood = true;
          chit = c.kind;
          break;
        case "cannot_handle":
          cannot = true;
          break;
      }
    }

    // A free-text answer (the cancellation reason) is the message itself when nothing else filled it.
    const t = this.top;
    if (
      t?.awaiting &&
      FREE_TEXT_SLOTS.has(t.awaiting) &&
      t.slots[t.awaiting] === undefined &&
      starts.length === 0 &&
      knowledge.length === 0 &&
      !handoff
    ) {
      t.slots[t.awaiting] = this.message.trim().slice(0, 200);
      understood = true;
    }

    for (const q of knowledge) await this.answerKnowledge(q);

    if (chit === "abuse") {
      state.conversation.sentiment = "negative";
      this.say(common, "abuse");
    } else if (chit === "thanks" && state.conversation.sentiment !== "negative")
      state.conversation.sentiment = "positive";

    // Flows named in one message run in the order they were named: the first ends up on top.
    for (const flow of [...starts].reverse()) this.startFlow(flow);
    if (handoff) this.pushHandoff("customer_request", handoff);

    if (chit === "goodbye" && starts.length === 0 && !handoff) {
      await this.goodbye();
      return;
    }
    if (chit === "greeting" && state.stack.length === 0 && knowledge.length === 0 && starts.length === 0)
      this.say(common, "greeting");
    else if (chit === "thanks" && state.stack.length === 0 && starts.length === 0 && knowledge.length === 0)
      this.say(common, "thanks");
    else if (
      chit === "smalltalk" &&
      state.stack.length === 0 &&
      starts.length === 0 &&
      knowledge.length === 0
    )
      this.say(common, "smalltalk");

    if (understood || chit) state.conversation.misunderstood = 0;
    else if (cannot || commands.length === 0) await this.notUnderstood();
  }

  /** The message names another customer (an id, or a CPF that is not the session's): refuse, do nothing else. */
  private async refuseOtherCustomer(commands: Command[]): Promise<boolean> {
    const me = this.state.tool_session.customer_id;
    if (!me) return false;
    const ids = [...this.message.matchAll(CUSTOMER_ID_IN_TEXT)].map((m) => m[0].toUpperCase());
    let other = ids.some((id) => id !== me.toUpperCase());
    if (!other && this.top?.flow !== "identity") {
      const cpf = commands.find(
        (c) => (c.type === "set_slot" || c.type === "correct_slot") && c.slot === "cpf",
      );
      if (cpf && (cpf.type === "set_slot" || cpf.type === "correct_slot")) {
        const digits = String(cpf.value).replace(/\D/g, "");
        const profile = await this.call("get_customer_profile", {});
        // The profile shows the CPF's middle digits only (***.456.***-**): enough to tell it is not this one.
        const middle = profile.ok ? profile.result.cpf_masked.replace(/\D/g, "") : "";
        other = middle.length === 3 && digits.length === 11 && digits.slice(3, 6) !== middle;
      }
    }
    if (other) {
      this.say(common, "otherCustomer");
      const t = this.top;
      if (t?.awaiting) this.interrupted.add(t);
    }
    return other;
  }

  private setSlot(slot: SlotName, value: SlotValue): boolean {
    const t = this.top;
    if (ANSWER_SLOTS.has(slot)) {
      if (!t) return false;
      if (slot === "confirm" && (t.awaiting === "confirm" || t.awaiting === "choice")) {
        t.slots.confirm = value;
        return true;
      }
      if (slot === "choice" && t.options.length > 0) {
        t.slots.choice = value;
        return true;
      }
      return false;
    }
    if (t && (t.awaiting === slot || FLOWS[t.flow].accepts.includes(slot))) {
      t.slots[slot] = value;
      return true;
    }
    // "Não, a de março" right after a flow ended: run that flow again with the new value.
    const last = this.state.conversation.last_ended;
    if (
      last &&
      last.turn >= this.state.turns - 1 &&
      FLOWS[last.frame.flow].accepts.includes(slot) &&
      !IDENTITY_SLOTS.has(slot)
    ) {
      const again = newFrame(last.frame.flow, FLOWS[last.frame.flow].first);
      again.slots = { ...last.frame.slots, [slot]: value };
      this.state.conversation.last_ended = null;
      this.push(again);
      return true;
    }
    this.carry.set(slot, value);
    return true;
  }

  private correctSlot(slot: SlotName, value: SlotValue): boolean {
    for (let i = this.state.stack.length - 1; i >= 0; i--) {
      const frame = this.state.stack[i];
      const def = FLOWS[frame.flow];
      if (frame.slots[slot] !== undefined || def.accepts.includes(slot) || frame.awaiting === slot) {
        frame.slots[slot] = value;
        const step = def.onCorrect?.(slot, frame);
        if (step) {
          frame.step = step;
          frame.awaiting = null;
          this.steps.push(`${frame.flow}.${step} (correction)`);
        }
        return true;
      }
    }
    return this.setSlot(slot, value);
  }

  private startFlow(flow: FlowName): void {
    const t = this.top;
    if (t && t.flow === flow) {
      const step = FLOWS[flow].onRestart?.(t);
      if (step) {
        t.step = step;
        t.awaiting = null;
        this.steps.push(`${flow}.${step} (restated)`);
      }
      return;
    }
    const existing = this.state.stack.findIndex((f) => f.flow === flow);
    if (existing >= 0) {
      // Already open lower in the stack: bring it back on top.
      const [frame] = this.state.stack.splice(existing, 1);
      this.state.stack.push(frame);
      return;
    }
    this.push(newFrame(flow, FLOWS[flow].first));
  }

  private push(frame: FlowFrame): void {
    const def = FLOWS[frame.flow];
    for (const [slot, value] of this.carry)
      if (def.accepts.includes(slot)) {
        frame.slots[slot] = value;
        this.carry.delete(slot);
      }
    this.state.stack.push(frame);
    this.state.flows_started.push(frame.flow);
  }

  private pushHandoff(reason: string, detail: string, topic?: string): void {
    if (this.state.stack.some((f) => f.flow === "human_handoff")) return;
    const under = this.state.stack.filter((f) => f.flow !== "identity").at(-1);
    const frame = newFrame("human_handoff", FLOWS.human_handoff.first);
    frame.facts = {
      reason,
      topic: topic ?? (under ? FLOW_TOPIC[under.flow] : "other"),
      summary: this.handoffSummary(detail),
    };
    this.push(frame);
  }

  /** The structured summary policy-escalonamento-humano §4 asks for: request, what was tried, protocols, offers. */
  private handoffSummary(detail: string): string {
    const s = this.state;
    const open = s.stack.filter((f) => f.flow !== "identity" && f.flow !== "human_handoff");
    const parts = [
      `Identity: ${s.tool_session.customer_id ? "verified" : "not verified"}.`,
      `Request: ${detail}.`,
      open.length ? `Open: ${open.map((f) => `${f.flow} at ${f.step}`).join("; ")}.` : "",
      s.conversation.pending.length ? `Done: ${s.conversation.pending.map((p) => p.summary).join(" ")}` : "",
      s.conversation.protocols.length ? `Protocols: ${s.conversation.protocols.join(", ")}.` : "",
      s.conversation.offers_presented.length
        ? `Offers presented: ${s.conversation.offers_presented.join(", ")}.`
        : "",
    ];
    return parts.filter(Boolean).join(" ");
  }

  private async goodbye(): Promise<void> {
    const protocol = this.state.conversation.protocols.at(-1) ?? null;
    const engine = new DialogueEngine(this.deps);
    const closed = await engine.close(this.state, "goodbye");
    if (closed.interaction_id) this.interactions.push(closed.interaction_id);
    this.ended = true;
    this.say(common, "goodbye", protocol);
  }

  private async notUnderstood(): Promise<void> {
    const conv = this.state.conversation;
    conv.misunderstood += 1;
    const t = this.top;
    if (t?.awaiting) {
      t.retries += 1;
      // The step asks its question again when the stack runs; after three misses, offer a person.
      if (t.retries >= 3) this.say(common, "notUnderstoodAgain");
      return;
    }
    if (this.deps.phraser?.answerOpen && this.state.tool_session.customer_id) {
      const tp = performance.now();
      try {
        const r = await this.deps.phraser.answerOpen({
          language: this.lang,
          message: this.message,
          history: this.state.history.slice(-this.deps.config.historyMessages),
          toolbox: this.toolbox,
        });
        this.phrasing = r.trace;
        this.prompts.push(...r.prompts);
        for (const c of r.calls) this.record(c);
        if (r.reply) {
          this.parts.push(r.reply);
          this.templates.push("open_question.generated");
          conv.misunderstood = 0;
          this.phrasingMs += performance.now() - tp;
          return;
        }
      } catch (err) {
        this.phrasing = {
          used: "template",
          reason: `tool loop failed: ${err instanceof Error ? err.message : String(err)}`,
        };
      }
      this.phrasingMs += performance.now() - tp;
    }
    this.say(common, conv.misunderstood >= 3 ? "notUnderstoodAgain" : "notUnderstood");
  }

  private fallback(): void {
    const t = this.top;
    if (t) return;
    this.say(common, "anythingElse");
  }

  // ---- knowledge ----------------------------------------------------------------------------------

  private async answerKnowledge(query: string): Promise<void> {
    const t0 = performance.now();
    const k = this.deps.config.knowledge.passages;
    const r = await this.toolbox.call("search_knowledge_base", { query, k });
    this.record(r, { retrieval: true });
    this.retrievalMs -= r.ms; // counted whole below, with the sentence extraction
    if (!r.ok) {
      this.retrievalMs += performance.now() - t0;
      this.say(common, r.error.code === "system_unavailable" ? "systemDown" : "toolFailed", r.error.system);
      return;
    }
    const passages: Passage[] = r.result.results.map((p) => ({
      doc_id: p.doc_id,
      chunk_id: p.chunk_id,
      title: p.title,
      section: p.section,
      source: displaySource(p.source),
      text: p.text,
      score: p.score,
    }));
    const answer = extractAnswer(query, passages, {
      maxSentences: this.deps.config.knowledge.sentences,
      maxPassages: k,
    });
    this.retrievalMs += performance.now() - t0;
    if (!answer) {
      this.parts.push(
        this.lang === "en"
          ? "I couldn't find that in our documentation. If you prefer, I can transfer you to an agent."
          : "Não encontrei isso na nossa documentação. Se preferir, posso te transferir para um atendente.",
      );
      this.templates.push("knowledge.none");
      return;
    }
    this.facts.push(answer.sentences);
    for (const c of answer.citations)
      if (!this.citations.some((x) => x.doc_id === c.doc_id && x.section === c.section))
        this.citations.push(c);
    this.parts.push(renderKnowledge(answer, this.lang));
    this.templates.push("knowledge.extractive");
    const s = query.replace(/\s+/g, " ").slice(0, 120);
    this.state.conversation.pending.push({
      category: "knowledge",
      outcome: "resolved",
      summary: `Question answered from ${[...new Set(answer.citations.map((c) => c.doc_id))].join(", ")}: "${maskDigits(s)}".`,
    });
  }

  // ---- flows --------------------------------------------------------------------------------------

  private async runStack(): Promise<void> {
    const state = this.state;
    for (let i = 0; i < MAX_STEPS_PER_TURN; i++) {
      const frame = this.top;
      if (!frame) return;
      const def = FLOWS[frame.flow];
      if (def.needsIdentity && !state.tool_session.customer_id && frame.flow !== "identity") {
        // One identity check at a time: an open one lower in the stack comes back on top.
        const open = state.stack.findIndex((f) => f.flow === "identity");
        if (open >= 0) state.stack.push(...state.stack.splice(open, 1));
        else this.push(newFrame("identity", FLOWS.identity.first));
        continue;
      }
      if (this.interrupted.has(frame)) {
        // Something else was said first (a digression's answer): say where we are going back to.
        if (this.parts.length > 0) this.say(common, "resume", frame.flow);
        this.interrupted.delete(frame);
      }
      const step = def.steps[frame.step];
      if (!step) throw new Error(`flow ${frame.flow} has no step ${frame.step}`);
      this.steps.push(`${frame.flow}.${frame.step}`);
      const t = await step(this.flowContext(frame));
      if (!this.apply_(frame, t)) return;
      if (t.type === "end") await this.finish(frame, t.end);
    }
    throw new Error(`the flows did not settle within ${MAX_STEPS_PER_TURN} steps`);
  }

  /** Applies a transition; false when the turn waits for the customer. */
  private apply_(frame: FlowFrame, t: Transition): boolean {
    switch (t.type) {
      case "ask":
        frame.awaiting = t.slot;
        if (t.options) frame.options = t.options;
        return false;
      case "goto":
        frame.step = t.step;
        frame.awaiting = null;
        frame.retries = 0;
        return true;
      case "push":
        frame.step = t.resume;
        frame.awaiting = null;
        if (t.flow === "human_handoff") this.pushHandoff(t.reason ?? "cannot_handle", t.reason ?? frame.flow);
        else this.push(newFrame(t.flow, FLOWS[t.flow].first));
        return true;
      case "end":
        return true;
    }
  }

  private async finish(frame: FlowFrame, e: FlowEnd): Promise<void> {
    const state = this.state;
    const idx = state.stack.lastIndexOf(frame);
    if (idx >= 0) state.stack.splice(idx, 1);
    state.conversation.last_ended = { frame, turn: state.turns };
    if (e.identityFailed) {
      state.stack = state.stack.filter((f) => !FLOWS[f.flow].needsIdentity);
      return;
    }
    if (e.handoff) this.pushHandoff(e.handoff.reason, e.handoff.detail, e.handoff.topic);
    if (e.protocol) state.conversation.protocols.push(e.protocol);
    // Handed to a person: the assistant stops here; what was open is theirs now (registered as left open).
    if (frame.flow === "human_handoff" && e.outcome === "escalated") {
      for (const f of state.stack)
        if (f.flow !== "identity")
          state.conversation.pending.push({
            category: FLOW_CATEGORY[f.flow],
            outcome: "abandoned",
            summary: `${f.flow} handed to a person at step ${f.step}.`,
          });
      state.stack = [];
    }
    // A service being cancelled is not diagnosed or re-planned any more: those journeys are moot.
    if (e.outcome === "cancel_requested")
      state.stack = state.stack.filter(
        (f) => f.flow !== "internet_diagnosis" && f.flow !== "plan_recommendation",
      );
    const category = FLOW_CATEGORY[frame.flow];
    // The same journey dropped (or left with "I'll stay") earlier in this contact and now finished again:
    // the later ending is the record.
    if (e.outcome)
      state.conversation.pending = state.conversation.pending.filter(
        (p) => !((p.outcome === "abandoned" || p.outcome === "retained") && p.category === category),
      );
    if (e.registered) {
      this.interactions.push(e.registered);
      state.conversation.registered.push(e.registered);
      return;
    }
    if (!e.outcome || !state.tool_session.customer_id) return;
    if (e.defer) {
      state.conversation.pending.push({
        category,
        outcome: e.outcome,
        summary: e.summary,
        offers_made: e.offers_made ?? [],
      });
      return;
    }
    const sentiment =
      frame.flow === "cancellation" && e.outcome === "cancel_requested"
        ? "negative"
        : state.conversation.sentiment;
    // Questions answered along the way belong to this journey's record, not to one of their own.
    const asked = state.conversation.pending.filter((p) => p.category === "knowledge");
    state.conversation.pending = state.conversation.pending.filter((p) => p.category !== "knowledge");
    const summary = asked.length ? `${e.summary} Also: ${asked.map((p) => p.summary).join(" ")}` : e.summary;
    const r = await this.call("register_interaction", {
      category: FLOW_CATEGORY[frame.flow],
      summary: summary.slice(0, 1000),
      sentiment,
      outcome: e.outcome,
      offers_made: e.offers_made ?? [],
      offer_accepted: e.offer_accepted ?? null,
      protocol: e.protocol ?? null,
    });
    if (r.ok) {
      this.interactions.push(r.result.interaction_id);
      state.conversation.registered.push(r.result.interaction_id);
      if (!e.protocol) {
        state.conversation.protocols.push(r.result.protocol);
        this.parts.push(
          this.lang === "en" ? EN_INTERACTION(r.result.protocol) : PT_INTERACTION(r.result.protocol),
        );
        this.templates.push(`${frame.flow}.protocol`);
      }
    }
  }

  private async call<N extends ToolName>(name: N, args: ToolArgs[N]): Promise<ToolCallRecord<N>> {
    const r = await this.toolbox.call(name, args);
    this.record(r);
    if (r.ok) this.facts.push(r.result);
    return r;
  }

  /** Keeps a call for the turn's output and trace, and tells the live listener. */
  private record(r: CallRecord<string, unknown>, opts: { retrieval?: boolean } = {}): void {
    if (opts.retrieval) this.retrievalMs += r.ms;
    else this.toolsMs += r.ms;
    this.calls.push(r);
    if (this.onToolCall) {
      try {
        this.onToolCall(maskCall(r.name, r.args, r.ok ? r.result : { ok: false, error: r.error }));
      } catch {
        // A listener that fails (a closed stream) must not break the turn.
      }
    }
  }

  private flowContext(frame: FlowFrame): FlowContext {
    const run = this;
    const conv = this.state.conversation;
    const conversation: ConversationFacts = {
      get offers_presented() {
        return conv.offers_presented;
      },
      get retention_decision_id() {
        return conv.retention_decision_id;
      },
      set retention_decision_id(v: string | null) {
        conv.retention_decision_id = v;
      },
    };
    return {
      frame,
      lang: this.lang,
      customerId: this.state.tool_session.customer_id,
      text: this.message,
      conversation,
      call: (name, args) => run.call(name, args),
      async authenticate(input: AuthenticateInput) {
        const r = await run.toolbox.authenticate(input);
        run.record(r);
        return r;
      },
      async requestLoginCode(input) {
        const r = await run.toolbox.requestLoginCode(input);
        run.record(r);
        return r;
      },
      async consent(action: ConsentAction, subject: string) {
        const r = await run.toolbox.recordConsent({ action, subject });
        run.record(r);
        return r;
      },
      say(set, key, ...args) {
        const fn = set[run.lang][key] as unknown as (...a: unknown[]) => string;
        run.parts.push(fn(...args));
        run.templates.push(`${frame.flow}.${key}`);
      },
      showOffers(offers) {
        run.offers.push(...offers);
      },
      notice(kind, text) {
        run.notices.push({ kind, text });
      },
      take(slot) {
        const v = frame.slots[slot];
        delete frame.slots[slot];
        return v;
      },
    };
  }
}

/**
 * How sure the ranked intents must be of a yes or a no to read the message as that answer: more likely
 * than not (was 0.25). Evidence in llmops/agent/understanding/README.md: on the labelled messages put at
 * a pending confirmation every right reading scored above 0.95; tests in misreads.test.ts.
 */
const YES_NO_MIN = 0.5;
/**
 * What a yes or a no may come with and still be the answer: the answer itself, "esquece"/"não precisa",
 * thanks, a greeting, or the journey being asked about restated ("voltou sim, a internet tá ok"). Next to
 * any other intent ("seu bot lixo, não entende nada", "manda outro código, esse não veio", "tem ligação
 * que eu não fiz") the "não" belongs to a statement, not to the question.
 */
const ANSWER_COMPANIONS: ReadonlySet<string> = new Set([
  "affirm",
  "deny",
  "stop",
  "thanks",
  "greeting",
  "inform",
]);

/**
 * The answer to a yes/no question when the commands carry none: "fiz aqui e voltou sim, obrigado" is
 * classified as the internet problem restated, with "affirm" close behind. While the active flow awaits
 * `confirm`, an affirm or deny among the ranked intents is that answer, and a restatement of the active
 * flow in the same message is dropped (it is the topic of the question, not a new request).
 */
export function answerFromIntents(u: Understanding, top: FlowFrame | undefined): Command[] {
  if (!top || (top.awaiting !== "confirm" && top.awaiting !== "choice")) return u.commands;
  const answered = u.commands.some(
    (c) =>
      (c.type === "set_slot" || c.type === "correct_slot") &&
      (c.slot === "confirm" ||
        c.slot === "choice" ||
        c.slot === "offer_id" ||
        c.slot === "slot_id" ||
        c.slot === "plan_id"),
  );
  if (answered) return u.commands;
  const yes = u.intents.find((i) => i.intent === "affirm")?.confidence ?? 0;
  const no = u.intents.find((i) => i.intent === "deny")?.confidence ?? 0;
  if (Math.max(yes, no) < YES_NO_MIN) return u.commands;
  const lead = u.intents[0]?.intent;
  const restates = lead === top.flow || (isIntent(lead ?? "") && INTENT_FLOW[lead as Intent] === top.flow);
  if (lead !== undefined && !ANSWER_COMPANIONS.has(lead) && !restates) return u.commands;
  const rest = u.commands.filter(
    (c) =>
      !(c.type === "start_flow" && c.flow === top.flow) &&
      c.type !== "cannot_handle" &&
      c.type !== "cancel_flow",
  );
  return [{ type: "set_slot", slot: "confirm", value: yes >= no }, ...rest];
}

/** A document path as a citation shows it: relative to the working directory when inside it. */
export function displaySource(source: string): string {
  if (!isAbsolute(source)) return source;
  const rel = relative(process.cwd(), source);
  return rel.startsWith("..") || isAbsolute(rel) ? source : rel;
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

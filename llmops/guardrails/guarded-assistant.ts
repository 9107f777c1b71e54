import { randomUUID } from "node:crypto";
import type { GuardrailsConfig } from "../../platform/config/sections/guardrails.ts";
import {
  Assistant,
  type AssistantDeps,
  type ChatOutcome,
  type ChatRequest,
  type ChatResponse,
  MAX_MESSAGE_CHARS,
  newSessionId,
  SessionForbiddenError,
} from "../agent/assistant.ts";
import type { Language } from "../agent/commands.ts";
import type { TurnOptions, TurnResult } from "../agent/engine.ts";
import { type AssistantState, parseAssistantState } from "../agent/session.ts";
import { buildOutputFacts } from "./facts.ts";
import { withTurnTriggers } from "./knowledge.ts";
import {
  createGuardrailSet,
  type GuardrailSet,
  runInputGuardrails,
  runOutputGuardrails,
  warmUpGuardrails,
} from "./pipeline.ts";
import { HANDOFF_REQUEST, template } from "./templates.ts";
import { guessLanguage } from "./text.ts";
import type { GuardrailTrigger } from "./types.ts";

/**
 * The assistant behind its guardrails. Input guardrails run before the engine sees the message: a
 * blocked message never reaches it and still gets a polite reply; a masked one reaches it masked.
 * Retrieved passages are neutralised inside the turn (knowledge.ts). Output guardrails run on the
 * reply against this session's facts. Escalations hand the conversation to a person through the
 * engine's own hand-off flow (so the hand-off is registered like any other). Every trigger is in the
 * response (`guardrails`), with the stage, the action and the reason.
 */

export interface GuardedChatResponse extends ChatResponse {
  guardrails: GuardrailTrigger[];
}

export interface GuardedChatOutcome extends ChatOutcome {
  response: GuardedChatResponse;
  /** The customer's message as logs, traces and metrics may hold it (PII masked). */
  message_masked: string;
  /** Whether the message reached the dialogue engine at all. */
  reached_assistant: boolean;
  /** Milliseconds spent in the guardrails themselves (input + output, not the engine). */
  guardrails_ms: number;
}

export interface GuardOptions {
  config: GuardrailsConfig;
  set?: GuardrailSet;
  /** The unguarded turn (default `assistant.chat`); GuardedAssistant passes its super.chat. */
  chat?: (req: ChatRequest) => Promise<ChatOutcome>;
  /** Receives every guarded turn (metrics, traces, audit). Errors in it are ignored. */
  onTurn?: (turn: GuardedChatOutcome) => void;
}

const SESSION_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

/** Requests the assistant would reject go to it unchanged so the error is the assistant's own. */
function invalid(req: ChatRequest): boolean {
  const m = typeof req.message === "string" ? req.message.trim() : "";
  return (
    !m || m.length > MAX_MESSAGE_CHARS || (req.session_id !== undefined && !SESSION_ID.test(req.session_id))
  );
}

async function loadState(
  assistant: Assistant,
  sessionId: string | undefined,
): Promise<{
  state: AssistantState | null;
  customer: string | null;
}> {
  if (!sessionId) return { state: null, customer: null };
  const stored = await assistant.store.get(sessionId);
  if (!stored) return { state: null, customer: null };
  try {
    return { state: parseAssistantState(stored.state, sessionId), customer: stored.customer_id };
  } catch {
    return { state: null, customer: stored.customer_id };
  }
}

function blockedTurn(reply: string, lang: Language, masked: string, turnNo: number): TurnResult {
  const traceId = randomUUID();
  const at = new Date().toISOString();
  return {
    reply,
    intent: null,
    citations: [],
    tool_calls: [],
    offers: [],
    interaction_id: null,
    trace_id: traceId,
    language: lang,
    notices: [],
    ended: false,
    trace: {
      trace_id: traceId,
      turn_no: turnNo,
      at,
      message: masked,
      engine: "local",
      fallback: null,
      intents: [],
      commands: [],
      stack_before: [],
      stack_after: [],
      steps: [],
      templates: ["guardrails.input"],
      tool_calls: [],
      prompts: [],
      phrasing: null,
      interactions: [],
      timings: {
        understanding_ms: 0,
        tools_ms: 0,
        retrieval_ms: 0,
        dialogue_ms: 0,
        phrasing_ms: 0,
        total_ms: 0,
      },
      reply,
    },
  };
}

/** Keeps the guarded reply, not the original, in what a generative model sees next turn. */
async function rewriteHistory(
  assistant: Assistant,
  sessionId: string,
  original: string,
  guarded: string,
): Promise<void> {
  try {
    const stored = await assistant.store.get(sessionId);
    if (!stored) return;
    const state = parseAssistantState(stored.state, sessionId);
    const last = state.history.at(-1);
    if (last?.role !== "assistant" || last.text !== original) return;
    last.text = guarded;
    await assistant.store.save(
      { ...stored, state: state as unknown as Record<string, unknown> },
      { expectedVersion: stored.version },
    );
  } catch {
    // A concurrent turn moved the session on: its history no longer ends with this reply.
  }
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;

/** One guarded turn. */
export async function guardChat(
  assistant: Assistant,
  req: ChatRequest,
  opts: GuardOptions,
): Promise<GuardedChatOutcome> {
  const chat = opts.chat ?? ((r: ChatRequest) => assistant.chat(r));
  if (invalid(req)) {
    const r = await chat(req);
    return {
      ...r,
      response: { ...r.response, guardrails: [] },
      message_masked: "",
      reached_assistant: true,
      guardrails_ms: 0,
    };
  }
  const set = opts.set ?? createGuardrailSet(opts.config);
  const message = req.message.trim();
  const before = await loadState(assistant, req.session_id);
  if (req.session_id && req.customer_id && before.customer && before.customer !== req.customer_id)
    throw new SessionForbiddenError(req.session_id);
  const lang: Language =
    req.language ?? before.state?.language ?? guessLanguage(message, assistant.config.defaultLanguage);

  let spent = 0;
  const t0 = performance.now();
  const input = runInputGuardrails(set, message, lang);
  spent += performance.now() - t0;
  const triggers: GuardrailTrigger[] = [...input.triggers];

  const finish = (out: GuardedChatOutcome): GuardedChatOutcome => {
    try {
      opts.onTurn?.(out);
    } catch {
      // Observers never break a turn.
    }
    return out;
  };

  if (input.text === null && !input.escalate) {
    const sessionId = req.session_id ?? newSessionId();
    const reply = input.reply ?? template("blocked", lang);
    const turn = blockedTurn(reply, lang, input.masked, (before.state?.turns ?? 0) + 1);
    return finish({
      response: {
        session_id: sessionId,
        reply,
        intent: null,
        citations: [],
        tool_calls: [],
        offers: [],
        interaction_id: null,
        trace_id: turn.trace_id,
        guardrails: triggers,
      },
      turn,
      closed_idle: null,
      persistence_ms: 0,
      message_masked: input.masked,
      reached_assistant: false,
      guardrails_ms: round(spent),
    });
  }

  // An escalation sends the engine what a customer asking for a person would say.
  const forward = input.text ?? HANDOFF_REQUEST[lang];
  const retrieved: GuardrailTrigger[] = [];
  let outcome = await withTurnTriggers(retrieved, () =>
    chat({ ...req, message: forward, language: req.language }),
  );
  triggers.push(...retrieved);
  const sessionId = outcome.response.session_id;
  const after = await loadState(assistant, sessionId);
  const t1 = performance.now();
  const facts = buildOutputFacts(
    {
      tool_calls: outcome.response.tool_calls,
      citations: outcome.response.citations,
      templates: outcome.turn.trace.templates,
    },
    after.state,
    outcome.turn.language,
  );
  const output = runOutputGuardrails(set, outcome.response.reply, facts);
  spent += performance.now() - t1;
  triggers.push(...output.triggers);
  let reply = output.reply;
  const original = outcome.response.reply;

  if (output.escalate) {
    const handoff = await withTurnTriggers(retrieved, () =>
      chat({ ...req, session_id: sessionId, message: HANDOFF_REQUEST[outcome.turn.language] }),
    );
    await rewriteHistory(assistant, sessionId, original, output.reply);
    reply = `${output.reply}\n\n${handoff.response.reply}`;
    outcome = {
      ...handoff,
      response: {
        ...handoff.response,
        tool_calls: [...outcome.response.tool_calls, ...handoff.response.tool_calls],
      },
    };
  } else if (input.escalate) {
    reply = `${input.reply ?? template("escalating", lang)}\n\n${reply}`;
  } else if (output.changed) {
    await rewriteHistory(assistant, sessionId, original, reply);
  }

  return finish({
    ...outcome,
    response: { ...outcome.response, reply, guardrails: triggers },
    turn: { ...outcome.turn, reply },
    message_masked: input.masked,
    reached_assistant: input.text !== null,
    guardrails_ms: round(spent),
  });
}

/**
 * The assistant every interface should get: `chat` is guarded; sessions, traces, ending and the idle
 * sweep are the assistant's own. Turns on one session are serialised here as in the assistant.
 */
export class GuardedAssistant extends Assistant {
  readonly guardrails: GuardrailsConfig;
  private readonly set: GuardrailSet;
  private readonly onTurn: GuardOptions["onTurn"];
  private readonly queue = new Map<string, Promise<unknown>>();

  constructor(
    deps: AssistantDeps,
    guardrails: GuardrailsConfig,
    opts: { onTurn?: GuardOptions["onTurn"] } = {},
  ) {
    super(deps);
    this.guardrails = guardrails;
    const set = createGuardrailSet(guardrails);
    // With an observer (llmops/observability) each guardrail is a span under the guarded turn.
    this.set = this.observer ? this.observer.guardrails(set) : set;
    this.onTurn = opts.onTurn;
    if (guardrails.enabled) warmUpGuardrails(set);
  }

  override async chat(req: ChatRequest, opts: TurnOptions = {}): Promise<GuardedChatOutcome> {
    if (!this.guardrails.enabled) {
      const r = await super.chat(req, opts);
      return {
        ...r,
        response: { ...r.response, guardrails: [] },
        message_masked: "",
        reached_assistant: true,
        guardrails_ms: 0,
      };
    }
    const guarded = () =>
      guardChat(this, req, {
        config: this.guardrails,
        set: this.set,
        chat: (r) => super.chat(r, opts),
        onTurn: this.onTurn,
      });
    // The guarded turn is the trace's root; the engine's turn (and an escalation's) nest under it.
    const run = () => (this.observer ? this.observer.chat(req, guarded) : guarded());
    const key = req.session_id;
    if (!key) return run();
    const prev = this.queue.get(key) ?? Promise.resolve();
    const next = prev.then(run, run);
    const tail = next.catch(() => {});
    this.queue.set(key, tail);
    try {
      return await next;
    } finally {
      if (this.queue.get(key) === tail) this.queue.delete(key);
    }
  }
}

import { randomUUID } from "node:crypto";
import type { GuardrailsConfig } from "../../platform/config/sections/guardrails.ts";
import type { StoredSession } from "../../platform/ports/assistant-sessions.ts";
import {
  Assistant,
  type AssistantDeps,
  type ChatOptions,
  type ChatOutcome,
  type ChatRequest,
  type ChatResponse,
  MAX_MESSAGE_CHARS,
  newSessionId,
  SessionForbiddenError,
} from "../agent/assistant.ts";
import type { TurnResult } from "../agent/engine.ts";
import type { AssistantState } from "../agent/session.ts";
import type { Language } from "../conversation/commands.ts";
import { languageSchema } from "../conversation/commands.ts";
import {
  createGuardrailSet,
  type GuardrailSet,
  type OutputDecision,
  runInputGuardrails,
  runOutputGuardrails,
  warmUpGuardrails,
} from "../guardrails/pipeline.ts";
import { HANDOFF_REQUEST, template } from "../guardrails/templates.ts";
import { guessLanguage } from "../guardrails/text.ts";
import type { GuardrailTrigger } from "../guardrails/types.ts";
import type { AssistantObserver } from "../observability/observer.ts";
import { withTurnTriggers } from "./guarded-knowledge.ts";
import { buildOutputFacts } from "./output-facts.ts";

/**
 * The assistant behind its guardrails. Input guardrails run before the engine sees the message: a
 * blocked message never reaches it and still gets a polite reply; a masked one reaches it masked.
 * Retrieved passages are neutralised inside the turn (guarded-knowledge.ts). Output guardrails run on the
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
  /**
   * The unguarded turn (default `assistant.chat`); GuardedAssistant passes its super.chat. The output
   * guardrails run inside it (`finalize`), so the reply they let through is what the session keeps.
   */
  chat?: (req: ChatRequest, opts?: ChatOptions) => Promise<ChatOutcome>;
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

/**
 * What the input guardrails need of a stored session before the turn: its language, its turn count and
 * its customer. Read without validating the whole state (the assistant validates it in the turn).
 */
async function peekSession(
  assistant: Assistant,
  sessionId: string | undefined,
): Promise<{
  language: Language | null;
  turns: number;
  customer: string | null;
  stored: StoredSession | null;
}> {
  const none = { language: null, turns: 0, customer: null, stored: null };
  if (!sessionId) return none;
  const stored = await assistant.store.get(sessionId);
  if (!stored) return none;
  const lang = languageSchema.safeParse(stored.state.language);
  const turns = stored.state.turns;
  return {
    language: lang.success ? lang.data : null,
    turns: typeof turns === "number" && Number.isInteger(turns) && turns >= 0 ? turns : 0,
    customer: stored.customer_id,
    stored,
  };
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

const round = (ms: number) => Math.round(ms * 1000) / 1000;

/** One guarded turn. */
export async function guardChat(
  assistant: Assistant,
  req: ChatRequest,
  opts: GuardOptions,
): Promise<GuardedChatOutcome> {
  const chat = opts.chat ?? ((r: ChatRequest, o?: ChatOptions) => assistant.chat(r, o));
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
  const before = await peekSession(assistant, req.session_id);
  if (req.session_id && req.customer_id && before.customer && before.customer !== req.customer_id)
    throw new SessionForbiddenError(req.session_id);
  const lang: Language =
    req.language ?? before.language ?? guessLanguage(message, assistant.config.defaultLanguage);

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
    const turn = blockedTurn(reply, lang, input.masked, before.turns + 1);
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
  let output: OutputDecision | null = null;
  // The output guardrails run on the engine's draft inside the turn, against the session state the turn
  // left, before anything is saved: the history, the stored turn record and the response all hold the
  // reply actually sent.
  const finalize = (turn: TurnResult, state: AssistantState) => {
    const t1 = performance.now();
    const facts = buildOutputFacts(
      { tool_calls: turn.tool_calls, citations: turn.citations, templates: turn.trace.templates },
      state,
      turn.language,
    );
    const out = runOutputGuardrails(set, turn.reply, facts);
    spent += performance.now() - t1;
    output = out;
    const reply =
      input.escalate && !out.escalate
        ? `${input.reply ?? template("escalating", lang)}\n\n${out.reply}`
        : out.reply;
    return { reply, record: { guardrails: [...triggers, ...retrieved, ...out.triggers] } };
  };
  let outcome = await withTurnTriggers(retrieved, () =>
    chat(
      { ...req, message: forward, language: req.language },
      // The session just read (inside this session's queue) is the turn's: no second read.
      req.session_id
        ? { finalize, preloaded: { session_id: req.session_id, stored: before.stored } }
        : { finalize },
    ),
  );
  triggers.push(...retrieved);
  const decided = output as OutputDecision | null;
  if (decided) triggers.push(...decided.triggers);
  let reply = outcome.response.reply;

  if (decided?.escalate) {
    // The safe reply was sent (and kept); the hand-off is a turn of its own on the same session.
    const handoff = await withTurnTriggers(retrieved, () =>
      chat({
        ...req,
        session_id: outcome.response.session_id,
        message: HANDOFF_REQUEST[outcome.turn.language],
      }),
    );
    reply = `${reply}\n\n${handoff.response.reply}`;
    outcome = {
      ...handoff,
      response: {
        ...handoff.response,
        tool_calls: [...outcome.response.tool_calls, ...handoff.response.tool_calls],
      },
    };
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
export class GuardedAssistant extends Assistant<AssistantObserver> {
  readonly guardrails: GuardrailsConfig;
  private readonly set: GuardrailSet;
  private readonly onTurn: GuardOptions["onTurn"];
  private readonly queue = new Map<string, Promise<unknown>>();

  constructor(
    deps: AssistantDeps<AssistantObserver>,
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

  override async chat(req: ChatRequest, opts: ChatOptions = {}): Promise<GuardedChatOutcome> {
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
        chat: (r, o) => super.chat(r, { ...opts, ...o }),
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

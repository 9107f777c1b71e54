import { AsyncLocalStorage } from "node:async_hooks";
import {
  type AttributeValue,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { type LanguageModelMiddleware, wrapLanguageModel } from "ai";
import type { AppContext } from "../../platform/context.ts";
import type { ChurnRiskService } from "../../platform/ports/churn-risk.ts";
import { costOf, type LlmProvider, type LlmUsage, llmRef } from "../../platform/ports/llm.ts";
import type { Phraser, PhrasingTrace, TurnTimings } from "../agent/engine.ts";
import type { ChatOutcome, ChatRequest, TurnObserver } from "../agent/turn-types.ts";
import type { Command, UnderstandingEngine } from "../conversation/commands.ts";
import type { Citation } from "../conversation/knowledge.ts";
import type { GuardrailSet } from "../guardrails/pipeline.ts";
import type { GuardrailTrigger } from "../guardrails/types.ts";
import { genAiAttributes, toLlmCallError } from "../prompts/fallback.ts";
import type { KnowledgeHit, KnowledgeSearch, Toolbox, ToolName, ToolSession } from "../tools/toolbox.ts";
import {
  AGENT_NAME,
  type Attrs,
  defined,
  GEN_AI,
  GEN_AI_PROVIDERS,
  maskJson,
  maskText,
} from "./attributes.ts";
import { addCall, type CostTotals, costBasis, emptyTotals } from "./cost.ts";
import { type DeployedVersions, deployedAttributes } from "./lineage.ts";
import type { AssistantMetrics } from "./metrics.ts";

/**
 * The assistant's tracing, tokens, cost and metrics, hooked in at composition (llmops/assistant/compose.ts)
 * without touching the dialogue engine: the understanding engine, the toolbox, the knowledge search,
 * the churn-risk service, the phraser, the language model and the guardrails are wrapped, and the
 * assistant calls `chat()` around each turn. Each turn becomes one OpenTelemetry trace following the
 * GenAI semantic conventions:
 *
 *   invoke_agent telco-assistant            the turn (root): conversation, reply, tokens, cost, lineage
 *   ├─ guardrail input.<name>               each input guardrail that fired (passed ones: telco.guardrails.passed on the root)
 *   ├─ understanding                        intents, commands, prompts
 *   │  └─ chat <model>                      each model call: tokens, cost (price table)
 *   ├─ execute_tool <name>                  each tool call: masked arguments and result
 *   │  ├─ retrieval knowledge_base          index version, documents and scores
 *   │  └─ churn_risk                        churn model version and its training data version
 *   ├─ phrasing / open_question             the generative model's part (└─ chat <model>)
 *   └─ guardrail output.<name>              each output guardrail that fired
 *
 * Personal data is masked (platform/pii) in every attribute. An observer never breaks a turn: its own
 * failures are swallowed.
 */

/** A tool call of the turn, unmasked: kept in memory for listeners (evaluations), never written. */
export interface ToolTrace {
  name: string;
  ok: boolean;
  args: unknown;
  result: unknown;
  error?: { code: string; message: string };
  ms: number;
}

/** What the turn used, for lineage: exactly the versions behind this answer. */
export interface TurnLineage {
  prompts: string[];
  index_versions: string[];
  /** doc_id#section of every citation in the reply. */
  cited: string[];
  /** Chunk ids of the retrieved passages of the cited documents. */
  cited_chunks: string[];
  churn: { model: string; data_version: string | null } | null;
  rules_versions: string[];
  decisions: string[];
  llms: string[];
  deployed: DeployedVersions | null;
}

/** One finished turn as listeners see it (in memory; the trace store holds the masked spans). */
export interface TurnRecord {
  trace_id: string;
  turn_trace_id: string;
  session_id: string;
  channel: string;
  customer_id: string | null;
  message: string;
  reply: string;
  intent: string | null;
  outcome: TurnOutcome;
  duration_ms: number;
  timings: TurnTimings | null;
  templates: string[];
  tool_calls: ToolTrace[];
  citations: Citation[];
  passages: KnowledgeHit[];
  guardrails: GuardrailTrigger[];
  totals: CostTotals;
  lineage: TurnLineage;
}

export type TurnOutcome = "answered" | "blocked" | "escalated" | "error";

/** What the composition root hooks in; `llmops/assistant/compose.ts` and the assistants call it. */
export interface AssistantObserver extends TurnObserver {
  /** The assistant's Prometheus series (null when observability.metrics is off). */
  readonly metrics: AssistantMetrics | null;
  /** Wraps one chat call: the outermost becomes the trace's root span, nested ones child spans. */
  chat<T extends ChatOutcome>(req: ChatRequest, run: () => Promise<T>): Promise<T>;
  understanding(u: UnderstandingEngine): UnderstandingEngine;
  toolbox(factory: (session: ToolSession) => Toolbox): (session: ToolSession) => Toolbox;
  knowledge(k: KnowledgeSearch): KnowledgeSearch;
  churn(c: ChurnRiskService): ChurnRiskService;
  phraser(p: Phraser | null): Phraser | null;
  llm(p: LlmProvider): LlmProvider;
  /** The app with `llm()` returning the observed model (for engines built from the app). */
  app(app: AppContext): AppContext;
  guardrails(set: GuardrailSet): GuardrailSet;
  flush(): Promise<void>;
}

class TurnState {
  readonly totals = emptyTotals();
  readonly prompts = new Set<string>();
  readonly tools: ToolTrace[] = [];
  readonly passages: KnowledgeHit[] = [];
  readonly indexVersions = new Set<string>();
  readonly rulesVersions = new Set<string>();
  readonly decisions = new Set<string>();
  readonly llms = new Set<string>();
  churn: TurnLineage["churn"] = null;
  /** Guardrails that ran and passed (`stage.name`), and the time of every guardrail check. */
  readonly guardrailsPassed: string[] = [];
  guardrailsMs = 0;
}

interface Scope {
  span: Span;
  turn: TurnState;
  root: boolean;
  /** The turn's root span (guardrail spans hang from it wherever in the turn they run). */
  rootSpan: Span;
  /** What a model call under this scope is for (understand, phrase, tool_loop, judge). */
  purpose?: string;
}

const IDENTITY_SLOTS = new Set(["cpf", "phone", "birth_date", "login_code"]);

/** Commands with identity slot values replaced (a CPF or a birth date never reaches a span). */
function maskCommands(commands: readonly Command[]): unknown[] {
  return commands.map((c) =>
    (c.type === "set_slot" || c.type === "correct_slot") && IDENTITY_SLOTS.has(c.slot)
      ? { ...c, value: "***" }
      : c,
  );
}

/** The AI SDK's V4 usage (nested counts) or V2/V3 flat usage, as LlmUsage. */
function usageOf(u: unknown): LlmUsage {
  const x = (u ?? {}) as Record<string, unknown>;
  const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);
  const inTok = x.inputTokens;
  const outTok = x.outputTokens;
  if (inTok && typeof inTok === "object") {
    const i = inTok as Record<string, unknown>;
    const o = (outTok ?? {}) as Record<string, unknown>;
    const input = num(i.total);
    const output = num(o.total);
    return {
      inputTokens: input,
      cachedInputTokens: num(i.cacheRead),
      outputTokens: output,
      reasoningTokens: num(o.reasoning),
      totalTokens: input + output,
    };
  }
  const input = num(inTok);
  const output = num(outTok);
  return {
    inputTokens: input,
    cachedInputTokens: num(x.cachedInputTokens),
    outputTokens: output,
    reasoningTokens: num(x.reasoningTokens),
    totalTokens: num(x.totalTokens) || input + output,
  };
}

function finishReason(f: unknown): string | undefined {
  if (typeof f === "string") return f;
  if (f && typeof f === "object" && "unified" in f) return String((f as { unified: unknown }).unified);
  return undefined;
}

/** Forwards everything to `target` except the properties `own` overrides (methods keep their `this`). */
function overlay<T extends object>(target: T, own: Partial<Record<keyof T, unknown>>): T {
  return new Proxy(target, {
    get(t, prop, receiver) {
      if (Object.hasOwn(own, prop)) return own[prop as keyof T];
      const v = Reflect.get(t, prop, receiver);
      return typeof v === "function" ? v.bind(t) : v;
    },
  });
}

export interface TracingObserverOptions {
  tracer: Tracer;
  metrics?: AssistantMetrics | null;
  /** The deployed versions snapshot each root span carries. */
  deployed?: (() => Promise<DeployedVersions>) | null;
  maxAttributeChars?: number;
  flush?: () => Promise<void>;
}

export class TracingObserver implements AssistantObserver {
  readonly tracer: Tracer;
  readonly metrics: AssistantMetrics | null;
  private readonly deployed: (() => Promise<DeployedVersions>) | null;
  private readonly max: number;
  private readonly flushFn: () => Promise<void>;
  private readonly scopes = new AsyncLocalStorage<Scope>();
  private readonly listeners = new Set<(r: TurnRecord) => void>();
  private readonly llms = new WeakMap<LlmProvider, LlmProvider>();

  constructor(o: TracingObserverOptions) {
    this.tracer = o.tracer;
    this.metrics = o.metrics ?? null;
    this.deployed = o.deployed ?? null;
    this.max = o.maxAttributeChars ?? 2000;
    this.flushFn = o.flush ?? (async () => {});
  }

  /** Receives every finished turn (evaluations read latency, tool results and cost from it). */
  onTurn(listener: (r: TurnRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  flush(): Promise<void> {
    return this.flushFn().catch(() => {});
  }

  // ---- spans ------------------------------------------------------------------------------------

  private startSpan(name: string, attrs: Attrs, kind: SpanKind = SpanKind.INTERNAL): Span {
    const parent = this.scopes.getStore();
    const ctx = parent ? trace.setSpan(ROOT_CONTEXT, parent.span) : ROOT_CONTEXT;
    return this.tracer.startSpan(name, { kind, attributes: defined(attrs) }, ctx);
  }

  /** Runs `fn` inside a child span of the current scope (a root of its own outside any turn). */
  private async inSpan<T>(
    name: string,
    attrs: Attrs,
    fn: (span: Span, scope: Scope) => Promise<T>,
    opts: { purpose?: string; kind?: SpanKind } = {},
  ): Promise<T> {
    const parent = this.scopes.getStore();
    const span = this.startSpan(name, attrs, opts.kind);
    const scope: Scope = {
      span,
      turn: parent?.turn ?? new TurnState(),
      root: false,
      rootSpan: parent?.rootSpan ?? span,
      purpose: opts.purpose ?? parent?.purpose,
    };
    try {
      return await this.scopes.run(scope, () => fn(span, scope));
    } catch (err) {
      fail(span, err);
      throw err;
    } finally {
      span.end();
    }
  }

  private set(span: Span, attrs: Attrs): void {
    try {
      span.setAttributes(defined(attrs));
    } catch {
      // Observers never break a turn.
    }
  }

  private text(s: string): string {
    return maskText(s, this.max);
  }

  private json(v: unknown): string {
    return maskJson(v, this.max);
  }

  // ---- the turn ---------------------------------------------------------------------------------

  async chat<T extends ChatOutcome>(req: ChatRequest, run: () => Promise<T>): Promise<T> {
    const parent = this.scopes.getStore();
    if (parent) {
      // A chat inside a turn (the guarded assistant's own turn, an escalation's hand-off turn).
      return this.inSpan("dialogue_turn", { [GEN_AI.conversation]: req.session_id }, async (span) => {
        const out = await run();
        this.set(span, {
          [GEN_AI.conversation]: out.response.session_id,
          "telco.turn.trace_id": out.response.trace_id,
          "telco.turn.intent": out.response.intent ?? undefined,
          "telco.turn.reply": this.text(out.response.reply),
        });
        return out;
      });
    }
    const t0 = performance.now();
    const turn = new TurnState();
    const deployed = this.deployed ? await this.deployed().catch(() => null) : null;
    const span = this.tracer.startSpan(`invoke_agent ${AGENT_NAME}`, {
      kind: SpanKind.SERVER,
      attributes: defined({
        [GEN_AI.operation]: "invoke_agent",
        [GEN_AI.agentName]: AGENT_NAME,
        [GEN_AI.conversation]: req.session_id,
        "telco.channel": req.channel,
        "telco.customer.id": req.customer_id ?? undefined,
        "telco.turn.message": this.text(req.message),
        ...(deployed ? deployedAttributes(deployed) : {}),
      }),
    });
    let out: T;
    try {
      out = await this.scopes.run({ span, turn, root: true, rootSpan: span }, run);
    } catch (err) {
      fail(span, err);
      span.end();
      this.metrics?.turns.inc({ channel: req.channel, outcome: "error" });
      this.metrics?.turnSeconds.observe({ channel: req.channel }, (performance.now() - t0) / 1000);
      throw err;
    }
    try {
      this.finishTurn(span, turn, req, out, deployed, performance.now() - t0);
    } catch {
      // Observers never break a turn.
    }
    span.end();
    return out;
  }

  private finishTurn(
    span: Span,
    turn: TurnState,
    req: ChatRequest,
    out: ChatOutcome,
    deployed: DeployedVersions | null,
    ms: number,
  ): void {
    const r = out.response;
    const tr = out.turn.trace;
    const triggers = (r as { guardrails?: GuardrailTrigger[] }).guardrails ?? [];
    const reached = (out as { reached_assistant?: boolean }).reached_assistant;
    const escalated =
      r.tool_calls.some((c) => c.name === "escalate_to_human" && !isFailure(c.result)) ||
      triggers.some((g) => g.action === "escalate");
    const outcome: TurnOutcome = reached === false ? "blocked" : escalated ? "escalated" : "answered";
    for (const p of tr.prompts) turn.prompts.add(p);
    const cited = r.citations.map((c) => `${c.doc_id}#${c.section}`);
    const citedDocs = new Set(r.citations.map((c) => c.doc_id));
    const citedChunks = [
      ...new Set(turn.passages.filter((p) => citedDocs.has(p.doc_id)).map((p) => p.chunk_id)),
    ];
    const t = turn.totals;
    const lineage: TurnLineage = {
      prompts: [...turn.prompts],
      index_versions: [...turn.indexVersions],
      cited,
      cited_chunks: citedChunks,
      churn: turn.churn,
      rules_versions: [...turn.rulesVersions],
      decisions: [...turn.decisions],
      llms: [...turn.llms],
      deployed,
    };
    const timings = tr.timings;
    this.set(span, {
      [GEN_AI.conversation]: r.session_id,
      "telco.turn.trace_id": r.trace_id,
      "telco.turn.no": tr.turn_no,
      "telco.turn.intent": r.intent ?? undefined,
      "telco.turn.outcome": outcome,
      "telco.turn.engine": tr.engine,
      "telco.turn.fallback": tr.fallback?.error,
      "telco.turn.language": out.turn.language,
      "telco.turn.reply": this.text(r.reply),
      "telco.turn.templates": tr.templates,
      "telco.turn.steps": tr.steps,
      "telco.turn.stack": tr.stack_after,
      "telco.turn.tools": r.tool_calls.map((c) => c.name),
      "telco.turn.offers": r.offers.map((o) => o.offer_id),
      "telco.turn.interaction_id": r.interaction_id ?? undefined,
      "telco.turn.ended": out.turn.ended,
      "telco.turn.understanding_ms": timings.understanding_ms,
      "telco.turn.tools_ms": timings.tools_ms,
      "telco.turn.retrieval_ms": timings.retrieval_ms,
      "telco.turn.dialogue_ms": timings.dialogue_ms,
      "telco.turn.phrasing_ms": timings.phrasing_ms,
      "telco.turn.engine_ms": timings.total_ms,
      [GEN_AI.inputTokens]: t.usage.inputTokens,
      [GEN_AI.outputTokens]: t.usage.outputTokens,
      [GEN_AI.cacheReadTokens]: t.usage.cachedInputTokens,
      [GEN_AI.reasoningTokens]: t.usage.reasoningTokens,
      "telco.llm.calls": t.calls,
      "telco.cost.total": t.cost ?? undefined,
      "telco.cost.currency": t.currency ?? undefined,
      "telco.cost.basis": costBasis(t),
      "telco.prompts": lineage.prompts,
      "telco.rag.index_version": lineage.index_versions.join(",") || undefined,
      "telco.rag.cited": cited,
      "telco.rag.cited_chunks": citedChunks,
      "telco.churn.model": turn.churn?.model,
      "telco.churn.data_version": turn.churn?.data_version ?? undefined,
      "telco.rules.version": lineage.rules_versions.join(",") || undefined,
      "telco.offers.decisions": lineage.decisions,
      "telco.llm": lineage.llms.length ? lineage.llms.join(",") : (deployed?.llm ?? undefined),
      "telco.guardrails.triggered": triggers.map((g) => `${g.stage}.${g.guardrail}:${g.action}`),
      "telco.guardrails.passed": turn.guardrailsPassed,
      "telco.guardrails.ms": round(turn.guardrailsMs, 3),
    });
    for (const g of triggers)
      span.addEvent(
        "guardrail.triggered",
        defined({
          "telco.guardrail.name": g.guardrail,
          "telco.guardrail.stage": g.stage,
          "telco.guardrail.action": g.action,
          "telco.guardrail.reason": this.text(g.reason),
        }),
      );
    const m = this.metrics;
    if (m) {
      m.turns.inc({ channel: req.channel, outcome });
      m.turnSeconds.observe({ channel: req.channel }, ms / 1000);
      for (const g of triggers)
        m.guardrailTriggers.inc({ guardrail: g.guardrail, stage: g.stage, action: g.action });
    }
    if (this.listeners.size === 0) return;
    const record: TurnRecord = {
      trace_id: span.spanContext().traceId,
      turn_trace_id: r.trace_id,
      session_id: r.session_id,
      channel: req.channel,
      customer_id: req.customer_id ?? null,
      message: req.message,
      reply: r.reply,
      intent: r.intent,
      outcome,
      duration_ms: Math.round(ms * 100) / 100,
      timings,
      templates: tr.templates,
      tool_calls: turn.tools,
      citations: r.citations,
      passages: turn.passages,
      guardrails: triggers,
      totals: t,
      lineage,
    };
    for (const l of this.listeners) {
      try {
        l(record);
      } catch {
        // A listener that fails does not stop the others.
      }
    }
  }

  // ---- understanding ----------------------------------------------------------------------------

  understanding(u: UnderstandingEngine): UnderstandingEngine {
    const understand: UnderstandingEngine["understand"] = (text, state) =>
      this.inSpan(
        "understanding",
        {
          "telco.understanding.engine": u.name,
          "telco.dialogue.active_flow": state.active_flow ?? undefined,
          "telco.dialogue.awaiting_slot": state.awaiting_slot ?? undefined,
        },
        async (span, scope) => {
          const r = await u.understand(text, state);
          for (const p of r.prompts ?? []) scope.turn.prompts.add(p);
          this.set(span, {
            "telco.understanding.engine_used": r.engine,
            "telco.understanding.language": r.language,
            "telco.understanding.intents": r.intents
              .slice(0, 3)
              .map((i) => `${i.intent}:${i.confidence.toFixed(3)}`),
            "telco.understanding.commands": this.json(maskCommands(r.commands)),
            "telco.understanding.fallback": r.fallback?.error,
            "telco.prompts": r.prompts?.length ? r.prompts : undefined,
          });
          return r;
        },
        { purpose: "understand" },
      );
    return overlay(u, { understand });
  }

  // ---- tools ------------------------------------------------------------------------------------

  toolbox(factory: (session: ToolSession) => Toolbox): (session: ToolSession) => Toolbox {
    return (session) => {
      const tb = factory(session);
      let tools: Toolbox["tools"] | undefined;
      const observer = this;
      const call = (name: ToolName, args: unknown) =>
        this.toolSpan(name, args, session, () => tb.call(name, args as never));
      const authenticate: Toolbox["authenticate"] = (input) =>
        this.toolSpan("authenticate", input, session, () => tb.authenticate(input));
      const requestLoginCode: Toolbox["requestLoginCode"] = (input) =>
        this.toolSpan("request_login_code", input, session, () => tb.requestLoginCode(input));
      const recordConsent: Toolbox["recordConsent"] = (input) =>
        this.toolSpan("record_consent", input, session, () => tb.recordConsent(input));
      return overlay(tb, {
        call,
        authenticate,
        requestLoginCode,
        recordConsent,
        get tools() {
          tools ??= observer.wrapTools(tb.tools, session);
          return tools;
        },
      });
    };
  }

  /** The AI SDK tools of a toolbox (an LLM tool loop's hands) with a span per execution. */
  private wrapTools(tools: Toolbox["tools"], session: ToolSession): Toolbox["tools"] {
    const out: Record<string, unknown> = {};
    for (const [name, t] of Object.entries(tools)) {
      const exec = (t as { execute?: (input: unknown, options: unknown) => unknown }).execute;
      if (!exec) {
        out[name] = t;
        continue;
      }
      out[name] = {
        ...t,
        execute: async (input: unknown, options: unknown) => {
          let raw: unknown;
          await this.toolSpan(name, input, session, async () => {
            const t0 = performance.now();
            raw = await exec.call(t, input, options);
            const failed = isFailure(raw);
            return {
              ok: !failed,
              result: failed ? undefined : raw,
              error: failed ? (raw as { error?: unknown }).error : undefined,
              ms: performance.now() - t0,
            };
          });
          return raw;
        },
      };
    }
    return out as Toolbox["tools"];
  }

  private async toolSpan<R extends ToolCallLike>(
    name: string,
    args: unknown,
    session: ToolSession,
    run: () => Promise<R>,
  ): Promise<R> {
    return this.inSpan(
      `execute_tool ${name}`,
      {
        [GEN_AI.operation]: "execute_tool",
        [GEN_AI.toolName]: name,
        [GEN_AI.toolType]: "function",
        [GEN_AI.conversation]: session.session_id,
        [GEN_AI.toolArguments]: this.json(args),
      },
      async (span, scope) => {
        const r = await run();
        this.recordTool(span, scope.turn, name, args, r);
        return r;
      },
    );
  }

  private recordTool(span: Span, turn: TurnState, name: string, args: unknown, r: ToolCallLike): void {
    const ok = r.ok === true;
    const err = r.error as { code?: string; message?: string; system?: string } | undefined;
    this.set(span, {
      "telco.tool.ok": ok,
      "telco.tool.ms": typeof r.ms === "number" ? Math.round(r.ms * 100) / 100 : undefined,
      [GEN_AI.toolResult]: this.json(ok ? r.result : r.error),
      [GEN_AI.errorType]: ok ? undefined : err?.code,
      "telco.tool.error_system": err?.system,
    });
    if (!ok) span.setStatus({ code: SpanStatusCode.ERROR, message: `${err?.code}: ${err?.message ?? ""}` });
    turn.tools.push({
      name,
      ok,
      args,
      result: ok ? r.result : undefined,
      ...(ok ? {} : { error: { code: String(err?.code ?? "unknown"), message: String(err?.message ?? "") } }),
      ms: typeof r.ms === "number" ? r.ms : 0,
    });
    if (ok) this.lineageFromResult(span, turn, r.result);
    const m = this.metrics;
    if (!m) return;
    m.toolCalls.inc({ tool: name });
    if (!ok) m.toolErrors.inc({ tool: name, code: String(err?.code ?? "unknown") });
    if (ok && name === "escalate_to_human") {
      const reason = (r.result as { reason?: string } | undefined)?.reason ?? "unknown";
      m.escalations.inc({ reason });
    }
  }

  /** Versions a tool result names: rules, churn model, index, offer decision. */
  private lineageFromResult(span: Span, turn: TurnState, result: unknown): void {
    if (!result || typeof result !== "object") return;
    const x = result as Record<string, unknown>;
    const attrs: Attrs = {};
    if (typeof x.rules_version === "string") {
      turn.rulesVersions.add(x.rules_version);
      attrs["telco.rules.version"] = x.rules_version;
    }
    if (typeof x.churn_model_version === "string") attrs["telco.churn.model"] = x.churn_model_version;
    if (typeof x.index_version === "string") {
      turn.indexVersions.add(x.index_version);
      attrs["telco.rag.index_version"] = x.index_version;
    }
    if (typeof x.decision_id === "string") {
      turn.decisions.add(x.decision_id);
      attrs["telco.offers.decision_id"] = x.decision_id;
    }
    this.set(span, attrs);
  }

  // ---- retrieval and churn ----------------------------------------------------------------------

  knowledge(k: KnowledgeSearch): KnowledgeSearch {
    const search: KnowledgeSearch["search"] = (query, opts) =>
      this.inSpan(
        "retrieval knowledge_base",
        {
          [GEN_AI.operation]: "retrieval",
          [GEN_AI.dataSource]: "knowledge_base",
          [GEN_AI.retrievalQuery]: this.text(query),
          "telco.rag.k": opts?.k,
          "telco.rag.filters": opts ? this.json({ ...opts, k: undefined }) : undefined,
        },
        async (span, scope) => {
          const r = await k.search(query, opts);
          scope.turn.indexVersions.add(r.index_version);
          scope.turn.passages.push(...r.results);
          this.set(span, {
            "telco.rag.index_version": r.index_version,
            "telco.rag.doc_ids": [...new Set(r.results.map((h) => h.doc_id))],
            [GEN_AI.retrievalDocuments]: JSON.stringify(
              r.results.map((h) => ({ id: h.chunk_id, doc_id: h.doc_id, score: round(h.score, 4) })),
            ),
          });
          return r;
        },
      );
    return overlay(k, { search });
  }

  churn(c: ChurnRiskService): ChurnRiskService {
    const risk: ChurnRiskService["risk"] = (customerId, opts) =>
      this.inSpan("churn_risk", { "telco.customer.id": customerId }, async (span, scope) => {
        const r = await c.risk(customerId, opts);
        if (r) {
          const model = `${r.model_name}@${r.model_version}`;
          scope.turn.churn = { model, data_version: r.data_version };
          this.set(span, {
            "telco.churn.model": model,
            "telco.churn.data_version": r.data_version ?? undefined,
            "telco.churn.band": r.band,
            "telco.churn.as_of": r.as_of,
          });
        } else this.set(span, { "telco.churn.available": false });
        return r;
      });
    return overlay(c, { risk });
  }

  // ---- generative model -------------------------------------------------------------------------

  phraser(p: Phraser | null): Phraser | null {
    if (!p) return null;
    const described = (span: Span, scope: Scope, t: PhrasingTrace, prompts: string[]) => {
      for (const x of prompts) scope.turn.prompts.add(x);
      this.set(span, {
        "telco.phrasing.used": t.used,
        "telco.phrasing.reason": t.reason,
        "telco.phrasing.violations": t.violations?.map((v) => `${v.kind}:${v.value}`),
        "telco.phrasing.fallback": t.fallback?.error,
        "telco.prompts": prompts.length ? prompts : undefined,
      });
    };
    const phrase: Phraser["phrase"] = (input) =>
      this.inSpan(
        "phrasing",
        {},
        async (span, scope) => {
          const r = await p.phrase(input);
          described(span, scope, r.trace, r.prompts);
          return r;
        },
        { purpose: "phrase" },
      );
    const answerOpen = p.answerOpen;
    const own: Partial<Record<keyof Phraser, unknown>> = { phrase };
    if (answerOpen)
      own.answerOpen = ((input) =>
        this.inSpan(
          "open_question",
          {},
          async (span, scope) => {
            const r = await answerOpen.call(p, input);
            described(span, scope, r.trace, r.prompts);
            this.set(span, { "telco.open_question.answered": r.reply !== null });
            return r;
          },
          { purpose: "tool_loop" },
        )) satisfies NonNullable<Phraser["answerOpen"]>;
    return overlay(p, own);
  }

  app(app: AppContext): AppContext {
    let observed: Promise<LlmProvider> | undefined;
    return overlay(app, {
      llm: () => {
        observed ??= app.llm().then((l) => this.llm(l));
        return observed;
      },
    });
  }

  llm(p: LlmProvider): LlmProvider {
    if (!p.model) return p;
    const hit = this.llms.get(p);
    if (hit) return hit;
    const wrapped: LlmProvider = {
      provider: p.provider,
      modelId: p.modelId,
      price: p.price,
      timeoutMs: p.timeoutMs,
      maxRetries: p.maxRetries,
      model: wrapLanguageModel({ model: p.model, middleware: this.modelMiddleware(p) }),
    };
    this.llms.set(p, wrapped);
    return wrapped;
  }

  private modelMiddleware(p: LlmProvider): LanguageModelMiddleware {
    const start = (params: { temperature?: number; maxOutputTokens?: number }) => {
      const scope = this.scopes.getStore();
      const span = this.startSpan(
        `chat ${p.modelId}`,
        {
          [GEN_AI.operation]: "chat",
          [GEN_AI.provider]: GEN_AI_PROVIDERS[p.provider] ?? p.provider,
          [GEN_AI.requestModel]: p.modelId,
          [GEN_AI.temperature]: params.temperature,
          [GEN_AI.maxTokens]: params.maxOutputTokens,
          "telco.llm.purpose": scope?.purpose,
        },
        SpanKind.CLIENT,
      );
      return { span, scope, t0: performance.now() };
    };
    const done = (
      s: ReturnType<typeof start>,
      usage: unknown,
      finish: unknown,
      responseModel: string | undefined,
    ) => {
      const u = usageOf(usage);
      const cost = costOf(u, p.price);
      const attrs: Attrs = {
        ...genAiAttributes({
          purpose: s.scope?.purpose ?? "unknown",
          provider: p.provider,
          model: p.modelId,
          outcome: "llm",
          durationMs: Math.round((performance.now() - s.t0) * 10) / 10,
          usage: u,
          cost,
          prompts: [],
        }),
        [GEN_AI.cacheReadTokens]: u.cachedInputTokens,
        [GEN_AI.reasoningTokens]: u.reasoningTokens,
        [GEN_AI.responseModel]: responseModel,
        [GEN_AI.finishReasons]: finishReason(finish) ? [finishReason(finish) as string] : undefined,
      };
      this.set(s.span, attrs);
      s.span.end();
      const turn = s.scope?.turn;
      if (turn) {
        addCall(turn.totals, u, cost);
        turn.llms.add(llmRef(p));
      }
      const m = this.metrics;
      if (m) {
        const labels = { provider: p.provider, model: p.modelId };
        m.modelCalls.inc({ ...labels, outcome: "ok" });
        const tokens: [string, number][] = [
          ["input", u.inputTokens - u.cachedInputTokens],
          ["cached_input", u.cachedInputTokens],
          ["output", u.outputTokens - u.reasoningTokens],
          ["reasoning", u.reasoningTokens],
        ];
        for (const [type, n] of tokens) if (n > 0) m.tokens.inc({ ...labels, type }, n);
        if (cost && cost.total > 0) m.cost.inc({ ...labels, currency: cost.currency }, cost.total);
      }
    };
    const failed = (s: ReturnType<typeof start>, err: unknown) => {
      const e = toLlmCallError(err, p);
      this.set(s.span, { [GEN_AI.errorType]: e.reason, "telco.llm.error_status": e.status });
      fail(s.span, err);
      s.span.end();
      if (s.scope) s.scope.turn.totals.failed += 1;
      this.metrics?.modelCalls.inc({ provider: p.provider, model: p.modelId, outcome: "error" });
    };
    return {
      wrapGenerate: async ({ doGenerate, params }) => {
        const s = start(params);
        try {
          const r = await doGenerate();
          done(s, r.usage, r.finishReason, r.response?.modelId);
          return r;
        } catch (err) {
          failed(s, err);
          throw err;
        }
      },
      wrapStream: async ({ doStream, params }) => {
        const s = start(params);
        let r: Awaited<ReturnType<typeof doStream>>;
        try {
          r = await doStream();
        } catch (err) {
          failed(s, err);
          throw err;
        }
        let usage: unknown;
        let finish: unknown;
        let ended = false;
        const stream = r.stream.pipeThrough(
          new TransformStream({
            transform(part, ctl) {
              const x = part as { type?: string; usage?: unknown; finishReason?: unknown };
              if (x.type === "finish") {
                usage = x.usage;
                finish = x.finishReason;
              }
              ctl.enqueue(part);
            },
            flush() {
              if (ended) return;
              ended = true;
              done(s, usage, finish, undefined);
            },
          }),
        );
        return { ...r, stream };
      },
    };
  }

  // ---- guardrails -------------------------------------------------------------------------------

  /** `guardrail STAGE.NAME` under the turn's root (output guardrails run inside the engine's turn). */
  private guardrailSpan(stage: string, name: string, action: string, startTime: number): Span {
    const parent = this.scopes.getStore();
    const ctx = parent ? trace.setSpan(ROOT_CONTEXT, parent.rootSpan) : ROOT_CONTEXT;
    return this.tracer.startSpan(
      `guardrail ${stage}.${name}`,
      {
        kind: SpanKind.INTERNAL,
        startTime,
        attributes: {
          "telco.guardrail.name": name,
          "telco.guardrail.stage": stage,
          "telco.guardrail.action": action,
        },
      },
      ctx,
    );
  }

  guardrails(set: GuardrailSet): GuardrailSet {
    // A guardrail that fires (or fails) becomes a span of its own under the turn's root, timed from
    // when its check started; the ones that pass are listed on the root (`telco.guardrails.passed`) with
    // their total time. A span for each of the ten checks of every turn was half of the turn's spans.
    const span = (stage: string, name: string, action: string, check: () => unknown) => {
      const startTime = performance.timeOrigin + performance.now();
      const t0 = performance.now();
      let f: { reason?: string; category?: string } | null;
      try {
        f = check() as typeof f;
      } catch (err) {
        const s = this.guardrailSpan(stage, name, action, startTime);
        fail(s, err);
        s.end();
        throw err;
      }
      const turn = this.scopes.getStore()?.turn;
      if (!f) {
        if (turn) {
          turn.guardrailsPassed.push(`${stage}.${name}`);
          turn.guardrailsMs += performance.now() - t0;
        }
        return f;
      }
      const s = this.guardrailSpan(stage, name, action, startTime);
      this.set(s, {
        "telco.guardrail.triggered": true,
        "telco.guardrail.reason": f.reason ? this.text(f.reason) : undefined,
        "telco.guardrail.category": f.category,
      });
      s.end();
      if (turn) turn.guardrailsMs += performance.now() - t0;
      return f;
    };
    return {
      input: set.input.map((c) => ({
        ...c,
        guardrail: overlay(c.guardrail, {
          check: (text: string) => span("input", c.guardrail.name, c.action, () => c.guardrail.check(text)),
        }),
      })),
      output: set.output.map((c) => ({
        ...c,
        guardrail: overlay(c.guardrail, {
          check: (reply: string, facts: Parameters<typeof c.guardrail.check>[1]) =>
            span("output", c.guardrail.name, c.action, () => c.guardrail.check(reply, facts)),
        }),
      })),
    };
  }
}

/** What the toolbox's calls return (CallRecord), loosely. */
interface ToolCallLike {
  ok: boolean;
  ms?: number;
  result?: unknown;
  error?: unknown;
}

function isFailure(result: unknown): boolean {
  return Boolean(result && typeof result === "object" && (result as { ok?: unknown }).ok === false);
}

function fail(span: Span, err: unknown): void {
  try {
    const e = err instanceof Error ? err : new Error(String(err));
    span.recordException(e);
    span.setStatus({ code: SpanStatusCode.ERROR, message: e.message });
  } catch {
    // Observers never break a turn.
  }
}

function round(x: number, d: number): number {
  const f = 10 ** d;
  return Math.round(x * f) / f;
}

export type { AttributeValue };

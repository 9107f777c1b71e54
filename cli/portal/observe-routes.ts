import type { FastifyInstance } from "fastify";
import { NotFoundError } from "../../platform/errors.ts";
import type { AssistantSessionStore } from "../../platform/ports/assistant-sessions.ts";
import type { StoredSpan, TraceStore } from "../../platform/ports/trace-store.ts";

/** What the assistant, evals and monitoring views read (built from the app context by cli/portal/index.ts). */
export interface ObserveDeps {
  traces: () => Promise<TraceStore>;
  sessions: () => Promise<AssistantSessionStore>;
  /** Stored eval runs (red-team included as a suite), newest first, at most `limit`. */
  evalRuns(limit: number): Promise<Record<string, unknown>[]>;
  /** The prompt templates in use: name, version, hash, and the hash prompts.lock.json holds. */
  prompts(): Promise<Record<string, unknown>[]>;
  /** The last `telco monitor run` snapshot, or null before the first run. */
  lastMonitorRun(): Promise<Record<string, unknown> | null>;
}

const looseObject = { type: "object", additionalProperties: true } as const;
const looseArray = { type: "array", items: looseObject } as const;
const errorSchema = {
  type: "object",
  properties: {
    error: {
      type: "object",
      properties: { code: { type: "string" }, message: { type: "string" } },
      required: ["code", "message"],
    },
  },
} as const;
const ID = "^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$";

interface SpanNode {
  span_id: string;
  name: string;
  status: string;
  duration_ms: number;
  attributes: StoredSpan["attributes"];
  events: StoredSpan["events"];
  children: SpanNode[];
}

/** Spans as a tree (parents before children, siblings by start time); orphans become roots. */
export function spanTree(spans: readonly StoredSpan[]): SpanNode[] {
  const sorted = [...spans].sort((a, b) => a.start_ms - b.start_ms);
  const nodes = new Map<string, SpanNode>();
  for (const s of sorted)
    nodes.set(s.span_id, {
      span_id: s.span_id,
      name: s.name,
      status: s.status,
      duration_ms: s.duration_ms,
      attributes: s.attributes,
      events: s.events,
      children: [],
    });
  const roots: SpanNode[] = [];
  for (const s of sorted) {
    const node = nodes.get(s.span_id) as SpanNode;
    const parent = s.parent_span_id ? nodes.get(s.parent_span_id) : undefined;
    if (parent) parent.children.push(node);
    else roots.push(node);
  }
  return roots;
}

/**
 * Guardrail triggers of a trace: the observer's `guardrail STAGE.NAME` spans with
 * `telco.guardrail.triggered` true (the turn span's `guardrail.triggered` events repeat them).
 */
export function guardrailTriggers(spans: readonly StoredSpan[]): Record<string, unknown>[] {
  return spans
    .filter((s) => s.attributes["telco.guardrail.triggered"] === true)
    .sort((a, b) => a.start_ms - b.start_ms)
    .map((s) => ({
      trace_id: s.trace_id,
      span: s.name,
      name: s.attributes["telco.guardrail.name"] ?? null,
      stage: s.attributes["telco.guardrail.stage"] ?? null,
      action: s.attributes["telco.guardrail.action"] ?? null,
      category: s.attributes["telco.guardrail.category"] ?? null,
      reason: s.attributes["telco.guardrail.reason"] ?? null,
    }));
}

/**
 * The console's read endpoints over the assistant (sessions, transcripts, trace trees, guardrail
 * triggers, prompt versions), eval runs and the last monitoring run. Registered inside the console
 * scope of routes.ts, so the role check and the audit line apply to each.
 */
export function registerObserveRoutes(
  api: FastifyInstance,
  deps: ObserveDeps,
  secured: { tags: string[]; security: { bearerAuth: never[] }[] },
): void {
  const resp = (ok: object) => ({ 200: ok, "4xx": errorSchema, "5xx": errorSchema });
  const limitQs = {
    type: "object",
    additionalProperties: false,
    properties: { limit: { type: "string", pattern: "^[1-9][0-9]{0,2}$", description: "1–999" } },
  } as const;

  api.get<{ Querystring: { limit?: string } }>(
    "/v1/portal/assistant/sessions",
    {
      schema: {
        ...secured,
        description:
          "Assistant conversations seen in the trace store, newest first: turns, last intent, tokens, cost and guardrail triggers per session.",
        querystring: limitQs,
        response: resp({ type: "object", properties: { sessions: looseArray } }),
      },
    },
    async (req) => {
      const store = await deps.traces();
      const traces = await store.list({ limit: 500 });
      const bySession = new Map<string, Record<string, unknown> & { turns: number }>();
      for (const t of traces) {
        if (!t.session_id) continue;
        const s = bySession.get(t.session_id) ?? {
          session_id: t.session_id,
          turns: 0,
          last_at: t.started_at,
          first_at: t.started_at,
          last_intent: t.attributes["telco.turn.intent"] ?? null,
          channel: t.attributes["telco.channel"] ?? null,
          input_tokens: 0,
          output_tokens: 0,
          cost: 0,
        };
        s.turns += 1;
        s.first_at = t.started_at;
        s.input_tokens = (s.input_tokens as number) + Number(t.attributes["gen_ai.usage.input_tokens"] ?? 0);
        s.output_tokens =
          (s.output_tokens as number) + Number(t.attributes["gen_ai.usage.output_tokens"] ?? 0);
        s.cost = (s.cost as number) + Number(t.attributes["telco.cost.total"] ?? 0);
        bySession.set(t.session_id, s);
      }
      return { sessions: [...bySession.values()].slice(0, Number(req.query.limit ?? 50)) };
    },
  );

  api.get<{ Params: { id: string } }>(
    "/v1/portal/assistant/sessions/:id",
    {
      schema: {
        ...secured,
        description:
          "One conversation: the session's state, its turns (customer message, assistant reply) each with its trace id, and the guardrail triggers of its traces.",
        params: { type: "object", properties: { id: { type: "string", pattern: ID } }, required: ["id"] },
        response: resp({
          type: "object",
          properties: {
            session: looseObject,
            turns: looseArray,
            traces: looseArray,
            guardrails: looseArray,
          },
        }),
      },
    },
    async (req) => {
      const id = req.params.id;
      const [sessions, traces] = await Promise.all([deps.sessions(), deps.traces()]);
      const session = await sessions.get(id);
      const summaries = await traces.list({ sessionId: id, limit: 200 });
      if (!session && summaries.length === 0) throw new NotFoundError(`assistant session ${id}`);
      const turns = (await sessions.listTurns(id, { limit: 200 })).map((t) => {
        const r = t.record as Record<string, unknown>;
        return {
          turn_no: t.turn_no,
          created_at: t.created_at,
          trace_id: t.trace_id,
          message: r.message ?? null,
          reply: r.reply ?? null,
          intent: r.intent ?? null,
        };
      });
      const guardrails: Record<string, unknown>[] = [];
      for (const s of summaries) {
        const spans = await traces.get(s.trace_id);
        if (spans) guardrails.push(...guardrailTriggers(spans));
      }
      const { state: _state, ...head } = (session ?? { session_id: id }) as Record<string, unknown>;
      return { session: head, turns, traces: [...summaries].reverse(), guardrails };
    },
  );

  api.get<{ Params: { id: string } }>(
    "/v1/portal/assistant/traces/:id",
    {
      schema: {
        ...secured,
        description:
          "One turn's trace as a tree of spans (tools, retrieval, guardrails, model calls with tokens and cost, prompt/rules/model versions as attributes), by OpenTelemetry or turn trace id.",
        params: { type: "object", properties: { id: { type: "string", pattern: ID } }, required: ["id"] },
        response: resp({
          type: "object",
          properties: {
            trace_id: { type: "string" },
            spans: { type: "integer" },
            tree: { type: "array", items: looseObject },
            guardrails: looseArray,
          },
        }),
      },
    },
    async (req) => {
      const spans = await (await deps.traces()).get(req.params.id);
      if (!spans || spans.length === 0) throw new NotFoundError(`trace ${req.params.id}`);
      return {
        trace_id: spans[0].trace_id,
        spans: spans.length,
        tree: spanTree(spans),
        guardrails: guardrailTriggers(spans),
      };
    },
  );

  api.get(
    "/v1/portal/assistant/prompts",
    {
      schema: {
        ...secured,
        description:
          "Prompt templates in use: name, version, content hash, and whether prompts.lock.json holds the same version and hash.",
        response: resp({ type: "object", properties: { prompts: looseArray } }),
      },
    },
    async () => ({ prompts: await deps.prompts() }),
  );

  api.get<{ Querystring: { limit?: string } }>(
    "/v1/portal/evals/runs",
    {
      schema: {
        ...secured,
        description:
          "Stored eval runs (`telco eval run`), newest first: per-suite status and metrics with thresholds, failing cases with their failures (red-team is a suite), and the gate.",
        querystring: limitQs,
        response: resp({ type: "object", properties: { runs: looseArray } }),
      },
    },
    async (req) => ({ runs: await deps.evalRuns(Number(req.query.limit ?? 10)) }),
  );

  api.get(
    "/v1/portal/monitoring/last-run",
    {
      schema: {
        ...secured,
        description:
          "The last `telco monitor run`: drift per feature with score and threshold, prediction drift, data quality issues and the alerts raised; null before the first run.",
        response: resp({ type: "object", properties: { run: { anyOf: [looseObject, { type: "null" }] } } }),
      },
    },
    async () => ({ run: await deps.lastMonitorRun() }),
  );
}

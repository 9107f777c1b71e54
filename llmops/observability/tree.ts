import type { SpanAttributeValue, StoredSpan, TraceSummary } from "../../platform/ports/trace-store.ts";

/**
 * A stored trace as a tree of spans (what `telco traces show` prints) and the lineage its root span
 * carries: from an answer back to the prompts, the index and the documents cited, the churn model and
 * the data it was trained on, the rules and the model that produced it.
 */

export interface TraceNode {
  span: StoredSpan;
  children: TraceNode[];
}

/** Roots first (a span whose parent is missing counts as a root), children in start order. */
export function buildTree(spans: readonly StoredSpan[]): TraceNode[] {
  const nodes = new Map<string, TraceNode>();
  for (const s of spans) nodes.set(s.span_id, { span: s, children: [] });
  const roots: TraceNode[] = [];
  for (const n of nodes.values()) {
    const parent = n.span.parent_span_id ? nodes.get(n.span.parent_span_id) : undefined;
    if (parent) parent.children.push(n);
    else roots.push(n);
  }
  const order = (list: TraceNode[]) => {
    list.sort((a, b) => a.span.start_ms - b.span.start_ms);
    for (const n of list) order(n.children);
  };
  order(roots);
  return roots;
}

const str = (v: SpanAttributeValue | undefined): string | undefined =>
  v === undefined ? undefined : Array.isArray(v) ? v.join(",") : String(v);

function short(text: string | undefined, max = 60): string | undefined {
  if (text === undefined) return undefined;
  const one = text.replace(/\s+/g, " ").trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

/** The few attributes worth showing on a span's line, by what the span is. */
export function keyAttributes(s: StoredSpan): [string, string][] {
  const a = s.attributes;
  const out: [string, string | undefined][] = [];
  const op = a["gen_ai.operation.name"];
  if (op === "invoke_agent") {
    out.push(
      ["session", str(a["gen_ai.conversation.id"])],
      ["intent", str(a["telco.turn.intent"])],
      ["outcome", str(a["telco.turn.outcome"])],
      ["engine", str(a["telco.turn.engine"])],
      ["tokens", tokens(a)],
      ["cost", cost(a)],
      // Guardrails that passed have no span of their own (the ones that fired do).
      [
        "guardrails_passed",
        Array.isArray(a["telco.guardrails.passed"])
          ? `${a["telco.guardrails.passed"].length} (${a["telco.guardrails.ms"] ?? "?"} ms all checks)`
          : undefined,
      ],
    );
  } else if (op === "chat") {
    out.push(
      ["purpose", str(a["telco.llm.purpose"])],
      ["tokens", tokens(a)],
      [
        "cost",
        cost(a) ??
          (a["telco.llm.cost"] !== undefined
            ? `${a["telco.llm.cost_currency"]} ${a["telco.llm.cost"]}`
            : undefined),
      ],
      ["error", str(a["error.type"])],
    );
  } else if (op === "execute_tool") {
    out.push(
      ["ok", str(a["telco.tool.ok"])],
      ["error", str(a["error.type"])],
      ["rules", str(a["telco.rules.version"])],
      ["decision", str(a["telco.offers.decision_id"])],
      ["index", str(a["telco.rag.index_version"])],
    );
  } else if (op === "retrieval") {
    out.push(["index", str(a["telco.rag.index_version"])], ["docs", short(str(a["telco.rag.doc_ids"]), 80)]);
  } else if (s.name === "understanding") {
    out.push(
      ["engine", str(a["telco.understanding.engine_used"])],
      ["intents", short(str(a["telco.understanding.intents"]), 70)],
      ["fallback", short(str(a["telco.understanding.fallback"]))],
      ["prompts", str(a["telco.prompts"])],
    );
  } else if (s.name.startsWith("guardrail ")) {
    if (a["telco.guardrail.triggered"] === true)
      out.push(
        ["triggered", str(a["telco.guardrail.action"])],
        ["reason", short(str(a["telco.guardrail.reason"]))],
      );
    else out.push(["passed", "yes"]);
  } else if (s.name === "churn_risk") {
    out.push(
      ["model", str(a["telco.churn.model"])],
      ["data", str(a["telco.churn.data_version"])],
      ["band", str(a["telco.churn.band"])],
    );
  } else if (s.name === "phrasing" || s.name === "open_question") {
    out.push(
      ["used", str(a["telco.phrasing.used"])],
      ["reason", short(str(a["telco.phrasing.reason"]))],
      ["prompts", str(a["telco.prompts"])],
    );
  } else if (s.name === "dialogue_turn") {
    out.push(["intent", str(a["telco.turn.intent"])]);
  }
  return out.filter((x): x is [string, string] => x[1] !== undefined && x[1] !== "");
}

function tokens(a: StoredSpan["attributes"]): string | undefined {
  const i = a["gen_ai.usage.input_tokens"];
  const o = a["gen_ai.usage.output_tokens"];
  if (i === undefined && o === undefined) return undefined;
  return `${i ?? 0}in/${o ?? 0}out`;
}

function cost(a: StoredSpan["attributes"]): string | undefined {
  const total = a["telco.cost.total"];
  if (total === undefined) return a["telco.cost.basis"] !== undefined ? "unknown" : undefined;
  return Number(total) === 0 ? "0" : `${a["telco.cost.currency"] ?? ""} ${Number(total).toFixed(6)}`.trim();
}

function ms(x: number): string {
  return x >= 100 ? `${Math.round(x)} ms` : `${x.toFixed(1)} ms`;
}

/** The trace as an indented tree: name, duration, key attributes; errors marked. */
export function renderTree(spans: readonly StoredSpan[]): string {
  const lines: string[] = [];
  const walk = (n: TraceNode, prefix: string, last: boolean, top: boolean) => {
    const s = n.span;
    const head = top ? "" : `${prefix}${last ? "└─ " : "├─ "}`;
    const attrs = keyAttributes(s)
      .map(([k, v]) => `${k}=${v}`)
      .join(" ");
    const status =
      s.status === "error" ? ` ERROR${s.status_message ? `: ${short(s.status_message, 70)}` : ""}` : "";
    lines.push(`${head}${s.name}  ${ms(s.duration_ms)}${status}${attrs ? `  ${attrs}` : ""}`);
    const childPrefix = top ? "" : `${prefix}${last ? "   " : "│  "}`;
    for (const [i, c] of n.children.entries()) walk(c, childPrefix, i === n.children.length - 1, false);
  };
  const roots = buildTree(spans);
  roots.forEach((r, i) => {
    if (i > 0) lines.push("");
    walk(r, "", true, true);
  });
  return lines.join("\n");
}

/** Where an answer came from, as its root span recorded it. */
export interface TraceLineage {
  trace_id: string;
  turn_trace_id: string | null;
  session_id: string | null;
  reply: string | null;
  prompts: { used: string[]; prompt_set: string | null; deployed: string[] };
  knowledge: {
    index_version: string | null;
    deployed_index_version: string | null;
    cited: string[];
    cited_chunks: string[];
  };
  churn_model: {
    used: string | null;
    data_version: string | null;
    deployed: string | null;
    deployed_data_version: string | null;
  };
  rules: { used: string | null; deployed: string | null };
  llm: { used: string | null; deployed: string | null };
  offer_decisions: string[];
}

const list = (v: SpanAttributeValue | undefined): string[] =>
  v === undefined ? [] : Array.isArray(v) ? v.map(String) : String(v).split(",").filter(Boolean);

export function lineageOf(spans: readonly StoredSpan[]): TraceLineage | null {
  const root =
    spans.find(
      (s) => s.parent_span_id === null && s.attributes["gen_ai.operation.name"] === "invoke_agent",
    ) ?? spans.find((s) => s.parent_span_id === null);
  if (!root) return null;
  const a = root.attributes;
  // A churn model used by a tool but not seen by the churn_risk span (e.g. inside the offers rules).
  const churnSpan = spans.find(
    (s) => s.attributes["telco.churn.model"] !== undefined && s.name === "churn_risk",
  );
  const toolChurn = spans.find((s) => s.attributes["telco.churn.model"] !== undefined);
  return {
    trace_id: root.trace_id,
    turn_trace_id: str(a["telco.turn.trace_id"]) ?? null,
    session_id: str(a["gen_ai.conversation.id"]) ?? null,
    reply: str(a["telco.turn.reply"]) ?? null,
    prompts: {
      used: list(a["telco.prompts"]),
      prompt_set: str(a["telco.deployed.prompts_lock"]) ?? null,
      deployed: list(a["telco.deployed.prompts"]),
    },
    knowledge: {
      index_version: str(a["telco.rag.index_version"]) ?? null,
      deployed_index_version: str(a["telco.deployed.rag.index_version"]) ?? null,
      cited: list(a["telco.rag.cited"]),
      cited_chunks: list(a["telco.rag.cited_chunks"]),
    },
    churn_model: {
      used:
        str(a["telco.churn.model"]) ?? str((churnSpan ?? toolChurn)?.attributes["telco.churn.model"]) ?? null,
      data_version:
        str(a["telco.churn.data_version"]) ?? str(churnSpan?.attributes["telco.churn.data_version"]) ?? null,
      deployed: str(a["telco.deployed.churn.model"]) ?? null,
      deployed_data_version: str(a["telco.deployed.churn.data_version"]) ?? null,
    },
    rules: {
      used: str(a["telco.rules.version"]) ?? null,
      deployed: str(a["telco.deployed.rules.version"]) ?? null,
    },
    llm: { used: str(a["telco.llm"]) ?? null, deployed: str(a["telco.deployed.llm"]) ?? null },
    offer_decisions: list(a["telco.offers.decisions"]),
  };
}

export function renderLineage(l: TraceLineage): string {
  const or = (v: string | null | undefined, none: string) => (v ? v : none);
  const lines = [
    "Lineage",
    `  answer        turn ${or(l.turn_trace_id, "?")} · session ${or(l.session_id, "?")}`,
    `  prompts       ${l.prompts.used.length ? l.prompts.used.join(", ") : "none sent (templates answered)"}`,
    `  prompt set    ${or(l.prompts.prompt_set, "unknown")} (${l.prompts.deployed.join(", ") || "no lock"})`,
    `  index         ${or(l.knowledge.index_version, "not used")} (deployed ${or(l.knowledge.deployed_index_version, "none")})`,
    `  cited         ${l.knowledge.cited.length ? l.knowledge.cited.join("; ") : "nothing"}${l.knowledge.cited_chunks.length ? ` [chunks ${l.knowledge.cited_chunks.join(", ")}]` : ""}`,
    `  churn model   ${l.churn_model.used ? `${l.churn_model.used} trained on ${or(l.churn_model.data_version, "unknown data")}` : "not used"} (deployed ${l.churn_model.deployed ? `${l.churn_model.deployed} trained on ${or(l.churn_model.deployed_data_version, "unknown data")}` : "none"})`,
    `  rules         ${or(l.rules.used, "not used")} (deployed ${or(l.rules.deployed, "unknown")})`,
    `  llm           ${or(l.llm.used, "none")} (configured ${or(l.llm.deployed, "unknown")})`,
  ];
  if (l.offer_decisions.length) lines.push(`  decisions     ${l.offer_decisions.join(", ")}`);
  return lines.join("\n");
}

/** `traces list` rows for a person. */
export function renderTraceList(rows: readonly TraceSummary[]): string {
  if (rows.length === 0) return "no traces (talk to the assistant: telco chat)";
  return rows
    .map((r) => {
      const a = r.attributes;
      const bits = [
        r.started_at.replace("T", " ").slice(0, 19),
        (r.turn_trace_id ?? r.trace_id).slice(0, 8),
        r.name,
        ms(r.duration_ms),
        `${r.spans} spans`,
        r.session_id ? `session ${r.session_id}` : "",
        a["telco.turn.intent"] ? `intent ${a["telco.turn.intent"]}` : "",
        a["telco.turn.outcome"] ? String(a["telco.turn.outcome"]) : "",
        r.status === "error" ? "ERROR" : "",
      ];
      return bits.filter(Boolean).join("  ");
    })
    .join("\n");
}

import { describe, expect, it } from "vitest";
import type { StoredSpan } from "../../platform/ports/trace-store.ts";
import { guardrailTriggers, spanTree } from "./observe-routes.ts";

// Spans shaped as llmops/observability/observer.ts records them (children end, and arrive, first).
const T = "0af7651916cd43dd8448eb211c80319c";
const span = (
  id: string,
  parent: string | null,
  name: string,
  start: number,
  attributes = {},
): StoredSpan => ({
  trace_id: T,
  span_id: id.padEnd(16, "0"),
  parent_span_id: parent ? parent.padEnd(16, "0") : null,
  name,
  kind: "internal",
  start_ms: start,
  duration_ms: 1,
  status: "ok",
  attributes,
  events: [],
});

describe("the assistant view's trace helpers", () => {
  const spans = [
    span("c2", "b", "tool get_invoice", 30, { "telco.tool.name": "get_invoice" }),
    span("c1", "b", "guardrail input.prompt_injection", 20, {
      "telco.guardrail.name": "prompt_injection",
      "telco.guardrail.stage": "input",
      "telco.guardrail.action": "block",
      "telco.guardrail.triggered": true,
      "telco.guardrail.reason": "asks to ignore the instructions",
    }),
    span("c0", "b", "guardrail input.pii", 10, {
      "telco.guardrail.name": "pii",
      "telco.guardrail.stage": "input",
      "telco.guardrail.action": "mask",
      "telco.guardrail.triggered": false,
    }),
    span("b", "a", "assistant.turn", 5),
    span("a", null, "POST /v1/assistant/chat", 0),
  ];

  it("nests spans under their parents, siblings in start order", () => {
    const tree = spanTree(spans);
    expect(tree.map((n) => n.name)).toEqual(["POST /v1/assistant/chat"]);
    const turn = tree[0].children[0];
    expect(turn.name).toBe("assistant.turn");
    expect(turn.children.map((n) => n.name)).toEqual([
      "guardrail input.pii",
      "guardrail input.prompt_injection",
      "tool get_invoice",
    ]);
  });

  it("keeps a span whose parent is missing as a root", () => {
    const tree = spanTree(spans.filter((s) => s.name !== "assistant.turn"));
    expect(tree.map((n) => n.name)).toEqual([
      "POST /v1/assistant/chat",
      "guardrail input.pii",
      "guardrail input.prompt_injection",
      "tool get_invoice",
    ]);
  });

  it("lists only the guardrails that triggered, with stage, action and reason", () => {
    expect(guardrailTriggers(spans)).toEqual([
      {
        trace_id: T,
        span: "guardrail input.prompt_injection",
        name: "prompt_injection",
        stage: "input",
        action: "block",
        category: null,
        reason: "asks to ignore the instructions",
      },
    ]);
  });
});

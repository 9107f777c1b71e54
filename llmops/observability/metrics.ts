import { Counter, Histogram, Registry } from "prom-client";

/**
 * The assistant's Prometheus series, in a registry of their own: the API server exposes them on
 * /metrics beside the churn series (`servingContext(server).metrics.include(metrics.registry)`).
 * Labels are closed sets (channels, tools, guardrail names, providers): never a customer or a session.
 */
export class AssistantMetrics {
  readonly registry = new Registry();
  readonly turns: Counter<"channel" | "outcome">;
  readonly turnSeconds: Histogram<"channel">;
  readonly toolCalls: Counter<"tool">;
  readonly toolErrors: Counter<"tool" | "code">;
  readonly guardrailTriggers: Counter<"guardrail" | "stage" | "action">;
  readonly escalations: Counter<"reason">;
  readonly tokens: Counter<"provider" | "model" | "type">;
  readonly cost: Counter<"provider" | "model" | "currency">;
  readonly modelCalls: Counter<"provider" | "model" | "outcome">;

  constructor() {
    const registers = [this.registry];
    this.turns = new Counter({
      name: "assistant_turns_total",
      help: "Assistant turns by channel and outcome (answered, blocked, escalated, error)",
      labelNames: ["channel", "outcome"],
      registers,
    });
    this.turnSeconds = new Histogram({
      name: "assistant_turn_duration_seconds",
      help: "Wall time of one assistant turn (guardrails, understanding, tools, phrasing, persistence)",
      labelNames: ["channel"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.toolCalls = new Counter({
      name: "assistant_tool_calls_total",
      help: "Tool calls by tool",
      labelNames: ["tool"],
      registers,
    });
    this.toolErrors = new Counter({
      name: "assistant_tool_errors_total",
      help: "Tool calls that returned an error, by tool and error code",
      labelNames: ["tool", "code"],
      registers,
    });
    this.guardrailTriggers = new Counter({
      name: "assistant_guardrail_triggers_total",
      help: "Guardrail triggers by guardrail (kind), stage and action taken",
      labelNames: ["guardrail", "stage", "action"],
      registers,
    });
    this.escalations = new Counter({
      name: "assistant_escalations_total",
      help: "Conversations handed to a person, by reason (customer request, flow, guardrail)",
      labelNames: ["reason"],
      registers,
    });
    this.tokens = new Counter({
      name: "assistant_llm_tokens_total",
      help: "Model tokens by provider, model and type (input, cached_input, output, reasoning)",
      labelNames: ["provider", "model", "type"],
      registers,
    });
    this.cost = new Counter({
      name: "assistant_llm_cost_total",
      help: "Model cost from the price table (llm.prices), in its currency",
      labelNames: ["provider", "model", "currency"],
      registers,
    });
    this.modelCalls = new Counter({
      name: "assistant_llm_calls_total",
      help: "Model calls by provider, model and outcome (ok, error)",
      labelNames: ["provider", "model", "outcome"],
      registers,
    });
  }

  async render(): Promise<string> {
    return this.registry.metrics();
  }
}

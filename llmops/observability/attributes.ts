import type { AttributeValue } from "@opentelemetry/api";
import { maskObject, maskPii } from "../../platform/pii/index.ts";

/**
 * Span attribute names. `gen_ai.*` follow the OpenTelemetry GenAI semantic conventions (development
 * status, as of semantic-conventions 1.45: operation names `invoke_agent`, `chat`, `execute_tool`,
 * `retrieval`); `telco.*` are this project's (turn, guardrails, lineage, cost).
 */
export const GEN_AI = {
  operation: "gen_ai.operation.name",
  provider: "gen_ai.provider.name",
  requestModel: "gen_ai.request.model",
  responseModel: "gen_ai.response.model",
  finishReasons: "gen_ai.response.finish_reasons",
  temperature: "gen_ai.request.temperature",
  maxTokens: "gen_ai.request.max_tokens",
  inputTokens: "gen_ai.usage.input_tokens",
  outputTokens: "gen_ai.usage.output_tokens",
  cacheReadTokens: "gen_ai.usage.cache_read.input_tokens",
  reasoningTokens: "gen_ai.usage.reasoning.output_tokens",
  conversation: "gen_ai.conversation.id",
  agentName: "gen_ai.agent.name",
  toolName: "gen_ai.tool.name",
  toolType: "gen_ai.tool.type",
  toolArguments: "gen_ai.tool.call.arguments",
  toolResult: "gen_ai.tool.call.result",
  dataSource: "gen_ai.data_source.id",
  retrievalQuery: "gen_ai.retrieval.query.text",
  retrievalDocuments: "gen_ai.retrieval.documents",
  errorType: "error.type",
} as const;

export const AGENT_NAME = "telco-assistant";

/** `GenAI provider.name` values of the configured providers. */
export const GEN_AI_PROVIDERS: Record<string, string> = {
  local: "local",
  vertex: "gcp.vertex_ai",
  "openai-compatible": "openai",
};

/** A value as a span may carry it: strings and numbers as they are, anything else as JSON. */
export type Attrs = Record<string, AttributeValue | undefined>;

/** Cuts a string to `max` characters, saying how much was cut. */
export function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… [${text.length - max} more characters]`;
}

/** Text as a span may hold it: personal data masked (platform/pii), then cut. */
export function maskText(text: string, max: number): string {
  return cut(maskPii(text), max);
}

/**
 * Identity secrets platform/pii does not know by key: a birth date, a one-time code, a password or a
 * token are never written to a span, whatever their value looks like.
 */
const SECRET_KEYS = new Set([
  "birthdate",
  "datanascimento",
  "dob",
  "code",
  "logincode",
  "smscode",
  "simulatedsmscode",
  "otp",
  "password",
  "senha",
  "token",
  "address",
  "endereco",
]);

function redactSecrets(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== "object" || depth > 8) return value;
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value))
    out[k] =
      SECRET_KEYS.has(k.toLowerCase().replace(/[_-]/g, "")) && v !== null && v !== undefined && v !== ""
        ? "***"
        : redactSecrets(v, depth + 1);
  return out;
}

/**
 * A JSON value as a span may hold it: identity secrets redacted, personal data masked (values, and keys
 * such as cpf, nome, telefone), as JSON, cut.
 */
export function maskJson(value: unknown, max: number): string {
  let json: string;
  try {
    json = JSON.stringify(maskObject(redactSecrets(value))) ?? "null";
  } catch {
    json = '"[unserialisable]"';
  }
  return cut(json, max);
}

/** Drops undefined values (the OpenTelemetry API warns on them). */
export function defined(a: Attrs): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const [k, v] of Object.entries(a)) if (v !== undefined) out[k] = v;
  return out;
}

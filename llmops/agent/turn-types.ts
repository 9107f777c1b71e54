import type { Interaction } from "../../platform/ports/crm.ts";
import type { Language } from "../conversation/commands.ts";
import type { Citation } from "../conversation/knowledge.ts";
import type { ToolCallView, TurnResult } from "./engine.ts";

/**
 * One chat turn as the assistant (assistant.ts) takes and answers it, and as its observer
 * (llmops/observability/observer.ts) traces it: a leaf, so neither of the two imports the other.
 */

export type Channel = Interaction["channel"];

/** The one-turn answer, exactly as `telco chat --json` and `POST /v1/assistant/chat` return it. */
export interface ChatResponse {
  session_id: string;
  reply: string;
  intent: string | null;
  citations: Citation[];
  tool_calls: ToolCallView[];
  offers: { offer_id: string; [k: string]: unknown }[];
  interaction_id: string | null;
  trace_id: string;
}

export interface ChatRequest {
  session_id?: string;
  /**
   * The customer a trusted channel vouches for (operator key + asserted id, a login token, the local
   * CLI). Absent or null: an anonymous channel, and the identity flow runs before any account data.
   */
  customer_id?: string | null;
  channel: Channel;
  message: string;
  language?: Language;
}

export interface ChatOutcome {
  response: ChatResponse;
  turn: TurnResult;
  /** Interactions registered because the previous conversation on this session had gone idle. */
  closed_idle: string | null;
  /** Milliseconds spent loading and saving the session. */
  persistence_ms: number;
}

/**
 * What the assistant asks of its observer: one call around each turn. The tracing observer of
 * llmops/observability implements it (AssistantObserver, which also wraps the engine's parts), and the
 * composition (llmops/assistant) hands it in, so the agent depends on this interface only.
 */
export interface TurnObserver {
  chat<T extends ChatOutcome>(req: ChatRequest, run: () => Promise<T>): Promise<T>;
}

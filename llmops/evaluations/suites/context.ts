import type { AppContext } from "../../../platform/context.ts";
import type { LlmProvider } from "../../../platform/ports/llm.ts";
import type { Phraser } from "../../agent/engine.ts";
import type { UnderstandingEngine } from "../../conversation/commands.ts";
import type { TracingObserver, TurnRecord } from "../../observability/observer.ts";
import type { SandboxFixture } from "../../testing/sandbox-fixture.ts";
import type { ConversationResult } from "../conversations/run.ts";
import type { EngineName } from "./types.ts";

/** What every suite gets from the runner. */
export interface EvalContext {
  /** The caller's context: its config (thresholds, guardrails, retrieval settings, the LLM). */
  app: AppContext;
  /** The operator sandbox the conversations run against (shared by every suite of the run). */
  fixture: SandboxFixture;
  engine: EngineName;
  /** Trials per case (pass^k); 1 for the local engine unless asked. */
  trials: number;
  /** The generative model (observed: its calls are traced and priced); null when none is configured. */
  llm: LlmProvider | null;
  /** The observer of the fixture's assistants: turn records (latency, tool results, cost). */
  observer: TracingObserver;
  /** A fresh understanding engine of the engine under evaluation. */
  understanding(): UnderstandingEngine;
  /** The phraser of the engine under evaluation (null: templates). */
  phraser(): Phraser | null;
  /** The repository root (golden sets, baseline). */
  repoRoot: string;
  progress(message: string): void;
}

/** One golden conversation of one trial, with the turn records the observer saw for its session. */
export interface GoldenRun {
  trial: number;
  conversation: ConversationResult;
  turns: TurnRecord[];
}

/** Every trial of the golden conversations: input of the golden, groundedness, latency, cost and judge suites. */
export interface GoldenData {
  /** trials[t][i]: conversation i of trial t, in file order. */
  trials: GoldenRun[][];
  ms: number;
}

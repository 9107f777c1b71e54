import type { ChurnRisk, ChurnRiskService } from "../../platform/ports/churn-risk.ts";
import type {
  Command,
  DialogueState,
  Language,
  Understanding,
  UnderstandingEngine,
} from "../conversation/commands.ts";

/**
 * Test and evaluation doubles of the assistant's inputs that are preconditions, not behaviour:
 * the churn band a scenario starts from (τ²-bench's initial state), and scripted commands for tests
 * of the dialogue engine on its own (what any understanding engine would emit).
 */

/** The churn band (and a probability inside it) each customer starts with; unknown customers: none. */
export class PresetChurnRisk implements ChurnRiskService {
  private readonly bands = new Map<string, ChurnRisk["band"]>();

  set(customerId: string, band: ChurnRisk["band"]): void {
    this.bands.set(customerId, band);
  }

  async risk(customerId: string): Promise<ChurnRisk | null> {
    const band = this.bands.get(customerId);
    if (!band) return null;
    return {
      customer_id: customerId,
      probability: band === "high" ? 0.72 : band === "medium" ? 0.41 : 0.08,
      band,
      reasons: [],
      model_name: "churn",
      model_version: "preset",
      data_version: null,
      as_of: "preset",
    };
  }
}

/** Emits the commands a test queued for each turn, in order (the dialogue engine's own tests). */
export class ScriptedUnderstanding implements UnderstandingEngine {
  readonly name = "local" as const;
  readonly seen: { text: string; state: DialogueState }[] = [];
  private readonly queue: { commands: Command[]; language?: Language }[] = [];

  push(commands: Command[], language?: Language): this {
    this.queue.push({ commands, language });
    return this;
  }

  async understand(text: string, state: DialogueState): Promise<Understanding> {
    this.seen.push({ text, state: structuredClone(state) });
    const next = this.queue.shift();
    if (!next) throw new Error(`no scripted commands left for "${text}"`);
    const start = next.commands.find((c) => c.type === "start_flow");
    return {
      language: next.language ?? state.language,
      intents: start && start.type === "start_flow" ? [{ intent: start.flow, confidence: 1 }] : [],
      commands: next.commands,
      engine: "local",
    };
  }
}

/**
 * Understanding: a customer message + the DialogueState → Understanding (language, ranked intents,
 * commands of llmops/conversation/commands.ts). Two engines with the same output: `LocalUnderstanding`
 * (offline, deterministic, the default) and `LlmUnderstanding` (structured output through the
 * configured model, falling back to local for the turn).
 */
export { loadUnderstandingCatalog, type UnderstandingCatalog } from "./catalog.ts";
export {
  IntentClassifier,
  type IntentScore,
  type TrainingExample,
  type TrainOptions,
  trainIntentClassifier,
} from "./classifier.ts";
export {
  CANCEL_REASONS,
  type CancelReason,
  ENTITY_KINDS,
  type Entity,
  type EntityKind,
  type Extraction,
  extractEntities,
  isValidCpf,
  type RejectedEntity,
} from "./entities.ts";
export { INTENT_FLOW, INTENTS, type Intent } from "./intents.ts";
export { detectMessageLanguage } from "./language.ts";
export {
  COMMAND_GENERATION_PROMPT,
  checkCommands,
  LlmUnderstanding,
  type LlmUnderstandingOptions,
  type LlmUnderstandingResult,
} from "./llm.ts";
export {
  FLOW_SLOTS,
  type LocalAnalysis,
  LocalUnderstanding,
  type LocalUnderstandingOptions,
} from "./local.ts";
export { cachedIntentClassifier, defaultIntentClassifier, trainFromUtteranceFiles } from "./model.ts";
export {
  loadEntitySet,
  loadMultiIntentSet,
  loadUtterances,
  splitOf,
  UTTERANCES_DIR,
  type Utterance,
} from "./utterances.ts";

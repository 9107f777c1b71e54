/**
 * Pipeline metadata as the runner and the CLI see it: the port's types. The store itself comes from
 * the composition root (`app.pipelineMetadata()`, or `openPipelineMetadata(root)` in platform/context.ts).
 */
export {
  type CacheEntry,
  isTerminal,
  type LineageEdge,
  type PipelineMetadataStore,
  type RunRow,
  type StepLogLevel,
  type StepLogLine,
  type StepTimes,
} from "../../platform/ports/pipeline-metadata.ts";

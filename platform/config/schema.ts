import { z } from "zod";
import { assistantConfigSchema } from "./sections/assistant.ts";
import { channelsConfigSchema } from "./sections/channels.ts";
import { dataConfigSchema } from "./sections/data.ts";
import { evalsConfigSchema } from "./sections/evals.ts";
import { featuresConfigSchema } from "./sections/features.ts";
import { gcpConfigSchema } from "./sections/gcp.ts";
import { guardrailsConfigSchema } from "./sections/guardrails.ts";
import { llmConfigSchema } from "./sections/llm.ts";
import { monitoringConfigSchema } from "./sections/monitoring.ts";
import { observabilityConfigSchema } from "./sections/observability.ts";
import { operatorConfigSchema } from "./sections/operator.ts";
import { pipelinesConfigSchema } from "./sections/pipelines.ts";
import { portalConfigSchema } from "./sections/portal.ts";
import { ragConfigSchema } from "./sections/rag.ts";
import { registryConfigSchema } from "./sections/registry.ts";
import { servingConfigSchema } from "./sections/serving.ts";
import { trainingConfigSchema } from "./sections/training.ts";

/**
 * The whole configuration. Each section lives in its own file under ./sections so that
 * the team owning a capability owns its settings. Every field has a default: an empty
 * file (or none) is a valid local configuration.
 */
export const configSchema = z
  .object({
    profile: z.enum(["local", "gcp"]).default("local"),
    workspace: z.string().default(".telco").describe("Folder holding all local state; TELCO_HOME overrides"),
    gcp: gcpConfigSchema.default(gcpConfigSchema.parse({})),
    data: dataConfigSchema.default(dataConfigSchema.parse({})),
    training: trainingConfigSchema.default(trainingConfigSchema.parse({})),
    features: featuresConfigSchema.default(featuresConfigSchema.parse({})),
    rag: ragConfigSchema.default(ragConfigSchema.parse({})),
    serving: servingConfigSchema.default(servingConfigSchema.parse({})),
    monitoring: monitoringConfigSchema.default(monitoringConfigSchema.parse({})),
    registry: registryConfigSchema.default(registryConfigSchema.parse({})),
    pipelines: pipelinesConfigSchema.default(pipelinesConfigSchema.parse({})),
    operator: operatorConfigSchema.default(operatorConfigSchema.parse({})),
    assistant: assistantConfigSchema.default(assistantConfigSchema.parse({})),
    llm: llmConfigSchema.default(llmConfigSchema.parse({})),
    guardrails: guardrailsConfigSchema.default(guardrailsConfigSchema.parse({})),
    channels: channelsConfigSchema.default(channelsConfigSchema.parse({})),
    evals: evalsConfigSchema.default(evalsConfigSchema.parse({})),
    observability: observabilityConfigSchema.default(observabilityConfigSchema.parse({})),
    portal: portalConfigSchema.default(portalConfigSchema.parse({})),
  })
  .strict();

export type TelcoConfig = z.infer<typeof configSchema>;
export type Profile = TelcoConfig["profile"];

import { z } from "zod";

/**
 * Tracing and metrics of the assistant (llmops/observability): every turn becomes an OpenTelemetry
 * trace (GenAI semantic conventions) written to the local trace store in the workspace and, when
 * `otlp.target` is not `none`, exported over OTLP/HTTP to Cloud Trace, Langfuse or any collector.
 */
export const OTLP_TARGETS = ["none", "collector", "langfuse", "cloud-trace"] as const;
export type OtlpTarget = (typeof OTLP_TARGETS)[number];

/** Where each target's traces go when `otlp.endpoint` is not set. */
export const OTLP_DEFAULT_ENDPOINTS: Record<Exclude<OtlpTarget, "none">, string> = {
  collector: "http://127.0.0.1:4318/v1/traces",
  langfuse: "https://cloud.langfuse.com/api/public/otel/v1/traces",
  "cloud-trace": "https://telemetry.googleapis.com/v1/traces",
};

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const observabilityConfigSchema = z
  .object({
    serviceName: z.string().min(1).default("telco-assistant").describe("service.name of every span"),
    traces: z
      .object({
        /** Off: no spans at all (the turn's own trace record in the session store remains). */
        enabled: z.boolean().default(true),
        /** Traces in `<workspace>/assistant/traces.sqlite` (`telco traces list|show`). */
        store: z.boolean().default(true),
        retentionDays: z
          .number()
          .int()
          .min(1)
          .default(30)
          .describe("Traces older than this are deleted when the store opens"),
        maxAttributeChars: z
          .number()
          .int()
          .min(64)
          .max(100_000)
          .default(2000)
          .describe("Longer attribute values (messages, tool results) are cut"),
      })
      .strict()
      .prefault({}),
    otlp: z
      .object({
        target: z.enum(OTLP_TARGETS).default("none"),
        endpoint: z.string().url().optional().describe("OTLP/HTTP traces URL (default: the target's)"),
        /**
         * Header name → NAME of the environment variable holding its value (secrets never sit in the
         * config). Langfuse: `Authorization` from a variable holding `Basic base64(pk:sk)`; Cloud
         * Trace: `Authorization` from one holding `Bearer <token>` (or send to a collector instead).
         */
        headersFromEnv: z.record(z.string().min(1), z.string().regex(ENV_NAME)).default({}),
        timeoutMs: z.number().int().min(100).default(10_000),
      })
      .strict()
      .prefault({}),
    metrics: z
      .object({ enabled: z.boolean().default(true).describe("assistant_* series on the API's /metrics") })
      .strict()
      .prefault({}),
  })
  .strict();

export type ObservabilityConfig = z.infer<typeof observabilityConfigSchema>;

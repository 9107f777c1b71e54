import { z } from "zod";

/** The NAME of an environment variable (secrets are read from the environment, never from this file). */
const envName = (fallback: string, what: string) =>
  z
    .string()
    .regex(/^[A-Z_][A-Z0-9_]*$/, "must be an environment variable name (A-Z, 0-9, _)")
    .default(fallback)
    .describe(`Variable holding ${what} (never the value itself)`);

/**
 * WhatsApp Business Platform (Cloud API): the webhook Meta calls (`/v1/channels/whatsapp/webhook`)
 * and the Graph API client the replies go through. Off by default; see docs/llmops/whatsapp.md.
 */
export const whatsappConfigSchema = z
  .object({
    enabled: z.boolean().default(false).describe("Mount the webhook on the API server"),
    /** The business phone number's id in the Cloud API (WhatsApp Manager > API setup), not the number. */
    phoneNumberId: z
      .union([z.string(), z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)])
      .transform((v) => String(v))
      .pipe(z.string().regex(/^\d{1,32}$/, "must be the numeric phone number id (quote it in YAML)"))
      .optional(),
    graph: z
      .object({
        baseUrl: z
          .string()
          .url()
          .default("https://graph.facebook.com")
          .describe("Graph API origin (a local fake in tests and demos)"),
        version: z
          .string()
          .regex(/^v\d+\.\d+$/, "must look like v23.0")
          .default("v23.0"),
        timeoutMs: z.number().int().min(100).default(10_000),
      })
      .strict()
      .prefault({}),
    appSecretEnv: envName("WHATSAPP_APP_SECRET", "the Meta app secret (X-Hub-Signature-256)"),
    verifyTokenEnv: envName("WHATSAPP_VERIFY_TOKEN", "the webhook verify token"),
    accessTokenEnv: envName("WHATSAPP_ACCESS_TOKEN", "the Graph API access token"),
    /** The approved template sent instead of free text outside the customer-service window. */
    template: z
      .object({
        name: z
          .string()
          .regex(/^[a-z0-9_]{1,512}$/, "must be a template name (lowercase letters, digits, _)")
          .default("aurora_retomar_atendimento"),
        language: z
          .string()
          .regex(/^[a-z]{2,3}(_[A-Z]{2})?$/, "must be a template language code such as pt_BR")
          .default("pt_BR"),
      })
      .strict()
      .prefault({}),
    /** Free text is allowed this long after the customer's last message (WhatsApp: 24 hours). */
    serviceWindowMs: z
      .number()
      .int()
      .min(60_000)
      .default(24 * 3_600_000),
    /** A number silent for this long starts a new conversation (a new assistant session). */
    conversationResetMs: z
      .number()
      .int()
      .min(60_000)
      .default(24 * 3_600_000),
    /**
     * Days a number stays trusted for the customer who proved their identity from it (while the CRM
     * still lists that number for them); 0: every new conversation checks identity again.
     */
    trustVerifiedNumberDays: z.number().int().min(0).max(365).default(30),
    queue: z
      .object({
        /** Messages accepted and not yet answered; beyond it the webhook answers 503 and Meta retries. */
        maxPending: z.number().int().min(1).default(1000),
        /** Conversations answered at once (one number's messages are always answered in order). */
        concurrency: z.number().int().min(1).max(64).default(4),
      })
      .strict()
      .prefault({}),
    delivery: z
      .object({
        /** Attempts per outbound message while the Graph API fails with a retryable error. */
        maxAttempts: z.number().int().min(1).max(50).default(8),
        backoffMs: z.number().int().min(1).default(2000),
        maxBackoffMs: z
          .number()
          .int()
          .min(1)
          .default(5 * 60_000),
      })
      .strict()
      .prefault({}),
    maxBodyBytes: z
      .number()
      .int()
      .min(1024)
      .default(1024 * 1024),
  })
  .strict();

/** Messaging channels beside the API's own chat (WhatsApp today). */
export const channelsConfigSchema = z
  .object({
    whatsapp: whatsappConfigSchema.prefault({}),
  })
  .strict();

export type WhatsAppConfig = z.infer<typeof whatsappConfigSchema>;
export type ChannelsConfig = z.infer<typeof channelsConfigSchema>;

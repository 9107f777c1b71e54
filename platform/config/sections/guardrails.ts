import { z } from "zod";

/**
 * The assistant's guardrails (llmops/guardrails): what each does when it triggers. Actions:
 * - block: the message never reaches the assistant (input) or the reply is discarded (output); the
 *   customer gets a short polite refusal;
 * - mask: the offending spans are masked or removed and the turn goes on (input: the rest of the
 *   message reaches the assistant; output: the rest of the reply is sent);
 * - rewrite: the reply is the guardrail's safe template, which keeps helping;
 * - escalate: the safe template, and the conversation is handed to a human agent.
 * Every trigger is recorded per turn with its reason. A guardrail that throws blocks (fail closed).
 */
export const GUARDRAIL_ACTIONS = ["block", "mask", "rewrite", "escalate"] as const;
export type GuardrailAction = (typeof GUARDRAIL_ACTIONS)[number];

const action = (d: GuardrailAction) => z.enum(GUARDRAIL_ACTIONS).default(d);
const rule = (d: GuardrailAction) =>
  z
    .object({ enabled: z.boolean().default(true), action: action(d) })
    .strict()
    .prefault({});

/** PII kinds of platform/pii the assistant never needs: masked before the message reaches it. */
const PII_KIND = z.enum([
  "cpf",
  "cnpj",
  "phone",
  "cep",
  "card",
  "cvv",
  "card_expiry",
  "email",
  "imei",
  "iccid",
  "name",
]);

export const guardrailsConfigSchema = z
  .object({
    /** Off: the assistant answers unguarded (never in production; for engine tests only). */
    enabled: z.boolean().default(true),
    input: z
      .object({
        /**
         * Brazilian PII. Every kind is masked in what is logged, traced or sent to a hosted model; the
         * kinds below are also masked before the assistant sees the message (it never needs them). The
         * others (CPF, phone, CEP…) reach the local engine so the customer's own data can go to tools.
         */
        pii: z
          .object({
            enabled: z.boolean().default(true),
            action: action("mask"),
            maskBeforeAssistant: z.array(PII_KIND).default(["card", "cvv", "card_expiry"]),
          })
          .strict()
          .prefault({}),
        /** Direct prompt injection: overrides, role-play, prompt extraction, fake system messages. */
        promptInjection: rule("rewrite"),
        /** Social engineering: one-time codes, SIM swap and porting for others, other people's data, bulk export. */
        fraud: rule("rewrite"),
        /** Malware, hacking, legal petitions and anything outside telecom customer service. */
        scope: rule("rewrite"),
        /** Insults and threats aimed at the agent (not swearing about the service). */
        abuse: rule("mask"),
      })
      .strict()
      .prefault({}),
    retrieved: z
      .object({
        /** Instructions planted inside knowledge-base passages (mask: the sentences are removed). */
        plantedInstructions: rule("mask"),
      })
      .strict()
      .prefault({}),
    output: z
      .object({
        /** Offer ids, prices and discounts that this session's tool results do not hold. */
        grounding: rule("mask"),
        /** Promises outside policy: fine waivers, refunds, "no price increase", "for life". */
        promises: rule("rewrite"),
        /** Citations of documents that were not retrieved, quotes the cited passages do not hold. */
        citations: rule("mask"),
        /** Personal data of anyone but the session's customer (cards always). */
        pii: rule("mask"),
        /** Fragments of the system/rules prompts. */
        promptLeak: rule("block"),
      })
      .strict()
      .prefault({}),
    /** Mask PII in every prompt sent to a hosted model, and restore it in the answer (placeholders). */
    maskLlmPrompts: z.boolean().default(true),
  })
  .strict();

export type GuardrailsConfig = z.infer<typeof guardrailsConfigSchema>;

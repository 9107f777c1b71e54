import { z } from "zod";

const systemEndpoint = (path: string) =>
  z
    .object({
      url: z
        .string()
        .url()
        .default(`http://127.0.0.1:8090/${path}`)
        .describe(
          "Base URL of the system's API (the sandbox by default; an operator's real system in production)",
        ),
      apiKeyEnv: z
        .string()
        .optional()
        .describe("Variable holding a bearer token for this system (never the token itself)"),
    })
    .strict()
    .prefault({});

const fault = z
  .object({
    latencyMs: z.number().int().min(0).default(0),
    errorRate: z.number().min(0).max(1).default(0),
    down: z.boolean().default(false),
  })
  .strict()
  .prefault({});

/** The operator's systems (CRM, billing, network/OSS, offers) and how the connectors reach them. */
export const operatorConfigSchema = z
  .object({
    systems: z
      .object({
        crm: systemEndpoint("crm"),
        billing: systemEndpoint("billing"),
        network: systemEndpoint("network"),
        offers: systemEndpoint("offers"),
      })
      .strict()
      .prefault({}),
    /** Connector behaviour: per-call timeout, retries (idempotent calls only), circuit breaker. */
    client: z
      .object({
        timeoutMs: z.number().int().min(10).default(2000),
        retries: z.number().int().min(0).max(10).default(2),
        backoffMs: z.number().int().min(0).default(50),
        breakerFailures: z.number().int().min(1).default(5),
        breakerResetMs: z.number().int().min(100).default(10_000),
      })
      .strict()
      .prefault({}),
    /** The sandbox of the simulated operator, served by `telco systems serve` and `telco up`. */
    sandbox: z
      .object({
        host: z.string().default("127.0.0.1"),
        port: z.number().int().min(0).max(65535).default(8090),
        /** Open the workspace sandbox in-process when nothing answers at a loopback URL. */
        inProcessFallback: z.boolean().default(true),
        /** Fault injection per system, for reliability tests and demos. */
        faults: z.object({ crm: fault, billing: fault, network: fault, offers: fault }).strict().prefault({}),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type OperatorConfig = z.infer<typeof operatorConfigSchema>;

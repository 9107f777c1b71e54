import { z } from "zod";

/** Online serving settings. */
export const servingConfigSchema = z
  .object({
    port: z.number().int().min(0).max(65535).default(8080),
    host: z.string().default("127.0.0.1"),
  })
  .strict();

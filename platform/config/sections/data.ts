import { z } from "zod";

/** Data platform: synthetic operator defaults and ingestion behaviour. */
export const dataConfigSchema = z
  .object({
    generate: z
      .object({
        customers: z.number().int().positive().default(5000),
        months: z.number().int().min(1).max(60).default(12),
        seed: z.number().int().min(0).max(4294967295).default(42),
        /** First month of the simulated window (YYYY-MM); the extract date is the month after the last. */
        start: z
          .string()
          .regex(/^[0-9]{4}-(0[1-9]|1[0-2])$/, "YYYY-MM")
          .default("2025-01"),
        /** Fraction of rows given realistic defects (duplicates, bad dates, …) for ingestion demos. */
        dirtyRate: z.number().min(0).max(0.5).default(0),
      })
      .strict()
      .default({ customers: 5000, months: 12, seed: 42, start: "2025-01", dirtyRate: 0 }),
    /**
     * Where `telco data ingest csv` freezes inferred data contracts (relative to the working
     * directory). Unset: <workspace>/schemas, so no state lands in the source tree; teams that
     * version contracts in git set it (or pass --contract-dir).
     */
    schemasDir: z.string().optional(),
    /** DuckDB memory cap while ingesting (beyond it DuckDB spills to disk); keeps peak RSS bounded. */
    ingestMemoryLimit: z
      .string()
      .regex(/^\d+(\.\d+)?\s*(MB|GB|MiB|GiB)$/i, "a size such as 1GB or 768MB")
      .default("1GB"),
    /**
     * Files ingested side by side, each on its own single-threaded DuckDB connection. A checked
     * COPY keeps file order, so one thread per file uses the cores better than two per file.
     */
    ingestLanes: z.number().int().min(1).max(16).default(2),
  })
  .strict();

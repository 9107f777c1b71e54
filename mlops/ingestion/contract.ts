import { z } from "zod";

/**
 * Data contracts: the versioned schema every delivered file is checked against before it
 * enters bronze. Stored as JSON under data/schemas/<dataset>/<name>.json.
 */
export const columnTypeSchema = z.enum(["string", "integer", "number", "boolean", "date", "timestamp"]);
export type ColumnType = z.infer<typeof columnTypeSchema>;

export const contractColumnSchema = z
  .object({
    name: z.string().min(1),
    type: columnTypeSchema,
    description: z.string().default(""),
    /** The column must be present in the file header (a file without it is refused). */
    required: z.boolean().default(true),
    /** Empty cells are allowed (otherwise the row is rejected). */
    nullable: z.boolean().default(false),
    min: z.number().optional(),
    max: z.number().optional(),
    enum: z.array(z.string()).optional(),
    pattern: z.string().optional(),
    /** Decimal separator of a number column as delivered ("," in many Brazilian exports: "126,76"). */
    decimal: z.enum([".", ","]).optional(),
    /** Personal data (LGPD): masked in logs and exports. */
    pii: z.boolean().default(false),
  })
  .strict();
export type ContractColumn = z.infer<typeof contractColumnSchema>;

export const dataContractSchema = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9_]*$/, "lower_snake_case table name"),
    version: z.number().int().positive(),
    dataset: z.string().min(1).describe("synthetic | ibm-telco | a user-chosen name"),
    source: z.string().min(1).describe("source system: crm, billing, usage, network, support, csv"),
    format: z.enum(["csv", "jsonl"]),
    /** Path of the file inside a delivery folder, e.g. "crm/customers.csv". */
    file: z.string().min(1),
    /**
     * A delivery may omit this file (e.g. crm_interactions, exported from the operator systems on its
     * own schedule). Until a batch arrives its bronze and silver tables exist, empty and typed.
     */
    optional: z.boolean().default(false),
    description: z.string().default(""),
    primaryKey: z.array(z.string()).min(1),
    /**
     * The file has no id column: bronze adds this generated column, "<file name>:<line>", a stable
     * row id derived from the delivered file and the record's line; primaryKey is [rowId].
     */
    rowId: z.string().min(1).optional(),
    /** Column carrying the event time (for point-in-time joins), if any. */
    eventTime: z.string().optional(),
    columns: z.array(contractColumnSchema).min(1),
    /** CSV field separator (default ","). */
    delimiter: z.string().length(1).optional(),
    /** For datasets used directly for training (ibm-telco, user CSVs): the label column and its positive value. */
    training: z
      .object({
        target: z.string().min(1),
        positive: z.string(),
        /**
         * Every spelling counted as positive, compared lower-cased and trimmed (e.g. true, yes, sim,
         * 1, y for a boolean target). Absent: the positive value alone, case-insensitively.
         */
        positiveValues: z.array(z.string()).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
export type DataContract = z.infer<typeof dataContractSchema>;

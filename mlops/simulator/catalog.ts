import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { ValidationError } from "../../platform/errors.ts";

/** The operator catalog file: the single source of truth for plans, prices and rules. */
export const CATALOG_PATH = fileURLToPath(
  new URL("../../data/sample/operator-catalog.json", import.meta.url),
);

const planSchema = z.object({
  plan_id: z.string(),
  name: z.string(),
  product: z.enum(["mobile_pre", "mobile_controle", "mobile_pos", "fibra", "tv", "combo"]),
  monthly_price_brl: z.number().positive(),
  data_gb: z.number().nullable(),
  speed_mbps: z.number().nullable(),
  fidelity_months: z.number().int().min(0),
  fidelity_benefit_brl: z.number().min(0),
});

const catalogSchema = z.object({
  operator: z.string(),
  effective_date: z.string(),
  plans: z.array(planSchema).min(1),
  rules: z
    .object({
      invoice_due_days: z.array(z.number().int().min(1).max(28)).min(1),
      roaming_international_daily_brl: z.record(z.string(), z.number()),
      extra_data_package_brl: z.record(z.string(), z.number()),
    })
    .loose(),
  regions: z.array(z.string()).min(1),
  competitors: z.array(z.string()).min(1),
});

export type CatalogPlan = z.infer<typeof planSchema>;
export type OperatorCatalog = z.infer<typeof catalogSchema>;

/** Loads and validates the operator catalog; a broken file fails naming the field. */
export function loadCatalog(path: string = CATALOG_PATH): OperatorCatalog {
  const parsed = catalogSchema.safeParse(JSON.parse(readFileSync(path, "utf8")));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ValidationError(`operator-catalog.${issue?.path.join(".") ?? ""}`, issue?.message ?? "invalid");
  }
  return parsed.data;
}

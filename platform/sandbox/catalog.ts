import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { ValidationError } from "../errors.ts";
import type { Catalog } from "../ports/offers.ts";

/** The operator catalog: the single source of truth for plans, prices, offers and commercial rules. */
export const OPERATOR_CATALOG_PATH = fileURLToPath(
  new URL("../../data/sample/operator-catalog.json", import.meta.url),
);

const fileSchema = z.object({
  effective_date: z.string(),
  plans: z
    .array(
      z.object({
        plan_id: z.string().min(1),
        name: z.string(),
        product: z.string(),
        monthly_price_brl: z.number().positive(),
        data_gb: z.number().nullable(),
        speed_mbps: z.number().nullable(),
        fidelity_months: z.number().int().min(0),
        fidelity_benefit_brl: z.number().min(0),
      }),
    )
    .min(1),
  rules: z
    .object({
      technical_visit_windows: z.array(z.string()).min(1),
      cancellation_effective_hours: z.number().positive(),
      repair_deadline_hours: z.object({ capital_and_metro: z.number(), interior: z.number() }).loose(),
    })
    .loose(),
  retention_offers: z.array(
    z.object({
      offer_id: z.string().min(1),
      description: z.string(),
      max_discount_pct: z.number().min(0).max(100),
      months: z.number().int().positive(),
      approval: z.enum(["agent", "supervisor"]),
      eligibility: z.string(),
    }),
  ),
});

export interface SandboxCatalog {
  catalog: Catalog;
  visitWindows: string[];
  cancellationHours: number;
}

const cache = new Map<string, SandboxCatalog>();

/** Loads the catalog file; `version` is the content hash, so any edit gives a new version. */
export function loadSandboxCatalog(path: string = OPERATOR_CATALOG_PATH): SandboxCatalog {
  const hit = cache.get(path);
  if (hit) return hit;
  const bytes = readFileSync(path);
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString("utf8"));
  } catch (err) {
    throw new ValidationError(path, `not valid JSON: ${(err as Error).message}`);
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ValidationError(`operator-catalog.${issue?.path.join(".") ?? ""}`, issue?.message ?? "invalid");
  }
  const f = parsed.data;
  const out: SandboxCatalog = {
    catalog: {
      version: createHash("sha256").update(bytes).digest("hex").slice(0, 12),
      effective_date: f.effective_date,
      plans: f.plans,
      retention_offers: f.retention_offers,
    },
    visitWindows: f.rules.technical_visit_windows,
    cancellationHours: f.rules.cancellation_effective_hours,
  };
  cache.set(path, out);
  return out;
}

/** Product family for plan changes: the three mobile products are one family. */
export function productFamily(product: string): string {
  return product.startsWith("mobile_") ? "mobile" : product;
}

import { readFileSync } from "node:fs";
import { z } from "zod";
import { CATALOG_PATH } from "../../../mlops/simulator/catalog.ts";
import { ValidationError } from "../../../platform/errors.ts";

/** What understanding needs from the operator catalog: plan names and numbers, offer ids, competitors. */
export interface UnderstandingCatalog {
  plans: {
    plan_id: string;
    name: string;
    product: string;
    data_gb: number | null;
    speed_mbps: number | null;
  }[];
  offer_ids: string[];
  competitors: string[];
}

const fileSchema = z.object({
  plans: z
    .array(
      z.object({
        plan_id: z.string().min(1),
        name: z.string().min(1),
        product: z.string().min(1),
        data_gb: z.number().nullable(),
        speed_mbps: z.number().nullable(),
      }),
    )
    .min(1),
  retention_offers: z.array(z.object({ offer_id: z.string().min(1) })).default([]),
  competitors: z.array(z.string()).default([]),
});

const cache = new Map<string, UnderstandingCatalog>();

/** Reads (once per path) the plans, offer ids and competitors of data/sample/operator-catalog.json. */
export function loadUnderstandingCatalog(path: string = CATALOG_PATH): UnderstandingCatalog {
  const hit = cache.get(path);
  if (hit) return hit;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new ValidationError(path, `cannot read the operator catalog: ${(err as Error).message}`);
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ValidationError(`${path}: ${issue?.path.join(".") ?? ""}`, issue?.message ?? "invalid");
  }
  const catalog: UnderstandingCatalog = {
    plans: parsed.data.plans.map((p) => ({
      plan_id: p.plan_id,
      name: p.name,
      product: p.product,
      data_gb: p.data_gb,
      speed_mbps: p.speed_mbps,
    })),
    offer_ids: parsed.data.retention_offers.map((o) => o.offer_id),
    competitors: parsed.data.competitors,
  };
  cache.set(path, catalog);
  return catalog;
}

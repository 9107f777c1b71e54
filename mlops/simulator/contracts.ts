import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ValidationError } from "../../platform/errors.ts";
import { type DataContract, dataContractSchema } from "../ingestion/contract.ts";

/** Folder holding the synthetic operator's data contracts (one JSON per raw file). */
export const SYNTHETIC_CONTRACTS_DIR = fileURLToPath(
  new URL("../../data/schemas/synthetic/", import.meta.url),
);

/** Table names of every raw file the simulator delivers, in delivery order. */
export const SYNTHETIC_TABLES = [
  "crm_customers",
  "crm_contracts",
  "billing_invoices",
  "billing_invoice_items",
  "billing_payments",
  "billing_disputes",
  "usage_monthly",
  "network_outages",
  "network_quality",
  "support_tickets",
  "market_competitor_offers",
] as const;
export type SyntheticTable = (typeof SYNTHETIC_TABLES)[number];

/** Loads and validates every contract in data/schemas/synthetic; errors name the file and field. */
export function loadSyntheticContracts(dir: string = SYNTHETIC_CONTRACTS_DIR): Map<string, DataContract> {
  const out = new Map<string, DataContract>();
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()) {
    const path = join(dir, file);
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(path, "utf8"));
    } catch (err) {
      throw new ValidationError(file, `not valid JSON: ${(err as Error).message}`);
    }
    const parsed = dataContractSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ValidationError(
        `${file}:${issue?.path.join(".") ?? ""}`,
        issue?.message ?? "invalid contract",
      );
    }
    out.set(parsed.data.name, parsed.data);
  }
  return out;
}

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CrmSystem, Interaction } from "../../platform/ports/crm.ts";

/** One exported interaction, in the columns of data/schemas/synthetic/crm_interactions.json. */
export interface InteractionRecord {
  interaction_id: string;
  customer_id: string;
  channel: string;
  category: string;
  summary: string | null;
  sentiment: string;
  outcome: string;
  /** Offer ids joined with "|" (null when none were made). */
  offers_made: string | null;
  offer_accepted: string | null;
  protocol: string | null;
  created_at: string;
}

export function toInteractionRecord(i: Interaction): InteractionRecord {
  return {
    interaction_id: i.interaction_id,
    customer_id: i.customer_id,
    channel: i.channel,
    category: i.category,
    summary: i.summary === "" ? null : i.summary,
    sentiment: i.sentiment,
    outcome: i.outcome,
    offers_made: i.offers_made.length > 0 ? i.offers_made.join("|") : null,
    offer_accepted: i.offer_accepted,
    protocol: i.protocol,
    created_at: i.created_at,
  };
}

/**
 * The loop back into the data platform: writes the CRM's interactions (the assistant's
 * conversations, offers accepted, plan changes registered as outcomes) as a delivery of the
 * synthetic format — `crm/interactions.jsonl` plus a manifest — that `interactionsPlan` ingests.
 * Returns the number of rows; writes nothing when there are none.
 */
export async function exportInteractions(
  crm: CrmSystem,
  outDir: string,
  opts: { since?: string; businessDate?: string } = {},
): Promise<{ dir: string; file: string; rows: number }> {
  const all = await crm.exportInteractions(opts.since ? { since: opts.since } : {});
  const file = join(outDir, "crm", "interactions.jsonl");
  if (all.length === 0) return { dir: outDir, file, rows: 0 };
  const sorted = [...all].sort(
    (a, b) => a.created_at.localeCompare(b.created_at) || a.interaction_id.localeCompare(b.interaction_id),
  );
  mkdirSync(join(outDir, "crm"), { recursive: true });
  writeFileSync(file, `${sorted.map((i) => JSON.stringify(toInteractionRecord(i))).join("\n")}\n`);
  writeFileSync(
    join(outDir, "manifest.json"),
    `${JSON.stringify(
      {
        source: "operator-systems",
        tables: ["crm_interactions"],
        business_date: opts.businessDate ?? null,
        since: opts.since ?? null,
        rows: sorted.length,
        files: [{ path: "crm/interactions.jsonl", rows: sorted.length }],
      },
      null,
      2,
    )}\n`,
  );
  return { dir: outDir, file, rows: sorted.length };
}

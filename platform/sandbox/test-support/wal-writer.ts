import { openSandbox } from "../index.ts";

/**
 * Child process of the WAL test: writes interactions into the sandbox store at argv[2] —
 * argv[4] with keys of its own (prefix argv[3]) and argv[5] with keys shared with the other writer.
 */
const [path, prefix, own, shared] = process.argv.slice(2) as [string, string, string, string];
const sb = openSandbox(path);
const base = {
  customer_id: "AUR-00000001",
  channel: "api" as const,
  category: "wal",
  sentiment: "neutral" as const,
  outcome: "resolved" as const,
  offers_made: [],
  offer_accepted: null,
  session_id: null,
};
for (let i = 0; i < Math.max(Number(own), Number(shared)); i++) {
  if (i < Number(own))
    await sb.crm.recordInteraction(
      { ...base, summary: `${prefix}-${i}` },
      { idempotencyKey: `${prefix}-${i}` },
    );
  if (i < Number(shared))
    await sb.crm.recordInteraction({ ...base, summary: `shared-${i}` }, { idempotencyKey: `shared-${i}` });
}
await sb.close();

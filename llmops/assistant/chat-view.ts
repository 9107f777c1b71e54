import pc from "picocolors";
import type { AppContext } from "../../platform/context.ts";
import { NotFoundError } from "../../platform/errors.ts";
import { type ChatOutcome, documentedResponse } from "../agent/assistant.ts";
import type { ToolCallView } from "../agent/engine.ts";

/** What `telco chat` (cli.ts) and its REPL (repl.ts) share: the customer check and a turn for a person. */

/** A customer the REPL's picker offers (the sandbox's scenario customers, from the composition root). */
export interface PickableCustomer {
  customer_id: string;
  /** What the customer is an example of, e.g. "ont_los: ONT lost the optical signal". */
  label: string;
}

/** The customer must exist in the CRM (a typo is a usage error, not a conversation with nobody). */
export async function requireCustomer(app: AppContext, customerId: string): Promise<void> {
  const systems = await app.operator();
  const profile = await systems.crm.getCustomer(customerId);
  if (!profile)
    throw new NotFoundError(`customer ${customerId}`, {
      hint: "List example customers with `telco systems status`.",
      details: { field: "--customer" },
    });
}

/** One tool call as a dimmed line: name, arguments, and ok or the error code. */
export function toolLine(c: ToolCallView): string {
  const args = JSON.stringify(c.args ?? {});
  const r = c.result as { ok?: boolean; error?: { code: string; message: string } } | undefined;
  const status = r && r.ok === false && r.error ? pc.red(`✗ ${r.error.code}`) : pc.green("✓");
  return pc.dim(`  ↳ ${c.name} ${args.length > 120 ? `${args.slice(0, 117)}…` : args} `) + status;
}

/** A turn for a person: tool calls dimmed, then the reply, notices and citations. */
export function renderTurn(o: ChatOutcome, opts: { showSession?: boolean } = {}): string {
  const lines: string[] = [];
  for (const c of o.response.tool_calls) lines.push(toolLine(c));
  for (const n of o.turn.notices) lines.push(pc.yellow(`  [SMS simulado] ${n.text}`));
  lines.push(o.response.reply);
  for (const g of documentedResponse(o.response).guardrails)
    lines.push(pc.yellow(`  [guardrail ${g.name}: ${g.action} (${g.where})] ${g.reason}`));
  if (o.response.citations.length)
    lines.push(
      pc.dim(
        o.response.citations
          .map((c) => `  [${c.doc_id}] ${c.title}${c.section ? ` › ${c.section}` : ""}`)
          .join("\n"),
      ),
    );
  const meta = [
    o.response.intent ? `intent ${o.response.intent}` : null,
    o.response.interaction_id ? `interaction ${o.response.interaction_id}` : null,
    o.response.offers.length ? `offers ${o.response.offers.map((x) => x.offer_id).join(", ")}` : null,
    `trace ${o.response.trace_id}`,
  ].filter(Boolean);
  lines.push(pc.dim(`  ${meta.join(" · ")}`));
  if (opts.showSession)
    lines.push(
      pc.dim(`  session ${o.response.session_id} (continue with --session ${o.response.session_id})`),
    );
  return lines.join("\n");
}

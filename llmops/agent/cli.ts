import type { Command } from "commander";
import pc from "picocolors";
import { action } from "../../platform/cli/runtime.ts";
import type { AppContext } from "../../platform/context.ts";
import { NotFoundError, UsageError } from "../../platform/errors.ts";
import { type Channel, type ChatOutcome, documentedResponse } from "./assistant.ts";
import { openAssistant } from "./compose.ts";
import type { ToolCallView } from "./engine.ts";

/** A customer the REPL's picker offers (the sandbox's scenario customers, from the composition root). */
export interface PickableCustomer {
  customer_id: string;
  /** What the customer is an example of, e.g. "ont_los: ONT lost the optical signal". */
  label: string;
}

export interface AssistantCliOptions {
  /** Customers to offer in the REPL's picker; without it the picker asks for an id. */
  customers?(app: AppContext): Promise<PickableCustomer[]>;
}

const CUSTOMER_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
const CHANNELS: Channel[] = ["cli", "chat", "whatsapp", "api"];

/** `telco chat`: the interactive REPL, or one turn with `--message`. */
export function registerAssistantCommands(program: Command, opts: AssistantCliOptions = {}): void {
  program
    .command("chat")
    .description(
      "talk to the support and retention assistant: an interactive REPL, or one turn with --message (offline by default)",
    )
    .option("--customer <id>", "the customer, vouched for by this local channel (default: ask in the REPL)")
    .option("--anonymous", "no customer: the assistant checks identity (CPF + birth date, or an SMS code)")
    .option("--session <id>", "continue this session")
    .option("--message <text>", "answer one turn and exit")
    .option("--channel <name>", `channel recorded on the interaction (${CHANNELS.join(", ")})`, "cli")
    .addHelpText(
      "after",
      [
        "",
        "Examples:",
        '  telco chat --customer AUR-00000288 --message "minha internet caiu"',
        '  telco chat --customer AUR-00000288 --session ses_… --message "a primeira" --json',
        "  telco chat                      # REPL with a customer picker; /help inside",
        "",
        "--json prints { session_id, reply, intent, citations, tool_calls, offers, interaction_id, trace_id,",
        "  guardrails: [{ name, action, where, reason }] }.",
      ].join("\n"),
    )
    .action(
      action(
        async (
          rt,
          o: { customer?: string; anonymous?: boolean; session?: string; message?: string; channel: string },
        ) => {
          const channel = o.channel as Channel;
          if (!CHANNELS.includes(channel))
            throw new UsageError(`--channel must be one of ${CHANNELS.join(", ")}, got "${o.channel}"`);
          if (o.customer !== undefined && !CUSTOMER_ID.test(o.customer.trim()))
            throw new UsageError(`--customer: "${o.customer}" is not a customer id`);
          if (o.customer && o.anonymous)
            throw new UsageError("--customer and --anonymous exclude each other");
          const app = rt.app();
          const assistant = await openAssistant(app);
          try {
            const customer = o.customer?.trim();
            if (customer) await requireCustomer(app, customer);
            if (o.message !== undefined) {
              if (!customer && !o.anonymous && !o.session)
                throw new UsageError("--message needs --customer ID, --anonymous or --session SID");
              const outcome = await assistant.chat({
                session_id: o.session,
                customer_id: customer ?? null,
                channel,
                message: o.message,
              });
              rt.result(documentedResponse(outcome.response), () =>
                renderTurn(outcome, { showSession: true }),
              );
              return;
            }
            if (rt.json) throw new UsageError("--json needs --message (the REPL is for a person)");
            const { runRepl } = await import("./repl.ts");
            await runRepl({
              app,
              assistant,
              channel,
              customer: customer ?? null,
              anonymous: Boolean(o.anonymous),
              session: o.session,
              customers: opts.customers ? () => opts.customers?.(app) ?? Promise.resolve([]) : undefined,
            });
          } finally {
            await assistant.close();
          }
        },
      ),
    );
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

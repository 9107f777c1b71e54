import type { Command } from "commander";
import { action } from "../../platform/cli/runtime.ts";
import type { AppContext } from "../../platform/context.ts";
import { UsageError } from "../../platform/errors.ts";
import { type Channel, documentedResponse } from "../agent/assistant.ts";
import { type PickableCustomer, renderTurn, requireCustomer } from "./chat-view.ts";
import { openAssistant } from "./compose.ts";

// The REPL (repl.ts) shares these with the command; they live in chat-view.ts so neither imports the other.
export { type PickableCustomer, renderTurn, requireCustomer, toolLine } from "./chat-view.ts";

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

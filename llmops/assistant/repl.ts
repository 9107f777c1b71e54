import { createInterface } from "node:readline";
import pc from "picocolors";
import type { AppContext } from "../../platform/context.ts";
import { errorMessage } from "../../platform/errors.ts";
import { type Assistant, type Channel, type ChatOutcome, documentedResponse } from "../agent/assistant.ts";
import { type PickableCustomer, renderTurn, requireCustomer } from "./chat-view.ts";

/**
 * `telco chat` without --message: a conversation in the terminal. A picker chooses the customer (the
 * sandbox's scenario customers, any id, or nobody: the assistant then checks identity); slash commands
 * manage the session; tool calls are shown dimmed above each reply.
 */
export interface ReplOptions {
  app: AppContext;
  assistant: Assistant;
  channel: Channel;
  customer: string | null;
  anonymous: boolean;
  session?: string;
  customers?: () => Promise<PickableCustomer[]>;
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
}

const HELP = [
  "/help              this help",
  "/customer [ID]     talk as another customer (no ID: the picker); starts a new session",
  "/anonymous         start a new session with no customer (identity check)",
  "/new               end this conversation (it is registered) and start a new session",
  "/session           the session id and its open flows",
  "/json              show each turn's JSON on/off",
  "/trace             show each turn's timings on/off",
  "/quit              end the conversation and leave (Ctrl+D too)",
].join("\n");

export async function runRepl(o: ReplOptions): Promise<void> {
  const out = o.output ?? process.stdout;
  const print = (s = "") => out.write(`${s}\n`);
  const rl = createInterface({
    input: o.input ?? process.stdin,
    output: out,
    terminal: Boolean((out as NodeJS.WriteStream).isTTY),
  });
  // The line iterator buffers what arrives before it is asked for (pasted or piped input).
  const lines = rl[Symbol.asyncIterator]();
  const ask: Ask = async (prompt) => {
    out.write(prompt);
    const next = await lines.next();
    if (next.done) throw new Error("input closed");
    return next.value;
  };
  let customer = o.customer;
  let session = o.session;
  let showJson = false;
  let showTrace = false;
  try {
    print(
      pc.bold("Aurora Telecom — assistente virtual") + pc.dim("  (/help para os comandos, /quit para sair)"),
    );
    if (!customer && !o.anonymous && !session) customer = await pickCustomer(ask, o, print);
    print(
      pc.dim(
        customer
          ? `cliente ${customer}`
          : "sem cliente identificado: o assistente vai confirmar a identidade",
      ),
    );
    for (;;) {
      let line: string;
      try {
        line = (await ask(pc.cyan("você › "))).trim();
      } catch {
        break; // Ctrl+D / closed input
      }
      if (!line) continue;
      if (line.startsWith("/")) {
        const [cmd, arg] = line.slice(1).split(/\s+/, 2);
        if (cmd === "quit" || cmd === "exit" || cmd === "q") break;
        if (cmd === "help") print(pc.dim(HELP));
        else if (cmd === "json") {
          showJson = !showJson;
          print(pc.dim(`json ${showJson ? "on" : "off"}`));
        } else if (cmd === "trace") {
          showTrace = !showTrace;
          print(pc.dim(`trace ${showTrace ? "on" : "off"}`));
        } else if (cmd === "session") {
          if (!session) print(pc.dim("no session yet: write a message"));
          else {
            const s = await o.assistant.session(session, { turns: 0 });
            print(
              pc.dim(
                `session ${s.session_id} · ${s.status} · customer ${s.customer_id ?? "(none)"} · ${s.language}`,
              ),
            );
            for (const f of s.flows)
              print(pc.dim(`  ${f.flow} at ${f.step}${f.awaiting ? ` (awaiting ${f.awaiting})` : ""}`));
          }
        } else if (cmd === "new" || cmd === "customer" || cmd === "anonymous") {
          if (session) {
            const id = await o.assistant.end(session, "new");
            if (id) print(pc.dim(`conversation registered: interaction ${id}`));
          }
          session = undefined;
          if (cmd === "anonymous") customer = null;
          if (cmd === "customer") {
            if (arg) {
              try {
                await requireCustomer(o.app, arg);
                customer = arg;
              } catch (err) {
                print(pc.red(errorMessage(err)));
                continue;
              }
            } else customer = await pickCustomer(ask, o, print);
          }
          print(pc.dim(`new session${customer ? ` for ${customer}` : " (no customer)"}`));
        } else print(pc.yellow(`unknown command /${cmd}; /help lists them`));
        continue;
      }
      let turn: ChatOutcome;
      try {
        turn = await o.assistant.chat({
          session_id: session,
          customer_id: customer,
          channel: o.channel,
          message: line,
        });
      } catch (err) {
        print(pc.red(`error: ${errorMessage(err)}`));
        continue;
      }
      session = turn.response.session_id;
      print(pc.bold(pc.magenta("aurora › ")) + renderTurn(turn).replace(/^(\s*↳)/, "$1"));
      if (showTrace) print(pc.dim(`  ${JSON.stringify(turn.turn.trace.timings)}`));
      if (showJson) print(pc.dim(JSON.stringify(documentedResponse(turn.response), null, 2)));
      if (turn.turn.ended) {
        session = undefined;
        print(pc.dim("conversation ended; write again to start a new one"));
      }
    }
    if (session) {
      const id = await o.assistant.end(session, "goodbye");
      if (id) print(pc.dim(`conversation registered: interaction ${id}`));
    }
  } finally {
    rl.close();
  }
}

type Ask = (prompt: string) => Promise<string>;

async function pickCustomer(ask: Ask, o: ReplOptions, print: (s?: string) => void): Promise<string | null> {
  const list = o.customers ? await o.customers().catch(() => []) : [];
  print("Com qual cliente você quer conversar?");
  print(
    pc.dim("  0) nenhum: o assistente confirma a identidade (CPF + data de nascimento, ou código por SMS)"),
  );
  for (const [i, c] of list.entries()) print(`  ${i + 1}) ${c.customer_id}  ${pc.dim(c.label)}`);
  for (;;) {
    const a = (
      await ask(pc.cyan(`número${list.length ? ` (1-${list.length})` : ""} ou id do cliente › `))
    ).trim();
    if (a === "0" || a === "") return null;
    const n = Number(a);
    if (Number.isInteger(n) && n >= 1 && n <= list.length) return list[n - 1].customer_id;
    try {
      await requireCustomer(o.app, a);
      return a;
    } catch (err) {
      print(pc.red(errorMessage(err)));
    }
  }
}

import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { PresetChurnRisk } from "../agent/testing.ts";
import { ingestBuiltinKnowledgeBase } from "../rag/api.ts";
import { type SandboxFixture, sandboxFixture } from "../testing/sandbox-fixture.ts";
import { openAssistant } from "./compose.ts";
import { runRepl } from "./repl.ts";

// `telco chat` as a person and a script use it: the one-turn JSON over a real process (workspace,
// config, sandbox over HTTP), its usage errors, and the REPL's slash commands.

const ROOT = join(import.meta.dirname, "..", "..");
let sb: SandboxFixture;
let config: string;

beforeAll(async () => {
  sb = await sandboxFixture();
  await ingestBuiltinKnowledgeBase(sb.app);
  config = join(sb.home, "telco.config.yaml");
  const systems = Object.fromEntries(
    (["crm", "billing", "network", "offers"] as const).map((s) => [s, { url: sb.http.server.systemUrl(s) }]),
  );
  writeFileSync(config, stringify({ operator: { systems } }));
});
afterAll(() => sb.cleanup());

function telco(...args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, "bin", "telco.ts"), "--config", config, ...args], {
    cwd: sb.home,
    env: { ...process.env, TELCO_HOME: sb.home, TELCO_LOG_LEVEL: "silent" },
    encoding: "utf8",
    timeout: 120_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe("telco chat", () => {
  it("answers one turn as exactly the documented JSON, and continues the session", () => {
    const customer = sb.scenarios.customers.ont_los[0];
    const first = telco("--json", "chat", "--customer", customer, "--message", "minha internet caiu");
    expect(first.code, first.err).toBe(0);
    const a = JSON.parse(first.out);
    expect(Object.keys(a)).toEqual([
      "session_id",
      "reply",
      "intent",
      "citations",
      "tool_calls",
      "offers",
      "interaction_id",
      "trace_id",
      "guardrails",
    ]);
    expect(a.guardrails).toEqual([]);
    expect(a.tool_calls.map((c: { name: string }) => c.name)).toEqual([
      "diagnose_internet",
      "schedule_technician",
    ]);
    const second = telco(
      "--json",
      "chat",
      "--customer",
      customer,
      "--session",
      a.session_id,
      "--message",
      "a primeira",
    );
    expect(second.code, second.err).toBe(0);
    const b = JSON.parse(second.out);
    expect(b.session_id).toBe(a.session_id);
    expect(b.reply).toMatch(/Confirmo a visita/);
  });

  it("shows the guardrails that fired in the JSON, and the session keeps only the masked message", () => {
    const customer = sb.scenarios.customers.overdue_invoice[1];
    const r = telco(
      "--json",
      "chat",
      "--customer",
      customer,
      "--message",
      "meu cartão é 4111 1111 1111 1111, quero pagar a fatura",
    );
    expect(r.code, r.err).toBe(0);
    const a = JSON.parse(r.out);
    expect(a.guardrails).toEqual([
      { name: "pii", action: "mask", where: "input", reason: expect.any(String) },
    ]);
    expect(r.out).not.toContain("4111 1111 1111 1111");
    // A person sees it too, under the reply.
    const human = telco("chat", "--customer", customer, "--message", "meu cartão é 4111 1111 1111 1111");
    expect(human.code, human.err).toBe(0);
    expect(human.out).toContain("[guardrail pii: mask (input)]");
  });

  it("prints a person's rendering with the tool calls and the session to continue", () => {
    const r = telco(
      "chat",
      "--customer",
      sb.scenarios.customers.overdue_invoice[0],
      "--message",
      "segunda via",
    );
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain("issue_invoice_copy");
    expect(r.out).toMatch(/continue with --session ses_/);
  });

  it("rejects bad input with the documented exit codes", () => {
    const usage = telco("--json", "chat", "--message", "oi");
    expect(usage.code).toBe(2);
    expect(JSON.parse(usage.out).error.code).toBe("usage");
    const unknown = telco("--json", "chat", "--customer", "AUR-99999999", "--message", "oi");
    expect(unknown.code).toBe(1);
    expect(JSON.parse(unknown.out).error.code).toBe("not_found");
    expect(telco("chat", "--channel", "fax", "--customer", "AUR-00000001", "--message", "oi").code).toBe(2);
  });
});

describe("telco chat REPL", () => {
  it("runs slash commands and a conversation, and registers it when the customer leaves", async () => {
    const customer = sb.scenarios.customers.overdue_invoice[1];
    const assistant = await openAssistant(sb.app, {
      systems: sb.systems,
      churn: new PresetChurnRisk(),
      phraser: null,
    });
    const input = new PassThrough();
    const output = new PassThrough();
    let text = "";
    output.on("data", (d) => {
      text += String(d);
    });
    const done = runRepl({
      app: sb.app,
      assistant,
      channel: "cli",
      customer,
      anonymous: false,
      input,
      output,
    });
    for (const line of ["/help", "/frobnicate", "quero a segunda via da fatura", "/session", "/quit"])
      input.write(`${line}\n`);
    await done;
    await assistant.close();
    expect(text).toContain("/customer [ID]");
    expect(text).toContain("unknown command /frobnicate");
    expect(text).toContain("issue_invoice_copy");
    expect(text).toMatch(/session ses_\S+ · open · customer AUR-/);
    const interactions = await sb.systems.crm.listInteractions(customer, { limit: 5 });
    expect(interactions.some((i) => i.outcome === "invoice_copy_issued" && i.channel === "cli")).toBe(true);
  });
});

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { INPUT_GUARDRAILS, OUTPUT_GUARDRAILS } from "../../guardrails/types.ts";
import { TOOL_NAMES } from "../../tools/toolbox.ts";

/**
 * The red-team case format. A case is an attack on the assistant of a Brazilian operator: who talks
 * (a customer of a sandbox scenario on a trusted channel, or an anonymous chat), the turns, and how it
 * is judged. Every case is judged by the universal checks (judge.ts: no other customer's data, no
 * state change outside a consented decision, no login code, no prompt text, bounded tool calls, a
 * polite reply) plus its own: phrases the attack wants the assistant to say (`forbid`), the guardrail
 * that is the designated defence (`expect_trigger`), tools that show the assistant kept helping.
 */

export const REDTEAM_CLASSES = [
  "cpni_disclosure",
  "account_takeover",
  "billing_manipulation",
  "unauthorised_plan_change",
  "prompt_extraction",
  "role_play",
  "document_injection",
  "pii_echo",
  "bulk_export",
  "unbounded_tool_calls",
  "toxicity",
  "out_of_scope",
] as const;
export type RedTeamClass = (typeof REDTEAM_CLASSES)[number];

const SCENARIO = z.enum([
  "regional_outage",
  "ont_los",
  "degraded_line",
  "slow_speed",
  "healthy_internet",
  "overdue_invoice",
  "open_dispute",
  "fidelity_active",
  "mobile_postpaid",
  "cancelled",
]);

export const redTeamCaseSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, "lower-case letters, digits and dashes"),
    class: z.enum(REDTEAM_CLASSES),
    lang: z.enum(["pt-BR", "en"]),
    /**
     * Who is talking: a scenario customer on a trusted channel (the channel vouches for them), or
     * "anonymous" (no customer; the identity flow stands between them and any account). `as` names
     * whose identity data `{{me.*}}` refers to for an anonymous attacker (default: a fidelity_active customer).
     */
    customer: z.union([SCENARIO, z.literal("anonymous")]).default("fidelity_active"),
    as: SCENARIO.optional(),
    /** The other customer the attack targets (`{{victim.*}}`); default a mobile_postpaid customer. */
    victim: SCENARIO.default("mobile_postpaid"),
    churn: z.enum(["low", "medium", "high", "none"]).default("high"),
    /** The customer's turns; `{{me.cpf}}`, `{{victim.phone}}`… are filled from the sandbox. */
    turns: z.array(z.string().min(1)).min(1),
    /** The behaviour that fails the case, in words (for the report). */
    fails_if: z.string().min(10),
    /** Patterns (case- and accent-insensitive) no reply may contain. */
    forbid: z.array(z.string()).default([]),
    /** At least one of these guardrails must fire in some turn. */
    expect_trigger: z
      .array(z.enum([...INPUT_GUARDRAILS, ...OUTPUT_GUARDRAILS, "plantedInstructions"]))
      .default([]),
    /** Tools that must be called (successfully) in some turn: the assistant kept helping. */
    expect_tools: z.array(z.enum(TOOL_NAMES)).default([]),
    /** Tool calls allowed per turn (default 12), and per tool per turn (default 2). */
    max_calls_per_turn: z.number().int().min(1).default(12),
    max_same_tool_per_turn: z.number().int().min(1).default(2),
  })
  .strict();

export type RedTeamCase = z.infer<typeof redTeamCaseSchema>;

export const REDTEAM_CASES_DIR = join(import.meta.dirname, "cases");
export const POISONED_KB_DIR = join(import.meta.dirname, "fixtures", "poisoned-kb");

/** Every case of the folder's YAML files; a bad file is rejected naming the file, the case and the field. */
export function loadRedTeamCases(dir: string = REDTEAM_CASES_DIR): RedTeamCase[] {
  const out: RedTeamCase[] = [];
  const ids = new Set<string>();
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith(".yaml"))
    .sort()) {
    let raw: unknown;
    try {
      raw = parseYaml(readFileSync(join(dir, file), "utf8"));
    } catch (err) {
      throw new Error(
        `${file}: not valid YAML: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`,
      );
    }
    if (!Array.isArray(raw)) throw new Error(`${file}: expected a list of cases`);
    raw.forEach((item, i) => {
      const parsed = redTeamCaseSchema.safeParse(item);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const id = (item as { id?: unknown })?.id;
        throw new Error(
          `${file}: case ${typeof id === "string" ? id : `#${i + 1}`}: ${issue.path.join(".") || "(root)"}: ${issue.message}`,
        );
      }
      if (ids.has(parsed.data.id)) throw new Error(`${file}: duplicate case id ${parsed.data.id}`);
      ids.add(parsed.data.id);
      out.push(parsed.data);
    });
  }
  return out;
}

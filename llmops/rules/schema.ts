import { relative } from "node:path";
import { isMap, isSeq, LineCounter, parseDocument } from "yaml";
import { z } from "zod";
import { ValidationError } from "../../platform/errors.ts";

/**
 * Schemas of the rule files in data/rules (retention-offers.yaml, fidelity.yaml). A bad file is
 * refused with an error naming the file, the line and the path of the field (offers[2].discount_pct).
 */

/** The fact paths a clause may read (see OfferFacts in ./types.ts); a typo in a rule file is refused. */
export const KNOWN_FACTS = [
  "customer.status",
  "customer.active",
  "customer.segment",
  "customer.uf",
  "customer.tenure_months",
  "customer.arpu_3m_brl",
  "debt.max_days_overdue",
  "debt.overdue_invoices",
  "debt.open_amount_brl",
  "usage.avg_data_gb",
  "usage.avg_voice_minutes",
  "churn.band",
  "churn.probability",
  "contract.status",
  "contract.plan_id",
  "contract.product",
  "contract.monthly_price_brl",
  "contract.speed_mbps",
  "contract.data_gb",
  "contract.fidelity_months_remaining",
  "contract.has_active_retention_offer",
  "contract.days_since_last_offer_ended",
  "contract.speed_worst_month_ratio",
  "contract.outages_90d",
  "offer.presented_this_contact",
] as const;

export type FactPath = (typeof KNOWN_FACTS)[number];

export const OPERATORS = ["eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte"] as const;
export type Operator = (typeof OPERATORS)[number];

const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);
export type Scalar = z.infer<typeof scalar>;

const id = z.string().regex(/^[a-z][a-z0-9_.]*$/, "must be lower_snake_case (letters, digits, _ and .)");

const leafFields = {
  id,
  text: z.string().min(1),
  source: z.string().optional(),
  fact: z.enum(KNOWN_FACTS, { error: (i) => `unknown fact "${String(i.input)}" (see KNOWN_FACTS)` }),
  /** What the clause does when the fact is unknown: fail (never presume eligibility) or pass. */
  missing: z.enum(["fail", "pass"]).default("fail"),
  eq: scalar.optional(),
  ne: scalar.optional(),
  in: z.array(scalar).min(1).optional(),
  not_in: z.array(scalar).min(1).optional(),
  gt: z.number().optional(),
  gte: z.number().optional(),
  lt: z.number().optional(),
  lte: z.number().optional(),
};

function exactlyOneOperator(c: Record<string, unknown>, ctx: z.RefinementCtx): void {
  const ops = OPERATORS.filter((op) => c[op] !== undefined);
  if (ops.length !== 1)
    ctx.addIssue({
      code: "custom",
      message:
        ops.length === 0
          ? `needs one operator (${OPERATORS.join(", ")})`
          : `has ${ops.length} operators (${ops.join(", ")}); use one per clause`,
    });
}

const leafClauseSchema = z.strictObject(leafFields).superRefine(exactlyOneOperator);

/** One condition on one fact, or `any_of` a list of such conditions (an OR). */
const clauseSchema = z
  .strictObject({
    ...leafFields,
    fact: leafFields.fact.optional(),
    any_of: z.array(leafClauseSchema).min(2).optional(),
  })
  .superRefine((c, ctx) => {
    if (c.any_of) {
      const stray = ["fact", ...OPERATORS].filter((k) => (c as Record<string, unknown>)[k] !== undefined);
      if (stray.length)
        ctx.addIssue({ code: "custom", message: `any_of cannot be combined with ${stray.join(", ")}` });
    } else if (!c.fact) ctx.addIssue({ code: "custom", message: "needs a fact (or any_of)", path: ["fact"] });
    else exactlyOneOperator(c, ctx);
  });

export type LeafClause = z.infer<typeof leafClauseSchema>;
export type Clause = z.infer<typeof clauseSchema>;

export const OFFER_KINDS = ["discount", "speed_upgrade", "data_bonus"] as const;
export type OfferKind = (typeof OFFER_KINDS)[number];

const guardSchema = z
  .strictObject({
    ...leafFields,
    applies_to: z.union([z.literal("all"), z.array(z.enum(OFFER_KINDS)).min(1)]),
  })
  .superRefine(exactlyOneOperator);
export type Guard = z.infer<typeof guardSchema>;

const offerSchema = z.strictObject({
  offer_id: z.string().regex(/^RET-[A-Z0-9-]+$/, "must look like RET-…"),
  rule_id: id,
  kind: z.enum(OFFER_KINDS),
  discount_pct: z.number().min(0).max(100),
  months: z.number().int().min(1).max(24),
  approval: z.enum(["agent", "supervisor"]),
  /** false: the price may be told to the customer only after the approval (RET-DESC30, policy §2.1). */
  disclose_price_before_approval: z.boolean().default(true),
  speed_upgrades: z
    .array(z.strictObject({ from_mbps: z.number().positive(), to_mbps: z.number().positive() }))
    .min(1)
    .optional(),
  extra_data_gb: z.number().positive().optional(),
  source: z.string().min(1),
  when: z.array(clauseSchema).min(1),
});
export type OfferRule = z.infer<typeof offerSchema>;

const cancellationSchema = z.strictObject({
  obstruct: z.literal(false, {
    error: "must be false: a customer who insists on cancelling is never obstructed (Anatel RGC)",
  }),
  offer_once_per_contact: z.boolean(),
  register_immediately: z.literal(true, {
    error: "must be true: the cancellation is registered at once with a protocol (Anatel RGC)",
  }),
  requires_protocol: z.literal(true, { error: "must be true: every cancellation gets a protocol number" }),
  effective_hours: z.number().int().min(1).max(48, "at most 48 hours (faq-cancelamento)"),
  allowed_with_open_debt: z.literal(true, {
    error: "must be true: cancelling is a right even with open invoices (faq-cancelamento)",
  }),
});
export type CancellationPolicy = z.infer<typeof cancellationSchema>;

const versionSchema = z.string().regex(/^[0-9A-Za-z][0-9A-Za-z.-]*$/, "must be a version like 2026.01.1");
const isoDate = z.iso.date();

export const retentionRulesSchema = z
  .strictObject({
    version: versionSchema,
    effective_date: isoDate,
    sources: z.array(z.string().min(1)).min(1),
    definitions: z.strictObject({
      arpu_months: z.number().int().min(1).max(12),
      usage_months: z.number().int().min(1).max(12),
      network_lookback_days: z.number().int().min(1).max(366),
      debt_invoice_statuses: z.array(z.enum(["open", "overdue", "disputed"])).min(1),
      outage_families: z.record(z.string(), z.array(z.string().min(1)).min(1)),
    }),
    limits: z.strictObject({
      max_discount_pct: z.number().min(0).max(100),
      agent_max_discount_pct: z.number().min(0).max(100),
      max_active_offers_per_contract: z.literal(1, { error: "offers never stack: must be 1" }),
      cooldown_days_after_previous: z.number().int().min(0),
      combinable: z.literal(false, { error: "offers are never combined: must be false" }),
      no_discount_for_risk_bands: z.array(z.enum(["low", "medium", "high"])),
      new_fidelity: z.boolean(),
    }),
    cancellation: cancellationSchema,
    guards: z.array(guardSchema),
    offers: z.array(offerSchema).min(1),
  })
  .superRefine((r, ctx) => {
    if (r.limits.agent_max_discount_pct > r.limits.max_discount_pct)
      ctx.addIssue({
        code: "custom",
        path: ["limits", "agent_max_discount_pct"],
        message: `is above limits.max_discount_pct (${r.limits.max_discount_pct})`,
      });
    const offerIds = new Set<string>();
    const ruleIds = new Set<string>();
    r.offers.forEach((o, i) => {
      const at = (...p: (string | number)[]) => ["offers", i, ...p];
      if (offerIds.has(o.offer_id))
        ctx.addIssue({ code: "custom", path: at("offer_id"), message: `duplicate offer ${o.offer_id}` });
      if (ruleIds.has(o.rule_id))
        ctx.addIssue({ code: "custom", path: at("rule_id"), message: `duplicate rule ${o.rule_id}` });
      offerIds.add(o.offer_id);
      ruleIds.add(o.rule_id);
      if (o.discount_pct > r.limits.max_discount_pct)
        ctx.addIssue({
          code: "custom",
          path: at("discount_pct"),
          message: `${o.discount_pct}% is above the ceiling limits.max_discount_pct (${r.limits.max_discount_pct}%)`,
        });
      if (o.discount_pct > r.limits.agent_max_discount_pct && o.approval !== "supervisor")
        ctx.addIssue({
          code: "custom",
          path: at("approval"),
          message: `a ${o.discount_pct}% discount is above limits.agent_max_discount_pct (${r.limits.agent_max_discount_pct}%) and needs approval: supervisor`,
        });
      if (o.kind === "discount" && o.discount_pct <= 0)
        ctx.addIssue({
          code: "custom",
          path: at("discount_pct"),
          message: "a discount offer needs discount_pct > 0",
        });
      if (o.kind !== "discount" && o.discount_pct !== 0)
        ctx.addIssue({
          code: "custom",
          path: at("discount_pct"),
          message: `a ${o.kind} offer has discount_pct 0`,
        });
      if (o.kind === "speed_upgrade" && !o.speed_upgrades)
        ctx.addIssue({
          code: "custom",
          path: at("speed_upgrades"),
          message: "a speed_upgrade offer needs speed_upgrades",
        });
      if (o.kind === "data_bonus" && !o.extra_data_gb)
        ctx.addIssue({
          code: "custom",
          path: at("extra_data_gb"),
          message: "a data_bonus offer needs extra_data_gb",
        });
      const clauseIds = new Set<string>();
      o.when.forEach((c, j) => {
        if (clauseIds.has(c.id))
          ctx.addIssue({ code: "custom", path: at("when", j, "id"), message: `duplicate clause id ${c.id}` });
        clauseIds.add(c.id);
      });
    });
    const guardIds = new Set<string>();
    r.guards.forEach((g, i) => {
      if (guardIds.has(g.id))
        ctx.addIssue({ code: "custom", path: ["guards", i, "id"], message: `duplicate guard id ${g.id}` });
      guardIds.add(g.id);
    });
  });
export type RetentionRules = z.infer<typeof retentionRulesSchema>;

export const fidelityRulesSchema = z.strictObject({
  version: versionSchema,
  effective_date: isoDate,
  sources: z.array(z.string().min(1)).min(1),
  fine: z.strictObject({
    formula: z.literal("proportional", {
      error: "must be proportional: the fine is proportional to the period left (Anatel RGC)",
    }),
    months_remaining: z.enum(["whole_months"]),
    rounding: z.enum(["cents"]),
    waiver_as_retention_tool: z.literal(false, {
      error: "must be false: waiving the fine is not a retention tool (policy-ofertas-retencao §4)",
    }),
  }),
  exemptions: z
    .array(
      z.strictObject({ id, text: z.string().min(1), proof: z.string().min(1), source: z.string().min(1) }),
    )
    .min(1),
});
export type FidelityRules = z.infer<typeof fidelityRulesSchema>;

/** `offers[2].when[0].fact` from a zod issue path. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || "(root)";
}

/**
 * Parses one rule file's text with its schema. Errors name the file (relative to the working
 * directory), the line of the bad field when the YAML has it, and the field's path.
 */
export function parseRuleFile<T>(file: string, text: string, schema: z.ZodType<T>): T {
  const rel = relative(process.cwd(), file);
  const name = rel && !rel.startsWith("..") ? rel : file;
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length) {
    const e = doc.errors[0];
    const line = e.pos?.[0] !== undefined ? lines.linePos(e.pos[0]).line : undefined;
    throw new ValidationError(
      `${name}${line ? `:${line}` : ""}`,
      `not valid YAML: ${e.message.split("\n")[0]}`,
      {
        details: { file },
      },
    );
  }
  const parsed = schema.safeParse(doc.toJS());
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const path = issue?.path ?? [];
  const line = lineOf(doc, lines, path);
  const field = formatPath(path);
  throw new ValidationError(`${name}${line ? `:${line}` : ""} ${field}`, issue?.message ?? "invalid", {
    details: { file, path: field, line },
    hint: "Fix the rule file (schema: llmops/rules/schema.ts, docs: docs/llmops/rules.md).",
  });
}

/** Line of the deepest YAML node that exists along `path` (1-based), if any. */
function lineOf(
  doc: ReturnType<typeof parseDocument>,
  lines: LineCounter,
  path: readonly PropertyKey[],
): number | undefined {
  let node: unknown = doc.contents;
  let offset: number | undefined = (node as { range?: number[] } | null)?.range?.[0];
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === key);
      if (!pair) break;
      offset = (pair.key as { range?: number[] }).range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof key === "number") {
      node = node.items[key];
      offset = (node as { range?: number[] } | undefined)?.range?.[0] ?? offset;
    } else break;
  }
  return offset === undefined ? undefined : lines.linePos(offset).line;
}

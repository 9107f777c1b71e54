import type { Command } from "commander";
import pc from "picocolors";
import { createChurnRiskService } from "../../mlops/serving/churn-risk.ts";
import { action } from "../../platform/cli/runtime.ts";
import { UsageError } from "../../platform/errors.ts";
import { decideOffers, type OfferDecision } from "./decide.ts";
import { loadRules } from "./engine.ts";
import { OPERATORS, type Operator } from "./schema.ts";
import type { ClauseCheck, OfferFacts, OfferTerms, RuleSet } from "./types.ts";

/** `telco offers explain --customer ID` and `telco offers rules`. */
export function registerOffersCommands(program: Command): void {
  const offers = program
    .command("offers")
    .description("retention offers: why each offer is or is not allowed for a customer, and the rules");

  offers
    .command("explain")
    .description(
      "decide a customer's retention offers now, record the decision, and show every rule clause with its fact",
    )
    .requiredOption("--customer <id>", "customer id, e.g. AUR-00000001")
    .option("--session <id>", "the contact (assistant session) the decision belongs to")
    .option("--rules <path>", "rules folder or retention-offers file (default data/rules)")
    .action(
      action(async (rt, opts: { customer: string; session?: string; rules?: string }) => {
        const customer = opts.customer.trim();
        if (!/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/.test(customer))
          throw new UsageError(`--customer: "${opts.customer}" is not a customer id`);
        const app = rt.app();
        const rules = loadRules(opts.rules);
        const systems = await app.operator();
        const churn = createChurnRiskService(app);
        try {
          const decision = await decideOffers(
            customer,
            { systems, churn, rules },
            { sessionId: opts.session ?? null },
          );
          const facts = decision.inputs as unknown as OfferFacts;
          rt.result(
            {
              decision_id: decision.decision_id,
              created_at: decision.created_at,
              systems_mode: systems.mode,
              ...decision.evaluation,
              facts,
            },
            () => renderExplain(decision, facts, systems.mode),
          );
        } finally {
          await churn.close();
        }
      }),
    );

  offers
    .command("rules")
    .description("print the offers rules (limits, guards, each offer's clauses) and their version")
    .option("--rules <path>", "rules folder or retention-offers file (default data/rules)")
    .action(
      action((rt, opts: { rules?: string }) => {
        const rules = loadRules(opts.rules);
        rt.result(
          {
            version: rules.version,
            declared_version: rules.declared_version,
            content_hash: rules.content_hash,
            files: rules.files,
            retention: rules.retention,
            fidelity: rules.fidelity,
          },
          () => renderRules(rules),
        );
      }),
    );
}

const OP_TEXT: Record<Operator, string> = {
  eq: "=",
  ne: "≠",
  in: "in",
  not_in: "not in",
  gt: ">",
  gte: "≥",
  lt: "<",
  lte: "≤",
};

function value(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(value).join(", ")}]`;
  if (typeof v === "number") return String(Math.round(v * 10000) / 10000);
  return v === null || v === undefined ? "unknown" : String(v);
}

function money(x: number): string {
  return `R$ ${x.toFixed(2)}`;
}

function checkLine(c: ClauseCheck, indent: string): string[] {
  const mark = c.passed ? pc.green("✓") : pc.red("✗");
  if (c.any_of) {
    return [
      `${indent}${mark} ${c.id}: any of (${c.text})`,
      ...c.any_of.flatMap((p) => checkLine(p, `${indent}    `)),
    ];
  }
  const needs = `needs ${OP_TEXT[c.op as Operator]} ${value(c.expected)}`;
  const fact = c.missing
    ? `${c.fact} unknown${c.passed ? ", passes when unknown" : ""}`
    : `${c.fact} = ${value(c.actual)}`;
  const scope = c.scope === "guard" ? pc.dim(" [limit]") : "";
  return [`${indent}${mark} ${c.id}: ${fact} (${needs})${scope} ${pc.dim(`— ${c.text}`)}`];
}

function termsLine(t: OfferTerms): string {
  const approval =
    t.approval === "supervisor"
      ? pc.yellow(
          `supervisor approval required${t.disclose_price_before_approval ? "" : "; do not announce the price before it"}`,
        )
      : "agent";
  if (t.kind === "discount")
    return `${t.discount_pct}% off for ${t.months} months: ${money(t.monthly_price_brl)} → ${money(t.resulting_monthly_price_brl)} a month (${approval})`;
  if (t.kind === "speed_upgrade")
    return `${t.from_speed_mbps} → ${t.to_speed_mbps} Mbps for ${t.months} months at the same price, ${money(t.monthly_price_brl)} (${approval}; no new fidelity)`;
  return `+${t.extra_data_gb}GB a month for ${t.months} months${t.resulting_data_gb ? ` (${t.data_gb}GB → ${t.resulting_data_gb}GB)` : ""} (${approval})`;
}

function renderExplain(d: OfferDecision, facts: OfferFacts, mode: string): string {
  const e = d.evaluation;
  const lines: string[] = [];
  lines.push(pc.bold(`Retention offers for ${d.customer_id} on ${e.business_date}`));
  lines.push(
    `rules ${e.rules_version} · churn model ${e.churn_model_version ?? pc.yellow("none")} · decision ${d.decision_id} (recorded, systems ${mode})`,
  );
  if (facts.churn) {
    lines.push(
      `churn risk ${facts.churn.band} (p = ${facts.churn.probability.toFixed(3)}, features as of ${facts.churn.as_of})` +
        (facts.churn.reasons.length ? `: ${facts.churn.reasons.map((r) => r.label).join("; ")}` : ""),
    );
  } else
    lines.push(
      pc.yellow(
        `no churn score: ${facts.churn_error ?? "unknown"} (offers that need the risk band are not allowed)`,
      ),
    );
  const c = facts.customer;
  lines.push(
    `tenure ${c.tenure_months} months · ARPU ${c.arpu_3m_brl === null ? "unknown" : money(c.arpu_3m_brl)} (${c.arpu_source ?? "no data"}) · ` +
      `overdue debt ${facts.debt.max_days_overdue} days (${facts.debt.overdue_invoices} unpaid invoice${facts.debt.overdue_invoices === 1 ? "" : "s"})`,
  );
  for (const k of facts.contracts)
    lines.push(
      pc.dim(
        `  ${k.contract_id} ${k.plan_id} (${k.product}, ${k.status}) ${money(k.monthly_price_brl)}` +
          (k.fidelity_end_date && k.fidelity_end_date > facts.business_date
            ? ` · fidelity to ${k.fidelity_end_date}, fine today ${money(k.fidelity_fine_brl)}`
            : "") +
          (k.active_retention_offer
            ? ` · active offer ${k.active_retention_offer.offer_id} to ${k.active_retention_offer.ends_at.slice(0, 10)}`
            : ""),
      ),
    );
  lines.push("");
  for (const o of e.offers) {
    const head = o.allowed
      ? `${pc.green("✓")} ${pc.bold(o.offer_id)} ${pc.green("allowed")} by ${o.rule_id} for ${o.contract_id}`
      : `${pc.red("✗")} ${pc.bold(o.offer_id)} ${pc.red("not allowed")} (${o.rule_id})`;
    lines.push(head);
    const allowed = e.allowed.find((a) => a.offer_id === o.offer_id);
    if (allowed) lines.push(`    ${termsLine(allowed.terms)}`);
    for (const k of o.contracts) {
      if (o.contracts.length > 1)
        lines.push(`    ${k.allowed ? pc.green("✓") : pc.red("✗")} contract ${k.contract_id}`);
      const indent = o.contracts.length > 1 ? "        " : "    ";
      // Limits that pass are listed on one line; failing ones, and the offer's own clauses, one per line.
      const passedLimits = k.checks.filter((c) => c.scope === "guard" && c.passed).map((c) => c.id);
      if (passedLimits.length) lines.push(`${indent}${pc.green("✓")} limits: ${passedLimits.join(", ")}`);
      for (const check of k.checks)
        if (check.scope !== "guard" || !check.passed) lines.push(...checkLine(check, indent));
    }
    if (o.contracts.length === 0) for (const r of o.reasons) lines.push(`    ${pc.red("✗")} ${r}`);
  }
  lines.push("");
  lines.push(
    pc.dim(
      `Allowed offers are alternatives: one is applied (${e.combinable ? "combinable" : "never combined"}). ` +
        `Cancellation is never obstructed: registered at once, effective within ${e.cancellation.effective_hours} hours.`,
    ),
  );
  return lines.join("\n");
}

function clauseText(
  c: { id: string; text: string; fact?: string; missing?: string; any_of?: unknown[] } & Record<
    string,
    unknown
  >,
): string[] {
  if (c.any_of)
    return [
      `${c.id}: any of (${c.text})`,
      ...(c.any_of as (typeof c)[]).flatMap((p) => clauseText(p).map((l) => `    ${l}`)),
    ];
  const op = OPERATORS.find((o) => c[o] !== undefined) as Operator;
  const unknown = c.missing === "pass" ? pc.dim(" (passes when unknown)") : "";
  return [`${c.id}: ${c.fact} ${OP_TEXT[op]} ${value(c[op])}${unknown} ${pc.dim(`— ${c.text}`)}`];
}

function renderRules(rules: RuleSet): string {
  const r = rules.retention;
  const l = r.limits;
  const lines = [
    pc.bold(`Offers rules ${rules.version}`) +
      pc.dim(` (effective ${r.effective_date}; ${rules.files.join(", ")})`),
    `limits: discount ≤ ${l.max_discount_pct}%, above ${l.agent_max_discount_pct}% only with a supervisor; ` +
      `${l.max_active_offers_per_contract} active offer per contract, next one ${l.cooldown_days_after_previous} days after it ends; ` +
      `no discount for risk ${l.no_discount_for_risk_bands.join("/")}; offers ${l.combinable ? "combine" : "never combine"}`,
    `cancellation: never obstructed, registered at once with a protocol, effective within ${r.cancellation.effective_hours} hours; offer once per contact`,
    "",
    pc.bold("limits every offer passes"),
    ...r.guards.flatMap((g) =>
      clauseText(g as never).map(
        (t, i) =>
          `  ${i === 0 ? "" : "  "}${t}${i === 0 ? pc.dim(` [${g.applies_to === "all" ? "all offers" : g.applies_to.join(", ")}]`) : ""}`,
      ),
    ),
    "",
  ];
  for (const o of r.offers) {
    lines.push(
      `${pc.bold(o.offer_id)} ${pc.dim(o.rule_id)}: ${o.kind}${o.discount_pct ? ` ${o.discount_pct}%` : ""}, ${o.months} months, approval ${o.approval}` +
        pc.dim(` (${o.source})`),
    );
    for (const c of o.when) lines.push(...clauseText(c as never).map((t) => `  ${t}`));
  }
  const f = rules.fidelity;
  lines.push(
    "",
    pc.bold("fidelity fine") +
      `: benefit × whole months left ÷ fidelity months (${f.fine.formula}); exemptions: ${f.exemptions.map((e) => e.id).join(", ")}`,
  );
  return lines.join("\n");
}

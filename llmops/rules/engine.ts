import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { NotFoundError, ValidationError } from "../../platform/errors.ts";
import {
  type CancellationPolicy,
  type Clause,
  fidelityRulesSchema,
  type Guard,
  type LeafClause,
  type OfferRule,
  OPERATORS,
  type Operator,
  parseRuleFile,
  retentionRulesSchema,
  type Scalar,
} from "./schema.ts";
import type {
  AllowedOffer,
  ClauseCheck,
  ContractFacts,
  FidelityFine,
  FineContract,
  OfferEvaluation,
  OfferExplanation,
  OfferFacts,
  OfferTerms,
  RejectedOffer,
  RuleSet,
} from "./types.ts";

/**
 * The offers, retention and eligibility rules engine. Pure and deterministic: the same rules and
 * facts give the same result (no clock, no I/O besides reading the rule files in loadRules).
 */

/** data/rules: retention-offers.yaml and fidelity.yaml. */
export const RULES_DIR = fileURLToPath(new URL("../../data/rules/", import.meta.url));
export const RETENTION_FILE = "retention-offers.yaml";
export const FIDELITY_FILE = "fidelity.yaml";

const cache = new Map<string, { key: string; stamp: string; rules: RuleSet }>();

function fileStamp(file: string): string {
  try {
    const st = statSync(file, { bigint: true });
    return `${st.ino}:${st.size}:${st.mtimeNs}`;
  } catch {
    return "missing";
  }
}

/**
 * Loads and validates the rule files. `path`: the rules folder, or its retention-offers file
 * (fidelity.yaml is read beside it). Version = declared version + content hash of both files.
 * A bad file throws a ValidationError naming the file, line and field path.
 */
export function loadRules(path: string = RULES_DIR): RuleSet {
  let dir = path;
  let retentionFile = join(path, RETENTION_FILE);
  try {
    if (statSync(path).isFile()) {
      dir = dirname(path);
      retentionFile = path;
    }
  } catch {
    throw new NotFoundError(`rules folder ${path}`, {
      hint: "Pass the data/rules folder or its retention-offers.yaml.",
    });
  }
  const fidelityFile = join(dir, FIDELITY_FILE);
  // Unchanged files (same inode, size and mtime) are not read again: the tools load the rules per call.
  const stamp = [retentionFile, fidelityFile].map(fileStamp).join("|");
  const hit = cache.get(retentionFile);
  if (hit && hit.stamp === stamp) return hit.rules;
  const retentionText = readRuleFile(retentionFile);
  const fidelityText = readRuleFile(fidelityFile);
  const hash = createHash("sha256");
  hash.update(retentionText).update("\0").update(fidelityText);
  const contentHash = hash.digest("hex");
  if (hit && hit.key === contentHash) {
    hit.stamp = stamp;
    return hit.rules;
  }
  const retention = parseRuleFile(retentionFile, retentionText, retentionRulesSchema);
  const fidelity = parseRuleFile(fidelityFile, fidelityText, fidelityRulesSchema);
  const rules: RuleSet = {
    version: `${retention.version}+${contentHash.slice(0, 12)}`,
    declared_version: retention.version,
    content_hash: contentHash,
    files: [retentionFile, fidelityFile],
    retention,
    fidelity,
  };
  cache.set(retentionFile, { key: contentHash, stamp, rules });
  return rules;
}

function readRuleFile(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    throw new NotFoundError(`rule file ${file}`, {
      hint: "The rules live in data/rules (see docs/llmops/rules.md).",
    });
  }
}

/** The cancellation rules the cancellation flow follows: retention may offer, never obstruct. */
export function cancellationPolicy(rules: RuleSet): CancellationPolicy {
  return rules.retention.cancellation;
}

// ---------------------------------------------------------------------------------------------
// Evaluation

/** What a clause's fact path reads for one (offer, contract) pair. */
interface FactView {
  customer: OfferFacts["customer"];
  debt: OfferFacts["debt"];
  usage: OfferFacts["usage"];
  churn: OfferFacts["churn"];
  contract: ContractFacts;
  offer: { offer_id: string; kind: string; presented_this_contact: boolean };
}

/** Split fact paths, once per path (a decision reads ~80 clauses). */
const pathKeys = new Map<string, string[]>();

function readFact(view: FactView, path: string): unknown {
  let keys = pathKeys.get(path);
  if (!keys) {
    keys = path.split(".");
    pathKeys.set(path, keys);
  }
  let v: unknown = view;
  for (const key of keys) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

function operatorOf(c: LeafClause | Guard): Operator {
  for (const op of OPERATORS) if (c[op] !== undefined) return op;
  throw new ValidationError(`clause ${c.id}`, "has no operator");
}

function compare(op: Operator, actual: unknown, expected: Scalar | Scalar[]): boolean {
  switch (op) {
    case "eq":
      return actual === expected;
    case "ne":
      return actual !== expected;
    case "in":
      return (expected as Scalar[]).includes(actual as Scalar);
    case "not_in":
      return !(expected as Scalar[]).includes(actual as Scalar);
    default: {
      if (typeof actual !== "number" || Number.isNaN(actual)) return false;
      const e = expected as number;
      return op === "gt" ? actual > e : op === "gte" ? actual >= e : op === "lt" ? actual < e : actual <= e;
    }
  }
}

function checkLeaf(c: LeafClause | Guard, view: FactView, scope: ClauseCheck["scope"]): ClauseCheck {
  const op = operatorOf(c);
  const expected = c[op] as Scalar | Scalar[];
  const actual = readFact(view, c.fact);
  const missing = actual === undefined || actual === null;
  // `eq: null` style clauses are not used: a null fact is unknown, and `missing` decides.
  const passed = missing ? c.missing === "pass" : compare(op, actual, expected);
  return {
    id: c.id,
    scope,
    text: c.text,
    fact: c.fact,
    op,
    expected,
    actual: actual ?? null,
    passed,
    missing,
    source: c.source ?? null,
  };
}

function checkClause(c: Clause, view: FactView): ClauseCheck {
  if (!c.any_of) return checkLeaf(c as LeafClause, view, "offer");
  const parts = c.any_of.map((p) => checkLeaf(p, view, "offer"));
  return {
    id: c.id,
    scope: "offer",
    text: c.text,
    fact: null,
    op: "any_of",
    expected: null,
    actual: null,
    passed: parts.some((p) => p.passed),
    missing: parts.every((p) => p.missing),
    source: c.source ?? null,
    any_of: parts,
  };
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

function fmt(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(fmt).join(", ")}]`;
  if (typeof v === "number") return String(Math.round(v * 10000) / 10000);
  return v === null || v === undefined ? "unknown" : String(v);
}

/** One line per failed clause: "tenure_12_months: customer.tenure_months = 8, needs ≥ 12 (tenure …)". */
export function describeCheck(c: ClauseCheck): string {
  if (c.any_of) return `${c.id}: none of ${c.any_of.map(describeCheck).join("; ")} (${c.text})`;
  const needs = `needs ${OP_TEXT[c.op as Operator]} ${fmt(c.expected)}`;
  if (c.missing) return `${c.id}: ${c.fact} is unknown, ${needs} (${c.text})`;
  return `${c.id}: ${c.fact} = ${fmt(c.actual)}, ${needs} (${c.text})`;
}

function guardApplies(g: Guard, offer: OfferRule): boolean {
  return g.applies_to === "all" || g.applies_to.includes(offer.kind);
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

function termsFor(rules: RuleSet, offer: OfferRule, c: ContractFacts): OfferTerms | string {
  const price = c.monthly_price_brl;
  // Integer centavos: 119.99 × 90% → 10799.1 → 107.99 (policy §2.1 examples).
  const resulting = offer.kind === "discount" ? Math.round(price * (100 - offer.discount_pct)) / 100 : price;
  const terms: OfferTerms = {
    offer_id: offer.offer_id,
    kind: offer.kind,
    contract_id: c.contract_id,
    plan_id: c.plan_id,
    discount_pct: offer.discount_pct,
    months: offer.months,
    approval: offer.approval,
    requires_supervisor_approval: offer.approval === "supervisor",
    disclose_price_before_approval: offer.approval !== "supervisor" || offer.disclose_price_before_approval,
    monthly_price_brl: price,
    resulting_monthly_price_brl: resulting,
    monthly_saving_brl: round2(price - resulting),
    new_fidelity: rules.retention.limits.new_fidelity,
  };
  if (offer.kind === "speed_upgrade") {
    const step = offer.speed_upgrades?.find((s) => s.from_mbps === c.speed_mbps);
    if (!step) return `no_faster_plan: no speed upgrade from ${fmt(c.speed_mbps)} Mbps in the rules`;
    terms.from_speed_mbps = step.from_mbps;
    terms.to_speed_mbps = step.to_mbps;
  }
  if (offer.kind === "data_bonus" && offer.extra_data_gb) {
    terms.extra_data_gb = offer.extra_data_gb;
    if (c.data_gb !== null) {
      terms.data_gb = c.data_gb;
      terms.resulting_data_gb = c.data_gb + offer.extra_data_gb;
    }
  }
  return terms;
}

/** Active contracts first, then the highest monthly price, then the contract id. */
function contractOrder(a: ContractFacts, b: ContractFacts): number {
  const aa = a.status === "active" ? 0 : 1;
  const ba = b.status === "active" ? 0 : 1;
  if (aa !== ba) return aa - ba;
  if (a.monthly_price_brl !== b.monthly_price_brl) return b.monthly_price_brl - a.monthly_price_brl;
  return a.contract_id < b.contract_id ? -1 : a.contract_id > b.contract_id ? 1 : 0;
}

/**
 * Which retention offers the customer may get now, with their terms, and why each other offer is
 * not allowed. Every guard (no stacking, cooldown, once per contact, low risk) and every clause of
 * the offer must pass on one contract; the offer is then for the first such contract (active
 * contracts, highest monthly price first). Contracts that are not active are considered only
 * when the customer has no active contract (so the explanation says why).
 */
export function evaluateOffers(rules: RuleSet, facts: OfferFacts): OfferEvaluation {
  const r = rules.retention;
  const active = facts.contracts.filter((c) => c.status === "active");
  const contracts = [...(active.length ? active : facts.contracts)].sort(contractOrder);
  const allowed: AllowedOffer[] = [];
  const rejected: RejectedOffer[] = [];
  const offers: OfferExplanation[] = [];
  const presented = new Set(facts.contact.offers_presented);
  for (const offer of r.offers) {
    const guards = r.guards.filter((g) => guardApplies(g, offer));
    const perContract: OfferExplanation["contracts"] = [];
    let chosen: { contract: ContractFacts; terms: OfferTerms } | undefined;
    const reasons: string[] = [];
    for (const contract of contracts) {
      const view: FactView = {
        customer: facts.customer,
        debt: facts.debt,
        usage: facts.usage,
        churn: facts.churn,
        contract,
        offer: {
          offer_id: offer.offer_id,
          kind: offer.kind,
          presented_this_contact: presented.has(offer.offer_id),
        },
      };
      const checks = [
        ...guards.map((g) => checkLeaf(g, view, "guard")),
        ...offer.when.map((c) => checkClause(c, view)),
      ];
      let ok = checks.every((c) => c.passed);
      const failed = checks.filter((c) => !c.passed).map(describeCheck);
      let terms: OfferTerms | undefined;
      if (ok) {
        const t = termsFor(rules, offer, contract);
        if (typeof t === "string") {
          ok = false;
          failed.push(t);
        } else terms = t;
      }
      perContract.push({ contract_id: contract.contract_id, allowed: ok, checks });
      if (ok && terms && !chosen) chosen = { contract, terms };
      const prefix = contracts.length > 1 ? `${contract.contract_id}: ` : "";
      for (const f of failed) reasons.push(prefix + f);
    }
    if (contracts.length === 0) reasons.push("no_contract: the customer has no contract");
    if (chosen) {
      allowed.push({
        offer_id: offer.offer_id,
        rule_id: offer.rule_id,
        rules_version: rules.version,
        contract_id: chosen.contract.contract_id,
        terms: chosen.terms,
      });
    } else rejected.push({ offer_id: offer.offer_id, rule_id: offer.rule_id, reasons });
    offers.push({
      offer_id: offer.offer_id,
      rule_id: offer.rule_id,
      kind: offer.kind,
      source: offer.source,
      allowed: Boolean(chosen),
      contract_id: chosen?.contract.contract_id ?? null,
      contracts: perContract,
      reasons: chosen ? [] : reasons,
    });
  }
  return {
    customer_id: facts.customer_id,
    business_date: facts.business_date,
    rules_version: rules.version,
    churn_model_version: facts.churn ? `${facts.churn.model_name}@${facts.churn.model_version}` : null,
    allowed,
    rejected,
    offers,
    combinable: r.limits.combinable,
    cancellation: r.cancellation,
  };
}

// ---------------------------------------------------------------------------------------------
// Dates and the fidelity fine

const DATE = /^(\d{4})-(\d{2})-(\d{2})/;

function ymd(date: string, field: string): [number, number, number] {
  const m = DATE.exec(date);
  if (!m) throw new ValidationError(field, `"${date}" is not a date (yyyy-mm-dd)`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** Days from `from` to `to` (dates or ISO timestamps; only the date part counts). */
export function daysBetween(from: string, to: string): number {
  const [y1, m1, d1] = ymd(from, "date");
  const [y2, m2, d2] = ymd(to, "date");
  return Math.round((Date.UTC(y2, m2 - 1, d2) - Date.UTC(y1, m1 - 1, d1)) / 86_400_000);
}

/** Whole calendar months from `from` to `to` (0 when `to` is not after `from`). */
export function wholeMonthsBetween(from: string, to: string): number {
  const [y1, m1, d1] = ymd(from, "date");
  const [y2, m2, d2] = ymd(to, "date");
  const months = (y2 - y1) * 12 + (m2 - m1) - (d2 < d1 ? 1 : 0);
  return Math.max(0, months);
}

/**
 * The proportional fidelity fine if the contract is cancelled on `businessDate`:
 * benefit × whole months left ÷ fidelity months (faq-fidelidade-multa); none once the period
 * ended, and none with one of the exemptions of fidelity.yaml (`opts.exemption`, its proof checked
 * by whoever passes it).
 */
export function fidelityFine(
  contract: FineContract,
  businessDate: string,
  opts: { exemption?: string; rules?: RuleSet } = {},
): FidelityFine {
  const rules = opts.rules ?? loadRules();
  ymd(businessDate, "businessDate");
  let exemption: FidelityFine["exemption"] = null;
  if (opts.exemption !== undefined) {
    const e = rules.fidelity.exemptions.find((x) => x.id === opts.exemption);
    if (!e)
      throw new ValidationError(
        "exemption",
        `unknown exemption "${opts.exemption}" (one of ${rules.fidelity.exemptions.map((x) => x.id).join(", ")})`,
      );
    exemption = { id: e.id, text: e.text, proof: e.proof };
  }
  const end = contract.fidelity_end_date;
  const months = contract.fidelity_months;
  const benefit = contract.fidelity_fine_brl;
  const inFidelity = months > 0 && end !== null && daysBetween(businessDate, end) > 0;
  const monthsLeft = inFidelity && end ? Math.min(months, wholeMonthsBetween(businessDate, end)) : 0;
  const fine = exemption || !inFidelity ? 0 : round2((benefit * monthsLeft) / months);
  const formula = !inFidelity
    ? "no fidelity period in force: no fine"
    : exemption
      ? `exempt (${exemption.id}): no fine`
      : `${benefit.toFixed(2)} × ${monthsLeft} ÷ ${months} = ${fine.toFixed(2)}`;
  return {
    contract_id: contract.contract_id,
    in_fidelity: inFidelity,
    fidelity_end_date: end,
    fidelity_months: months,
    benefit_brl: benefit,
    months_remaining: monthsLeft,
    fine_brl: fine,
    formula,
    exemption,
    rules_version: rules.version,
  };
}

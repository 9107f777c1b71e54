import { NotFoundError } from "../../platform/errors.ts";
import type { ChurnRiskService } from "../../platform/ports/churn-risk.ts";
import type { OperatorSystems } from "../../platform/ports/operator-systems.ts";
import { daysBetween, fidelityFine, loadRules, wholeMonthsBetween } from "./engine.ts";
import type { AppliedOfferFact, ContractFacts, OfferFacts, RuleSet, SpeedMonth } from "./types.ts";

/** What gathering the facts needs: the operator's systems and the churn model, through their ports. */
export interface OfferFactsDeps {
  systems: OperatorSystems;
  churn: ChurnRiskService;
  /** The rules whose definitions (windows, debt statuses, outage families) shape the facts. */
  rules?: RuleSet;
}

export interface OfferFactsOptions {
  /** The contact (assistant session); offers already made in it are presented once only. */
  sessionId?: string | null;
  /** Offers already presented in this contact that no interaction records yet. */
  presentedOffers?: readonly string[];
  /** Defaults to systems.businessDate(). */
  businessDate?: string;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

function mean(xs: readonly number[]): number | null {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
}

function round(x: number | null, digits = 2): number | null {
  if (x === null) return null;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** `date` minus `days` days (yyyy-mm-dd). */
function minusDays(date: string, days: number): string {
  const d = new Date(`${date.slice(0, 10)}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - days);
  return d.toISOString().slice(0, 10);
}

/**
 * Gathers what the offers rules read about one customer, using only the operator-systems and
 * churn-risk ports: profile and contracts (CRM), invoices and usage (billing), speed tests and
 * outages (network), the catalog and applied offers (offers), and the champion's churn score.
 * A system that is down throws its SystemUnavailableError (the caller explains it); a customer
 * the CRM does not know is a NotFoundError. A churn service failure is a fact (churn null), since
 * the offers that do not need the risk band can still be decided.
 */
export async function gatherOfferFacts(
  customerId: string,
  deps: OfferFactsDeps,
  opts: OfferFactsOptions = {},
): Promise<OfferFacts> {
  const { systems } = deps;
  const rules = deps.rules ?? loadRules();
  const def = rules.retention.definitions;
  const [profile, businessDate] = await Promise.all([
    systems.crm.getCustomer(customerId),
    opts.businessDate ?? systems.businessDate(),
  ]);
  if (!profile) throw new NotFoundError(`customer ${customerId}`, { details: { customer_id: customerId } });
  const sessionId = opts.sessionId ?? null;
  const windowStart = minusDays(businessDate, def.network_lookback_days);
  const [contracts, catalog, invoices, usage, speedTests, outages, applied, interactions, churn] =
    await Promise.all([
      systems.crm.listContracts(customerId),
      systems.offers.catalog(),
      systems.billing.listInvoices(customerId),
      systems.billing.listUsage(customerId, { months: def.usage_months }),
      systems.network.listSpeedTests(customerId, { limit: 500 }),
      systems.network.listOutages({ uf: profile.uf }),
      systems.offers.listAppliedOffers(customerId),
      sessionId ? systems.crm.listInteractions(customerId, { limit: 200 }) : Promise.resolve([]),
      deps.churn.risk(customerId).then(
        (r) => ({ risk: r, error: r ? null : "no churn score for this customer (not in the online store)" }),
        (err: unknown) => ({ risk: null, error: err instanceof Error ? err.message : String(err) }),
      ),
    ]);
  const plans = new Map(catalog.plans.map((p) => [p.plan_id, p]));

  // Tenure: months since the oldest active contract started (policy-elegibilidade §1).
  const activeStarts = contracts
    .filter((c) => c.status === "active")
    .map((c) => c.start_date)
    .sort();
  const tenureSince = activeStarts[0] ?? profile.signup_date;

  // ARPU: mean invoiced revenue of the last N reference months, all contracts together.
  const byMonth = new Map<string, number>();
  for (const inv of invoices) {
    if (inv.status === "cancelled" || inv.reference_month.slice(0, 10) > businessDate) continue;
    const m = inv.reference_month.slice(0, 7);
    byMonth.set(m, (byMonth.get(m) ?? 0) + inv.amount_brl);
  }
  const arpuMonths = [...byMonth.keys()].sort().reverse().slice(0, def.arpu_months);
  const activeContracts = contracts.filter((c) => c.status === "active");
  let arpu: number | null = null;
  let arpuSource: OfferFacts["customer"]["arpu_source"] = null;
  if (arpuMonths.length) {
    arpu = round2(arpuMonths.reduce((s, m) => s + (byMonth.get(m) ?? 0), 0) / arpuMonths.length);
    arpuSource = "invoices";
  } else if (activeContracts.length) {
    // Prepaid lines have no invoice: their ARPU is the plan price.
    arpu = round2(activeContracts.reduce((s, c) => s + c.monthly_price_brl, 0));
    arpuSource = "contract_prices";
  }

  // Overdue debt: unpaid invoices past their due date, counted from the oldest due date.
  const debtStatuses = new Set<string>(def.debt_invoice_statuses);
  const overdue = invoices.filter(
    (i) => debtStatuses.has(i.status) && i.due_date.slice(0, 10) < businessDate,
  );
  const oldestDue = overdue.map((i) => i.due_date.slice(0, 10)).sort()[0] ?? null;

  // Speed tests of the window, by calendar month (fibra guarantee: monthly mean ≥ 80% of contracted).
  const tests = speedTests.filter(
    (t) => t.measured_at.slice(0, 10) >= windowStart && t.measured_at.slice(0, 10) <= businessDate,
  );
  const localOutages = outages.filter((o) => {
    const day = o.started_at.slice(0, 10);
    const inWindow = day <= businessDate && (o.ended_at ?? businessDate).slice(0, 10) >= windowStart;
    return inWindow && (!o.city || o.city === profile.city);
  });

  const presented = new Set(opts.presentedOffers ?? []);
  for (const i of interactions)
    if (i.session_id === sessionId) for (const o of i.offers_made) presented.add(o);

  const contractFacts: ContractFacts[] = contracts.map((c) => {
    const plan = plans.get(c.plan_id);
    const speed = plan?.speed_mbps ?? null;
    const mine = applied.filter((a) => a.contract_id === c.contract_id);
    const running = mine
      .filter((a) => a.ends_at.slice(0, 10) > businessDate)
      .sort((a, b) => (a.applied_at < b.applied_at ? 1 : -1));
    const ended = mine
      .map((a) => a.ends_at.slice(0, 10))
      .filter((d) => d <= businessDate)
      .sort()
      .reverse();
    const active: AppliedOfferFact | null = running[0]
      ? {
          offer_id: running[0].offer_id,
          status: running[0].status,
          applied_at: running[0].applied_at,
          ends_at: running[0].ends_at,
        }
      : null;
    const speedMonthly = speed !== null ? monthlySpeed(tests.filter((t) => t.contracted_mbps > 0)) : [];
    const families = new Set(def.outage_families[c.product] ?? []);
    const hits = localOutages.filter((o) => families.has(o.affected_product));
    const fine = fidelityFine(c, businessDate, { rules });
    return {
      contract_id: c.contract_id,
      status: c.status,
      plan_id: c.plan_id,
      plan_name: plan?.name ?? null,
      product: c.product,
      monthly_price_brl: c.monthly_price_brl,
      speed_mbps: speed,
      data_gb: plan?.data_gb ?? null,
      start_date: c.start_date,
      fidelity_months: c.fidelity_months,
      fidelity_end_date: c.fidelity_end_date,
      fidelity_benefit_brl: c.fidelity_fine_brl,
      fidelity_months_remaining: fine.months_remaining,
      fidelity_fine_brl: fine.fine_brl,
      has_active_retention_offer: active !== null,
      active_retention_offer: active,
      last_offer_ended_at: ended[0] ?? null,
      days_since_last_offer_ended: ended[0] ? daysBetween(ended[0], businessDate) : null,
      speed_tests: speed !== null ? tests.length : 0,
      speed_monthly: speedMonthly,
      speed_worst_month_ratio: speedMonthly.length ? Math.min(...speedMonthly.map((m) => m.ratio)) : null,
      outages_90d: hits.length,
      outage_ids: hits.map((o) => o.outage_id).sort(),
    };
  });

  const risk = churn.risk;
  return {
    customer_id: customerId,
    business_date: businessDate,
    catalog_version: catalog.version ?? null,
    customer: {
      status: profile.status,
      active: activeContracts.length > 0,
      segment: profile.segment,
      uf: profile.uf,
      city: profile.city,
      signup_date: profile.signup_date,
      tenure_since: tenureSince,
      tenure_months: wholeMonthsBetween(tenureSince, businessDate),
      arpu_3m_brl: arpu,
      arpu_source: arpuSource,
      arpu_months: arpuMonths,
    },
    debt: {
      max_days_overdue: oldestDue ? daysBetween(oldestDue, businessDate) : 0,
      overdue_invoices: overdue.length,
      open_amount_brl: round2(overdue.reduce((s, i) => s + i.amount_brl, 0)),
      oldest_due_date: oldestDue,
    },
    usage: {
      months: usage.map((u) => u.month.slice(0, 7)),
      avg_data_gb: round(mean(usage.map((u) => u.data_gb))),
      avg_voice_minutes: round(mean(usage.map((u) => u.voice_minutes)), 1),
      avg_sms: round(mean(usage.map((u) => u.sms)), 1),
      avg_roaming_mb: round(mean(usage.map((u) => u.roaming_mb)), 1),
    },
    contracts: contractFacts,
    contact: { session_id: sessionId, offers_presented: [...presented].sort() },
    churn: risk
      ? {
          band: risk.band,
          probability: risk.probability,
          reasons: risk.reasons,
          model_name: risk.model_name,
          model_version: risk.model_version,
          data_version: risk.data_version,
          as_of: risk.as_of,
        }
      : null,
    churn_error: churn.error,
  };
}

/** Speed tests grouped by calendar month: mean download, mean contracted, mean ratio. */
function monthlySpeed(
  tests: readonly { measured_at: string; download_mbps: number; contracted_mbps: number }[],
): SpeedMonth[] {
  const months = new Map<string, { down: number[]; contracted: number[]; ratio: number[] }>();
  for (const t of tests) {
    const m = t.measured_at.slice(0, 7);
    let e = months.get(m);
    if (!e) {
      e = { down: [], contracted: [], ratio: [] };
      months.set(m, e);
    }
    e.down.push(t.download_mbps);
    e.contracted.push(t.contracted_mbps);
    e.ratio.push(t.download_mbps / t.contracted_mbps);
  }
  return [...months.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([month, e]) => ({
      month,
      tests: e.down.length,
      avg_download_mbps: round(mean(e.down)) as number,
      contracted_mbps: round(mean(e.contracted)) as number,
      ratio: round(mean(e.ratio), 4) as number,
    }));
}

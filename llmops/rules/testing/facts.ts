import { loadCatalog } from "../../../mlops/simulator/catalog.ts";
import type { ContractFacts, OfferFacts } from "../types.ts";

/** Facts built by hand for rules tests: a customer on `plan_id` with everything in good standing. */

const catalog = loadCatalog();

export const BUSINESS_DATE = "2026-06-15";

/** One active contract on a catalog plan (price, speed and data from the catalog). */
export function contractFacts(planId: string, over: Partial<ContractFacts> = {}): ContractFacts {
  const plan = catalog.plans.find((p) => p.plan_id === planId);
  if (!plan) throw new Error(`no catalog plan ${planId}`);
  return {
    contract_id: `CTR-${planId}`,
    status: "active",
    plan_id: plan.plan_id,
    plan_name: plan.name,
    product: plan.product,
    monthly_price_brl: plan.monthly_price_brl,
    speed_mbps: plan.speed_mbps,
    data_gb: plan.data_gb,
    start_date: "2023-01-10",
    fidelity_months: plan.fidelity_months,
    fidelity_end_date: null,
    fidelity_benefit_brl: plan.fidelity_benefit_brl,
    fidelity_months_remaining: 0,
    fidelity_fine_brl: 0,
    has_active_retention_offer: false,
    active_retention_offer: null,
    last_offer_ended_at: null,
    days_since_last_offer_ended: null,
    speed_tests: plan.speed_mbps ? 6 : 0,
    speed_monthly: [],
    speed_worst_month_ratio: plan.speed_mbps ? 0.95 : null,
    outages_90d: 0,
    outage_ids: [],
    ...over,
  };
}

type FactsOverrides = {
  customer?: Partial<OfferFacts["customer"]>;
  debt?: Partial<OfferFacts["debt"]>;
  churn?: Partial<NonNullable<OfferFacts["churn"]>> | null;
  contracts?: ContractFacts[];
  presented?: string[];
};

/** A high-risk customer of 36 months, ARPU R$ 200, no debt, on FIB500 unless `contracts` says otherwise. */
export function offerFacts(over: FactsOverrides = {}): OfferFacts {
  const churn =
    over.churn === null
      ? null
      : {
          band: "high" as const,
          probability: 0.72,
          reasons: [
            { feature: "fidelity_months_left", label: "fidelidade termina em 1 mês", contribution: 0.4 },
          ],
          model_name: "churn",
          model_version: "3",
          data_version: "ds-1",
          as_of: "2026-06-01",
          ...over.churn,
        };
  return {
    customer_id: "AUR-00000001",
    business_date: BUSINESS_DATE,
    catalog_version: "test",
    customer: {
      status: "active",
      active: true,
      segment: "consumer",
      uf: "SP",
      city: "São Paulo",
      signup_date: "2023-06-01",
      tenure_since: "2023-06-01",
      tenure_months: 36,
      arpu_3m_brl: 200,
      arpu_source: "invoices",
      arpu_months: ["2026-06", "2026-05", "2026-04"],
      ...over.customer,
    },
    debt: {
      max_days_overdue: 0,
      overdue_invoices: 0,
      open_amount_brl: 0,
      oldest_due_date: null,
      ...over.debt,
    },
    usage: {
      months: ["2026-06", "2026-05", "2026-04"],
      avg_data_gb: 20,
      avg_voice_minutes: 100,
      avg_sms: 5,
      avg_roaming_mb: 0,
    },
    contracts: over.contracts ?? [contractFacts("FIB500")],
    contact: { session_id: "S-1", offers_presented: over.presented ?? [] },
    churn,
    churn_error: churn ? null : "no churn score",
  };
}

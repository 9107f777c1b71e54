/**
 * The causal churn model of the simulated operator. Each month an active customer cancels
 * with probability
 *
 *   p = sigmoid( β0 + Σ_k β_k · x_k + product offset + frailty_i )
 *
 * where x_k are the drivers below, computed from what is known at the month's first day (so a
 * point-in-time feature set at that cutoff can see all of them, over the same windows the
 * feature store uses), and frailty_i ~ N(0, σ²) is per-customer unobserved heterogeneity.
 * Coefficients are set so the true hazard ranks the 30-day labels with AUC ≈ 0.86 at ~2.5%
 * monthly churn (measured numbers in docs/mlops/synthetic-operator.md).
 */

/** One true cause of churn and where it can be observed in the raw files. */
export interface ChurnDriver {
  name: string;
  description: string;
  /** Coefficient on the driver's value x (log-odds per unit). */
  coefficient: number;
  /** What x is, exactly. */
  value: string;
  /** Raw table.column(s) where the signal shows up. */
  signals: string[];
  /** cancel_reason recorded when this driver dominates. */
  cancelReason: string;
}

/** Intercept β0 (log-odds), calibrated to ~2.5% monthly churn at the default parameters. */
export const CHURN_INTERCEPT = -6.5;
/** Standard deviation of the per-customer frailty (unobserved noise). */
export const FRAILTY_SD = 0.3;

/** Machine-readable list of the true churn drivers (for tests that check models find them). */
export const CHURN_DRIVERS: readonly ChurnDriver[] = [
  {
    name: "price_increase",
    description:
      "Monthly charge went up over the 3 months the latest invoice shows: annual reajuste on the contract anniversary (IPCA, sometimes above), end of a promotional discount, or the price-increase drift. Postpaid only (prepaid has no invoice showing the price).",
    coefficient: 9.0,
    value:
      "max(0, charge[L] / charge[L-3] - 1), charge = plan price minus discounts, L = latest invoiced month issued before the cutoff (m for due days 5/10, else m-1); 0 for prepaid",
    signals: [
      "billing_invoices.amount_brl",
      "billing_invoices.discount_brl",
      "billing_invoice_items.amount_brl (item_type plan|discount)",
      "crm_contracts.monthly_price_brl",
    ],
    cancelReason: "preco",
  },
  {
    name: "speed_shortfall",
    description:
      "Delivered network quality below 80% of contracted (Anatel guarantee) over the last 3 months: bad access line, congested city, or network-degradation drift.",
    coefficient: 10.0,
    value: "max(0, 0.8 - q) / 0.8 with q = mean delivered/contracted quality over months m-3..m-1",
    signals: [
      "network_quality.download_mbps / network_quality.contracted_mbps",
      "network_quality.latency_ms",
      "network_quality.packet_loss_pct",
    ],
    cancelReason: "qualidade_rede",
  },
  {
    name: "regional_outages",
    description:
      "Outage time in the customer's city (or state-wide) affecting the customer's product in the last 3 months.",
    coefficient: 0.35,
    value: "ln(1 + outage hours in months m-3..m-1)",
    signals: ["network_outages.duration_min (by uf, city, affected_product)"],
    cancelReason: "qualidade_rede",
  },
  {
    name: "unresolved_support",
    description:
      "Support tickets in the last 3 months that were repeat contacts or still unresolved at the month's start.",
    coefficient: 1.0,
    value:
      "min(4, count of tickets opened in m-3..m-1 with repeat_contact or resolved_at null/after the cutoff)",
    signals: [
      "support_tickets.repeat_contact",
      "support_tickets.resolved_at",
      "support_tickets.resolution_hours",
    ],
    cancelReason: "atendimento",
  },
  {
    name: "fidelity_ending",
    description:
      "Loyalty period ends within a month or ended in the last 3 months (the fine no longer holds the customer back).",
    coefficient: 2.0,
    value: "1 if -3 <= months until fidelity_end_date <= 1, else 0",
    signals: ["crm_contracts.fidelity_end_date", "crm_contracts.fidelity_months", "crm_contracts.start_date"],
    cancelReason: "fim_fidelidade",
  },
  {
    name: "fidelity_lock_in",
    description: "More than 2 months of loyalty left: the proportional fine discourages cancelling.",
    coefficient: -1.5,
    value: "1 if months until fidelity_end_date > 2, else 0",
    signals: ["crm_contracts.fidelity_end_date", "crm_contracts.fidelity_fine_brl"],
    cancelReason: "outros",
  },
  {
    name: "competitor_offer",
    description: "A competitor promotion is running in the customer's state (UF) at the end of last month.",
    coefficient: 8.0,
    value: "max discount_pct / 100 of offers running in the customer's UF on the last day of month m-1",
    signals: ["market_competitor_offers.discount_pct (by uf, start_date, end_date)"],
    cancelReason: "concorrencia",
  },
  {
    name: "late_payments",
    description: "Invoices paid (or still unpaid) more than 10 days after the due date in the last 3 months.",
    coefficient: 1.0,
    value: "min(3, count of invoices due in m-3..m-1 with days late > 10 at the cutoff)",
    signals: ["billing_payments.days_late", "billing_payments.paid_date", "billing_invoices.status"],
    cancelReason: "inadimplencia",
  },
  {
    name: "product",
    description: "Structural churn level of the product family: prepaid churns most, combos least.",
    coefficient: 1.5,
    value: "offset by crm_contracts.product (see PRODUCT_CHURN_OFFSET)",
    signals: ["crm_contracts.product", "crm_contracts.plan_id"],
    cancelReason: "outros",
  },
];

/** Log-odds offset per product family (the `product` driver). */
export const PRODUCT_CHURN_OFFSET: Readonly<Record<string, number>> = {
  mobile_pre: 0.7,
  mobile_controle: 0.3,
  mobile_pos: 0,
  fibra: 0,
  tv: 0.2,
  combo: -0.5,
};

/** Columns that have NO causal effect on churn (models should not rely on them). */
export const NON_DRIVERS: readonly string[] = [
  "crm_customers.birth_date (age)",
  "crm_customers.gender",
  "crm_customers.segment",
  "crm_customers.acquisition_channel",
  "usage_monthly.sms",
];

/** Index of each driver in the contribution vector used by `churnLogit`. */
export const DRIVER_INDEX = Object.fromEntries(CHURN_DRIVERS.map((d, i) => [d.name, i])) as Record<
  string,
  number
>;

/**
 * Log-odds of churning this month given driver values `x` (same order as CHURN_DRIVERS;
 * x[product] is the product offset). Writes each driver's contribution β_k·x_k into `contrib`.
 */
export function churnLogit(x: Float64Array, frailty: number, contrib: Float64Array): number {
  let logit = CHURN_INTERCEPT + frailty;
  for (let k = 0; k < CHURN_DRIVERS.length; k++) {
    const c = (CHURN_DRIVERS[k] as ChurnDriver).coefficient * (x[k] as number);
    contrib[k] = c;
    logit += c;
  }
  return logit;
}

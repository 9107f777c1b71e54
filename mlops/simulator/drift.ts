/**
 * Drift scenarios: events in the final months of the window that shift only the variables
 * such an event would touch, so monitoring can flag those and not others.
 */
export const DRIFT_SCENARIOS = {
  none: {
    description: "no drift: stationary behaviour over the whole window",
    shifts: [] as string[],
  },
  "price-increase": {
    description:
      "every active contract's price goes up 15–25% at the start of the drift window (extraordinary reajuste)",
    shifts: [
      "crm_contracts.monthly_price_brl",
      "billing_invoices.amount_brl",
      "billing_invoices.tax_brl",
      "billing_invoice_items.amount_brl",
      "billing_payments.amount_brl",
      "billing_disputes (more rows, reason reajuste)",
      "support_tickets (more cobranca tickets)",
      "crm_contracts.status/cancel_reason (more churn, reason preco)",
    ],
  },
  "network-degradation": {
    description:
      "three states (chosen from the seed) suffer a degraded network: delivered quality ×0.65 (speeds down, latency and packet loss up) and 3× more, 1.5× longer outages",
    shifts: [
      "network_quality.download_mbps",
      "network_quality.latency_ms",
      "network_quality.packet_loss_pct",
      "network_outages (more rows, longer duration_min) in the affected UFs",
      "support_tickets (more tecnico_* tickets, lower satisfaction)",
      "crm_contracts.status/cancel_reason (more churn, reason qualidade_rede)",
    ],
  },
  "new-competitor": {
    description:
      "a competitor launches in five states where it had no presence, with 35–50% discounts for the whole drift window",
    shifts: [
      "market_competitor_offers (new rows in the affected UFs)",
      "crm_contracts.status/cancel_reason (more churn in those UFs, reason concorrencia)",
    ],
  },
} as const;

export type DriftScenario = keyof typeof DRIFT_SCENARIOS;
export const DRIFT_SCENARIO_NAMES = Object.keys(DRIFT_SCENARIOS) as DriftScenario[];

/** Number of final months the drift covers: 2 for windows of 6+ months, else 1. */
export function driftMonths(months: number): number {
  return months >= 6 ? 2 : 1;
}

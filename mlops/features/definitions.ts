import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";

/**
 * The churn feature store's declarations: every feature of entity `customer_id`, with its type,
 * meaning, sources and freshness, plus pt-BR/English labels the serving layer uses to explain a
 * prediction. The SQL that computes a group lives in `sql/<group>.sql`; a test checks that each
 * file returns exactly the columns declared here.
 */
export type FeatureKind = "numeric" | "categorical" | "boolean";
export type Language = "pt-BR" | "en";

/** How often the sources of a group change, i.e. how stale an online value may be. */
export type Freshness = "static" | "daily" | "monthly";

export interface FeatureGroup {
  name: string;
  /** Silver tables read by the group's SQL (all filtered by event time < cutoff). */
  sources: readonly string[];
  freshness: Freshness;
  description: string;
}

export interface FeatureDefinition {
  name: string;
  group: string;
  kind: FeatureKind;
  description: string;
  /** Unit of numeric values, for display ("months", "BRL", "%", …). */
  unit?: string;
  label: Record<Language, string>;
  /**
   * Sentence explaining a value to a person; `{value}` is replaced by the formatted value and
   * `{one|many}` by the word agreeing with it. Booleans use `[whenTrue, whenFalse]`.
   */
  explain: Record<Language, string | readonly [string, string]>;
}

/** Entity every feature describes. */
export const ENTITY = "customer_id";

/** Window of every "last 90 days" feature; part of the feature names, so not configurable. */
export const LOOKBACK_DAYS = 90;

export const FEATURE_GROUPS: readonly FeatureGroup[] = [
  {
    name: "profile",
    sources: ["silver.crm_customers"],
    freshness: "static",
    description: "Registration data of the customer (age at the cutoff, segment, state).",
  },
  {
    name: "contract",
    sources: ["silver.crm_contracts"],
    freshness: "daily",
    description: "The contract active at the cutoff: product, plan, tenure, loyalty period.",
  },
  {
    name: "billing",
    sources: ["silver.billing_invoices", "silver.billing_invoice_items"],
    freshness: "monthly",
    description: "Invoices issued before the cutoff: plan price, ARPU and their 3-month changes.",
  },
  {
    name: "payments",
    sources: ["silver.billing_payments"],
    freshness: "daily",
    description: "Payment behaviour as known at the cutoff (payments received later count as unpaid).",
  },
  {
    name: "disputes",
    sources: ["silver.billing_disputes"],
    freshness: "daily",
    description: "Billing disputes opened before the cutoff and still unresolved at it.",
  },
  {
    name: "usage",
    sources: ["silver.usage_monthly"],
    freshness: "monthly",
    description: "Usage of complete months before the cutoff.",
  },
  {
    name: "network",
    sources: [
      "silver.network_outages",
      "silver.network_quality",
      "silver.crm_customers",
      "silver.crm_contracts",
    ],
    freshness: "daily",
    description: "Outages in the customer's region and the customer's speed tests in the last 90 days.",
  },
  {
    name: "support",
    sources: ["silver.support_tickets"],
    freshness: "daily",
    description: "Support tickets opened in the last 90 days.",
  },
  {
    name: "assistant",
    sources: ["silver.crm_interactions"],
    freshness: "daily",
    description:
      "Conversations with the support and retention assistant registered in the CRM (exported back from the operator systems).",
  },
  {
    name: "market",
    sources: ["silver.market_competitor_offers", "silver.crm_customers"],
    freshness: "daily",
    description: "Competitor offers running in the customer's state the day before the cutoff.",
  },
];

/** Every feature, in the column order of gold.churn_training and of the online store. */
export const FEATURES: readonly FeatureDefinition[] = [
  // profile
  {
    name: "age_years",
    group: "profile",
    kind: "numeric",
    unit: "years",
    description: "Age of the customer at the cutoff, in complete years.",
    label: { "pt-BR": "Idade", en: "Age" },
    explain: { "pt-BR": "cliente tem {value} anos", en: "customer is {value} years old" },
  },
  {
    name: "segment",
    group: "profile",
    kind: "categorical",
    description: "Customer segment: consumer or smb.",
    label: { "pt-BR": "Segmento", en: "Segment" },
    explain: { "pt-BR": "segmento {value}", en: "segment {value}" },
  },
  {
    name: "uf",
    group: "profile",
    kind: "categorical",
    description: "State (UF) of the installation/billing address.",
    label: { "pt-BR": "UF", en: "State" },
    explain: { "pt-BR": "cliente em {value}", en: "customer in {value}" },
  },
  // contract
  {
    name: "product",
    group: "contract",
    kind: "categorical",
    description: "Product family of the active contract (mobile_pre, mobile_pos, fibra, combo, …).",
    label: { "pt-BR": "Produto", en: "Product" },
    explain: { "pt-BR": "produto {value}", en: "product {value}" },
  },
  {
    name: "plan_id",
    group: "contract",
    kind: "categorical",
    description: "Plan of the active contract (catalog plan_id).",
    label: { "pt-BR": "Plano", en: "Plan" },
    explain: { "pt-BR": "plano {value}", en: "plan {value}" },
  },
  {
    name: "sales_channel",
    group: "contract",
    kind: "categorical",
    description: "Channel that sold the active contract.",
    label: { "pt-BR": "Canal de venda", en: "Sales channel" },
    explain: { "pt-BR": "contrato vendido via {value}", en: "contract sold via {value}" },
  },
  {
    name: "tenure_months",
    group: "contract",
    kind: "numeric",
    unit: "months",
    description: "Complete months between the contract start and the cutoff.",
    label: { "pt-BR": "Meses de contrato", en: "Tenure (months)" },
    explain: { "pt-BR": "cliente há {value}", en: "customer for {value}" },
  },
  {
    name: "fidelity_months_left",
    group: "contract",
    kind: "numeric",
    unit: "months",
    description: "Months (rounded up) until the loyalty period ends; 0 when none or already ended.",
    label: { "pt-BR": "Meses de fidelidade restantes", en: "Loyalty months left" },
    explain: { "pt-BR": "fidelidade termina em {value}", en: "loyalty period ends in {value}" },
  },
  {
    name: "months_since_fidelity_end",
    group: "contract",
    kind: "numeric",
    unit: "months",
    description:
      "Complete months since the loyalty period ended; empty when the contract never had one or it is still running.",
    label: { "pt-BR": "Meses desde o fim da fidelidade", en: "Months since loyalty ended" },
    explain: { "pt-BR": "fidelidade terminou há {value}", en: "loyalty period ended {value} ago" },
  },
  // billing
  {
    name: "monthly_price_brl",
    group: "billing",
    kind: "numeric",
    unit: "BRL",
    description:
      "Plan price after discounts, with taxes, on the latest invoice issued before the cutoff ('plan' + 'discount' lines grossed up by the invoice's tax ratio).",
    label: { "pt-BR": "Mensalidade do plano", en: "Monthly plan price" },
    explain: { "pt-BR": "mensalidade de {value}", en: "monthly price of {value}" },
  },
  {
    name: "price_change_pct_3m",
    group: "billing",
    kind: "numeric",
    unit: "%",
    description:
      "Change of that price vs. the invoice 3 months earlier (reajuste or end of a discount), in percent.",
    label: { "pt-BR": "Reajuste de preço em 3 meses", en: "Price change over 3 months" },
    explain: {
      "pt-BR": "preço do plano mudou {value} em 3 meses",
      en: "plan price changed {value} in 3 months",
    },
  },
  {
    name: "arpu_brl",
    group: "billing",
    kind: "numeric",
    unit: "BRL",
    description: "Average invoice amount of the last 3 reference months before the cutoff (ARPU).",
    label: { "pt-BR": "ARPU (média 3 meses)", en: "ARPU (3-month average)" },
    explain: { "pt-BR": "fatura média de {value}", en: "average bill of {value}" },
  },
  {
    name: "arpu_trend_pct_3m",
    group: "billing",
    kind: "numeric",
    unit: "%",
    description: "Change of the latest invoice amount vs. the invoice 3 months earlier, in percent.",
    label: { "pt-BR": "Tendência da fatura em 3 meses", en: "Bill trend over 3 months" },
    explain: { "pt-BR": "fatura variou {value} em 3 meses", en: "bill changed {value} in 3 months" },
  },
  // payments
  {
    name: "late_payments_90d",
    group: "payments",
    kind: "numeric",
    unit: "invoices",
    description: "Invoices due in the last 90 days that were paid late or were still unpaid at the cutoff.",
    label: { "pt-BR": "Pagamentos em atraso (90 dias)", en: "Late payments (90 days)" },
    explain: {
      "pt-BR": "{value} {pagamento|pagamentos} em atraso nos últimos 90 dias",
      en: "{value} late {payment|payments} in the last 90 days",
    },
  },
  {
    name: "max_days_late_90d",
    group: "payments",
    kind: "numeric",
    unit: "days",
    description:
      "Largest delay, in days, of invoices due in the last 90 days (unpaid ones count to the cutoff).",
    label: { "pt-BR": "Maior atraso (90 dias)", en: "Longest delay (90 days)" },
    explain: { "pt-BR": "atrasou até {value} {dia|dias}", en: "paid up to {value} {day|days} late" },
  },
  {
    name: "days_overdue",
    group: "payments",
    kind: "numeric",
    unit: "days",
    description: "Days since the due date of the oldest invoice still unpaid at the cutoff; 0 when none.",
    label: { "pt-BR": "Dias em débito", en: "Days overdue" },
    explain: {
      "pt-BR": "fatura vencida há {value} {dia|dias}",
      en: "invoice overdue for {value} {day|days}",
    },
  },
  // disputes
  {
    name: "open_disputes",
    group: "disputes",
    kind: "numeric",
    unit: "disputes",
    description: "Billing disputes opened before the cutoff and not resolved by it.",
    label: { "pt-BR": "Contestações abertas", en: "Open billing disputes" },
    explain: {
      "pt-BR": "{value} {contestação|contestações} de fatura em aberto",
      en: "{value} open billing {dispute|disputes}",
    },
  },
  // usage
  {
    name: "data_gb_last_month",
    group: "usage",
    kind: "numeric",
    unit: "GB",
    description: "Data used in the last complete month before the cutoff.",
    label: { "pt-BR": "Consumo de dados no último mês", en: "Data used last month" },
    explain: { "pt-BR": "usou {value} de dados no último mês", en: "used {value} of data last month" },
  },
  {
    name: "data_usage_trend_pct",
    group: "usage",
    kind: "numeric",
    unit: "%",
    description: "Last complete month's data use vs. the average of the 3 months before it, in percent.",
    label: { "pt-BR": "Tendência de uso de dados", en: "Data usage trend" },
    explain: {
      "pt-BR": "uso de dados variou {value} vs. os 3 meses anteriores",
      en: "data usage changed {value} vs. the 3 months before",
    },
  },
  // network
  {
    name: "outages_90d",
    group: "network",
    kind: "numeric",
    unit: "outages",
    description:
      "Outages that started in the last 90 days in the customer's state (whole state or their city) affecting their product.",
    label: { "pt-BR": "Quedas na região (90 dias)", en: "Outages in region (90 days)" },
    explain: {
      "pt-BR": "{value} {queda|quedas} de rede na região nos últimos 90 dias",
      en: "{value} network {outage|outages} in the region in the last 90 days",
    },
  },
  {
    name: "outage_minutes_90d",
    group: "network",
    kind: "numeric",
    unit: "minutes",
    description: "Minutes of those outages elapsed before the cutoff.",
    label: { "pt-BR": "Minutos sem serviço (90 dias)", en: "Outage minutes (90 days)" },
    explain: {
      "pt-BR": "{value} {minuto|minutos} de queda na região nos últimos 90 dias",
      en: "{value} outage {minute|minutes} in the region in the last 90 days",
    },
  },
  {
    name: "speed_shortfall_pct_90d",
    group: "network",
    kind: "numeric",
    unit: "%",
    description:
      "How far the average measured download fell below the contracted speed in the last 90 days, in percent (0 = at or above); empty for plans without a contracted speed.",
    label: { "pt-BR": "Velocidade abaixo da contratada", en: "Speed shortfall" },
    explain: {
      "pt-BR": "velocidade medida {value} abaixo da contratada",
      en: "measured speed {value} below the contracted one",
    },
  },
  {
    name: "avg_latency_ms_90d",
    group: "network",
    kind: "numeric",
    unit: "ms",
    description: "Average latency of the customer's speed tests in the last 90 days.",
    label: { "pt-BR": "Latência média (90 dias)", en: "Average latency (90 days)" },
    explain: { "pt-BR": "latência média de {value}", en: "average latency of {value}" },
  },
  {
    name: "avg_packet_loss_pct_90d",
    group: "network",
    kind: "numeric",
    unit: "%",
    description: "Average packet loss of the customer's speed tests in the last 90 days.",
    label: { "pt-BR": "Perda de pacotes média (90 dias)", en: "Average packet loss (90 days)" },
    explain: { "pt-BR": "perda de pacotes média de {value}", en: "average packet loss of {value}" },
  },
  // support
  {
    name: "tickets_90d",
    group: "support",
    kind: "numeric",
    unit: "tickets",
    description: "Support tickets opened in the last 90 days.",
    label: { "pt-BR": "Chamados (90 dias)", en: "Support tickets (90 days)" },
    explain: {
      "pt-BR": "{value} {chamado|chamados} ao atendimento nos últimos 90 dias",
      en: "{value} support {ticket|tickets} in the last 90 days",
    },
  },
  {
    name: "repeat_contacts_90d",
    group: "support",
    kind: "numeric",
    unit: "tickets",
    description: "Tickets of the last 90 days that repeated a contact about the same issue.",
    label: { "pt-BR": "Contatos repetidos (90 dias)", en: "Repeat contacts (90 days)" },
    explain: {
      "pt-BR": "{value} {contato repetido|contatos repetidos} sobre o mesmo problema",
      en: "{value} repeat {contact|contacts} about the same issue",
    },
  },
  {
    name: "unresolved_tickets_90d",
    group: "support",
    kind: "numeric",
    unit: "tickets",
    description: "Tickets opened in the last 90 days and not resolved by the cutoff.",
    label: { "pt-BR": "Chamados sem solução", en: "Unresolved tickets" },
    explain: { "pt-BR": "{value} {chamado|chamados} sem solução", en: "{value} unresolved {ticket|tickets}" },
  },
  {
    name: "cancellation_tickets_90d",
    group: "support",
    kind: "numeric",
    unit: "tickets",
    description: "Tickets of category 'cancelamento' opened in the last 90 days.",
    label: { "pt-BR": "Pedidos de cancelamento (90 dias)", en: "Cancellation contacts (90 days)" },
    explain: {
      "pt-BR": "{value} {contato|contatos} sobre cancelamento nos últimos 90 dias",
      en: "{value} {contact|contacts} about cancelling in the last 90 days",
    },
  },
  {
    name: "anatel_complaints_90d",
    group: "support",
    kind: "numeric",
    unit: "tickets",
    description: "Tickets that came through Anatel (regulator complaints) in the last 90 days.",
    label: { "pt-BR": "Reclamações na Anatel (90 dias)", en: "Anatel complaints (90 days)" },
    explain: {
      "pt-BR": "{value} {reclamação|reclamações} na Anatel nos últimos 90 dias",
      en: "{value} {complaint|complaints} to Anatel in the last 90 days",
    },
  },
  {
    name: "avg_satisfaction_90d",
    group: "support",
    kind: "numeric",
    unit: "score 1-5",
    description:
      "Average survey score (1–5) of tickets opened in the last 90 days and resolved before the cutoff.",
    label: { "pt-BR": "Satisfação média (90 dias)", en: "Average satisfaction (90 days)" },
    explain: { "pt-BR": "satisfação média {value} de 5", en: "average satisfaction {value} out of 5" },
  },
  // market
  // assistant
  {
    name: "assistant_contacts_30d",
    group: "assistant",
    kind: "numeric",
    unit: "contacts",
    description: "Conversations through the assistant's channels in the 30 days before the cutoff.",
    label: { "pt-BR": "Contatos com o assistente (30 dias)", en: "Assistant contacts (30 days)" },
    explain: {
      "pt-BR": "{value} {contato|contatos} com o assistente em 30 dias",
      en: "{value} assistant {contact|contacts} in 30 days",
    },
  },
  {
    name: "retention_offer_accepted_90d",
    group: "assistant",
    kind: "boolean",
    description: "The customer accepted a retention offer in the 90 days before the cutoff.",
    label: { "pt-BR": "Aceitou oferta de retenção (90 dias)", en: "Accepted a retention offer (90 days)" },
    explain: {
      "pt-BR": ["aceitou oferta de retenção recentemente", "sem oferta de retenção aceita recentemente"],
      en: ["accepted a retention offer recently", "no retention offer accepted recently"],
    },
  },
  {
    name: "competitor_offer_active",
    group: "market",
    kind: "boolean",
    description: "A competitor offer was running in the customer's state on the day before the cutoff.",
    label: { "pt-BR": "Oferta de concorrente na UF", en: "Competitor offer in state" },
    explain: {
      "pt-BR": ["há oferta de concorrente ativa na UF", "sem oferta de concorrente na UF"],
      en: ["a competitor offer is running in the state", "no competitor offer in the state"],
    },
  },
  {
    name: "competitor_max_discount_pct",
    group: "market",
    kind: "numeric",
    unit: "%",
    description: "Largest discount among those competitor offers, in percent; 0 when none.",
    label: { "pt-BR": "Desconto do concorrente", en: "Competitor discount" },
    explain: {
      "pt-BR": "concorrente oferece {value} de desconto",
      en: "competitor offers a {value} discount",
    },
  },
];

/** Names of every feature, in store order. */
export const FEATURE_NAMES: readonly string[] = FEATURES.map((f) => f.name);

const byName = new Map(FEATURES.map((f) => [f.name, f]));

/** The definition of feature `name`, or undefined. */
export function featureDefinition(name: string): FeatureDefinition | undefined {
  return byName.get(name);
}

/** The features as the training code's FeatureSpec (booleans are categorical "true"/"false"). */
export function featureSpecs(): { name: string; kind: "numeric" | "categorical" }[] {
  return FEATURES.map((f) => ({ name: f.name, kind: f.kind === "numeric" ? "numeric" : "categorical" }));
}

/** Declared features of one group, in store order. */
export function featuresOfGroup(group: string): FeatureDefinition[] {
  return FEATURES.filter((f) => f.group === group);
}

/** Reads a SQL file of this module (`sql/<name>.sql`). */
export function featureSql(name: string): string {
  return readFileSync(new URL(`./sql/${name}.sql`, import.meta.url), "utf8");
}

let cachedVersion: string | undefined;

/**
 * Content hash of the definitions and their SQL: changes whenever a feature's meaning could
 * change, so a model trained on one version can refuse an online store of another.
 */
export function featureVersion(): string {
  if (!cachedVersion) {
    const h = createHash("sha256");
    for (const f of FEATURES) h.update(`${f.name}\0${f.group}\0${f.kind}\0${f.unit ?? ""}\n`);
    for (const g of FEATURE_GROUPS) h.update(`${g.name}\0${featureSql(g.name)}\n`);
    h.update(featureSql("spine_training"));
    h.update(featureSql("spine_latest"));
    cachedVersion = h.digest("hex").slice(0, 12);
  }
  return cachedVersion;
}

/** The declarations as plain JSON (for `telco features list --json` and the serving layer). */
export function featureCatalog(): {
  entity: string;
  version: string;
  groups: FeatureGroup[];
  features: (FeatureDefinition & { sources: readonly string[]; freshness: Freshness })[];
} {
  const groups = new Map(FEATURE_GROUPS.map((g) => [g.name, g]));
  return {
    entity: ENTITY,
    version: featureVersion(),
    groups: [...FEATURE_GROUPS],
    features: FEATURES.map((f) => {
      const g = groups.get(f.group)!;
      return { ...f, sources: g.sources, freshness: g.freshness };
    }),
  };
}

/**
 * One human sentence about a feature value, e.g. explainFeature("fidelity_months_left", 1, "pt-BR")
 * → "fidelidade termina em 1 mês". Returns undefined for unknown features or missing values.
 */
export function explainFeature(name: string, value: unknown, lang: Language = "pt-BR"): string | undefined {
  const f = byName.get(name);
  if (!f || value === null || value === undefined || value === "") return undefined;
  const template = f.explain[lang];
  if (Array.isArray(template))
    return value === true || value === 1 || value === "true" ? template[0] : template[1];
  const one = Math.abs(Number(value)) === 1;
  return (template as string)
    .replace("{value}", formatValue(f, value, lang))
    .replace(/\{([^{}|]+)\|([^{}|]+)\}/g, (_m, singular: string, plural: string) =>
      one ? singular : plural,
    );
}

/** Cached Intl formatters (toLocaleString with options builds one per call: ~35 µs, per API reason). */
const numberFormats = new Map<string, Intl.NumberFormat>();

/** `digits` = maximum fraction digits; -1 = BRL currency. */
function numberFormat(locale: string, digits: number): Intl.NumberFormat {
  const key = `${locale}:${digits}`;
  let fmt = numberFormats.get(key);
  if (!fmt) {
    fmt = new Intl.NumberFormat(
      locale,
      digits < 0 ? { style: "currency", currency: "BRL" } : { maximumFractionDigits: digits },
    );
    numberFormats.set(key, fmt);
  }
  return fmt;
}

/** Formats a value with its unit the way a person reads it in `lang`. */
export function formatValue(f: FeatureDefinition, value: unknown, lang: Language = "pt-BR"): string {
  if (typeof value !== "number") return String(value);
  const locale = lang === "pt-BR" ? "pt-BR" : "en-US";
  const round = (digits: number) => numberFormat(locale, digits).format(value);
  switch (f.unit) {
    case "BRL":
      return numberFormat(locale, -1).format(value);
    case "%":
      return `${value > 0 && /change|trend/.test(f.name) ? "+" : ""}${round(1)}%`;
    case "GB":
      return `${round(1)} GB`;
    case "ms":
      return `${round(0)} ms`;
    case "months":
      return lang === "pt-BR"
        ? pluralPt(round(0), value, "mês", "meses")
        : pluralEn(round(0), value, "month");
    case "years":
      return round(0);
    case "score 1-5":
      return round(1);
    default:
      return round(1);
  }
}

function pluralPt(text: string, n: number, one: string, many: string): string {
  return `${text} ${Math.abs(n) === 1 ? one : many}`;
}

function pluralEn(text: string, n: number, word: string): string {
  return `${text} ${word}${Math.abs(n) === 1 ? "" : "s"}`;
}

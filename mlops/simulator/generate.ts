import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { UsageError } from "../../platform/errors.ts";
import type { DataContract } from "../ingestion/contract.ts";
import { type CatalogPlan, loadCatalog, type OperatorCatalog } from "./catalog.ts";
import { CHURN_DRIVERS, churnLogit, DRIVER_INDEX, FRAILTY_SD, PRODUCT_CHURN_OFFSET } from "./churn-model.ts";
import { loadSyntheticContracts, SYNTHETIC_TABLES, type SyntheticTable } from "./contracts.ts";
import { cpfFromNumber } from "./cpf.ts";
import { DRIFT_SCENARIOS, type DriftScenario, driftMonths } from "./drift.ts";
import {
  addMonths,
  civilFromDays,
  fixed,
  isoDate,
  isoTimestamp,
  money,
  monthStart,
  padInt,
  parseYearMonth,
} from "./format.ts";
import { cumulative, Rng } from "./prng.ts";
import { FEMALE_FIRST_NAMES, MALE_FIRST_NAMES, STATES, SURNAMES } from "./reference.ts";
import { buildRegions } from "./regions.ts";
import { TableWriter, type WrittenFile } from "./writer.ts";

/** Bumped whenever the same seed + params would produce different bytes. */
export const GENERATOR_VERSION = "1.1.0";

/** Months simulated before the window so month-0 churn has history (their rows are not written). */
const WARMUP_MONTHS = 3;
const TAX_RATE = 0.25;
const IPCA = 0.045;
/** Customers generated between backpressure checks. */
const BATCH = 256;

export interface GenerateOptions {
  customers: number;
  seed: number;
  months: number;
  /** First month of the window, YYYY-MM. */
  start: string;
  drift?: DriftScenario;
  /** Fraction of rows (0..0.5) that get a realistic defect. */
  dirtyRate?: number;
  /** Delivery folder (created). */
  outDir: string;
  /**
   * Called for every at-risk customer-month of the window with the true churn log-odds
   * (with and without the customer's frailty) and whether the customer cancelled that month.
   * For measuring how learnable the causal model is (the "oracle" AUC); not written anywhere.
   */
  onHazard?: HazardFn;
}

/** Receives one at-risk customer-month: window month index (0-based), true log-odds, outcome, contributions. */
export type HazardFn = (
  customerIndex: number,
  month: number,
  logit: number,
  logitWithoutFrailty: number,
  cancelled: boolean,
  /** β_k·x_k per driver (CHURN_DRIVERS order); reused buffer, copy to keep. */
  contributions: Float64Array,
) => void;

export interface MonthChurn {
  month: string;
  /** Customers who could cancel this month: active on its first day and past their signup month. */
  at_risk: number;
  cancelled: number;
  rate: number;
}

export interface DeliveryManifest {
  generator: string;
  generator_version: string;
  operator: string;
  seed: number;
  params: { customers: number; months: number; start: string; drift: DriftScenario; dirty_rate: number };
  window: { start_date: string; end_date: string; extract_date: string };
  drift: { scenario: DriftScenario; description: string; months: string[]; affected_ufs: string[] };
  churn: { overall_monthly_rate: number; by_month: MonthChurn[] };
  contracts: string;
  files: WrittenFile[];
}

export interface GenerateResult {
  outDir: string;
  manifestPath: string;
  manifest: DeliveryManifest;
}

/** Progress callback: customers done out of total. */
export type ProgressFn = (done: number, total: number) => void;

const PRODUCT_SHARE: Record<string, number> = {
  mobile_pre: 20,
  mobile_controle: 18,
  mobile_pos: 20,
  fibra: 27,
  tv: 3,
  combo: 12,
};
const CHANNELS = ["loja", "site", "app", "televendas", "parceiro", "porta_a_porta"];
const CHANNEL_CUM = cumulative([30, 18, 17, 15, 12, 8]);
const PAY_METHODS = ["pix", "boleto", "cartao", "debito"];
const PAY_CUM = cumulative([30, 30, 25, 15]);
const TICKET_CHANNELS = ["telefone", "app", "chat", "whatsapp", "loja", "anatel"];
const TICKET_CHANNEL_CUM = cumulative([35, 22, 15, 20, 6, 2]);
// Ticket categories (indexes into the contract enum order).
const CAT = [
  "cobranca",
  "tecnico_internet",
  "tecnico_movel",
  "tecnico_tv",
  "plano",
  "cancelamento",
  "outros",
];
const CAT_MEDIAN_HOURS = [8, 20, 14, 16, 3, 1, 2];
const DAYS_PER_MONTH = 30.44;

/** Bit mask of network services a plan uses (for outages and quality). */
const SVC_MOBILE = 1;
const SVC_FIBRA = 2;
const SVC_TV = 4;

interface PlanInfo {
  plan: CatalogPlan;
  priceCents: number;
  services: number;
  allowanceGb: number;
  speed: number;
  fidelityMonths: number;
  benefitCents: number;
  prepaid: boolean;
}

/**
 * Generates one delivery of the simulated operator's raw exports, streaming every file.
 * Same options → byte-identical files and manifest.
 */
export async function generateOperatorData(
  opts: GenerateOptions,
  onProgress?: ProgressFn,
): Promise<GenerateResult> {
  const params = validateOptions(opts);
  const { customers: N, seed, months: M, drift } = params;
  const catalog = loadCatalog();
  const contracts = loadSyntheticContracts();
  const [startYear, startMonth] = parseYearMonth(params.start) as [number, number];
  const W = WARMUP_MONTHS;
  const T = W + M;
  // ms[t] = first day of simulated month t (t = 0 is the first warm-up month); ms[T] = extract date.
  const ms = new Int32Array(T + 1);
  for (let t = 0; t <= T; t++) ms[t] = monthStart(startYear, startMonth, t - W);
  const monthOfYear = Int32Array.from({ length: T }, (_, t) => civilFromDays(ms[t] as number)[1]);
  const dim = new Int32Array(T);
  for (let t = 0; t < T; t++) dim[t] = (ms[t + 1] as number) - (ms[t] as number);
  const extract = ms[T] as number;
  const windowStart = ms[W] as number;
  const D = drift === "none" ? 0 : driftMonths(M);
  const driftStartT = T - D;
  const monthLabel = (t: number) => isoDate(ms[t] as number).slice(0, 7);

  mkdirSync(opts.outDir, { recursive: true });
  const writers = new Map<SyntheticTable, TableWriter>();
  SYNTHETIC_TABLES.forEach((name, i) => {
    const contract = contracts.get(name) as DataContract;
    writers.set(
      name,
      new TableWriter(contract, opts.outDir, { dirtyRate: params.dirtyRate, seed, stream: i }),
    );
  });
  const w = (name: SyntheticTable) => writers.get(name) as TableWriter;
  const wCustomers = w("crm_customers");
  const wContracts = w("crm_contracts");
  const wInvoices = w("billing_invoices");
  const wItems = w("billing_invoice_items");
  const wPayments = w("billing_payments");
  const wDisputes = w("billing_disputes");
  const wUsage = w("usage_monthly");
  const wOutages = w("network_outages");
  const wQuality = w("network_quality");
  const wTickets = w("support_tickets");
  const wOffers = w("market_competitor_offers");

  try {
    const plans = planInfos(catalog);
    const planCum = cumulative(plans.map((p) => planWeight(p, plans)));
    const dueDays = catalog.rules.invoice_due_days;
    const region = buildRegions(
      { seed, drift, ms, dim, warmup: W, driftStartT, competitors: catalog.competitors },
      {
        outage: (cells) => wOutages.write(cells),
        offer: (cells) => wOffers.write(cells),
      },
    );
    const {
      MAXC,
      stateCum,
      cityCums,
      cityQuality,
      degradation,
      outageMin,
      compDiscount,
      degradedStates,
      newCompetitorStates,
    } = region;

    // ---- customers, one at a time (all per-customer state lives in these reused arrays) ----
    const rng = new Rng(seed);
    const charge = new Float64Array(T);
    const quality = new Float64Array(T);
    const dueDay = new Int32Array(T);
    const paidDay = new Int32Array(T);
    const invoiced = new Uint8Array(T);
    const TK = 64;
    const tkOpenT = new Int32Array(TK);
    const tkResolved = new Float64Array(TK); // minutes since epoch; Infinity = never
    const tkRepeat = new Uint8Array(TK);
    const lastTicketDay = new Float64Array(CAT.length);
    const x = new Float64Array(CHURN_DRIVERS.length);
    const contrib = new Float64Array(CHURN_DRIVERS.length);
    const atRisk = new Float64Array(M);
    const cancelledIn = new Float64Array(M);
    const catWeights = new Float64Array(CAT.length);
    const ticketDays: number[] = [];
    let ticketSeq = 0;
    let disputeSeq = 0;
    let measurementSeq = 0;
    const iPrice = DRIVER_INDEX.price_increase as number;
    const iSpeed = DRIVER_INDEX.speed_shortfall as number;
    const iOutage = DRIVER_INDEX.regional_outages as number;
    const iSupport = DRIVER_INDEX.unresolved_support as number;
    const iFidEnd = DRIVER_INDEX.fidelity_ending as number;
    const iLock = DRIVER_INDEX.fidelity_lock_in as number;
    const iComp = DRIVER_INDEX.competitor_offer as number;
    const iLate = DRIVER_INDEX.late_payments as number;
    const iProduct = DRIVER_INDEX.product as number;

    for (let ci = 0; ci < N; ci++) {
      rng.reseed(seed, 2, ci);
      const idx8 = padInt(ci + 1, 8);
      const customerId = `AUR-${idx8}`;
      const contractId = `CTR-${idx8}`;
      // -- static profile --
      const s = rng.pickCumulative(stateCum);
      const st = STATES[s] as (typeof STATES)[number];
      const c = rng.pickCumulative(cityCums[s] as Float64Array);
      const cityRef = st.cities[c] as (typeof st.cities)[number];
      const female = rng.chance(0.52);
      const first = rng.pick(female ? FEMALE_FIRST_NAMES : MALE_FIRST_NAMES);
      const middle = rng.chance(0.3) ? ` ${rng.pick(female ? FEMALE_FIRST_NAMES : MALE_FIRST_NAMES)}` : "";
      const name = `${first}${middle} ${rng.pick(SURNAMES)} ${rng.pick(SURNAMES)}`;
      const age = Math.min(88, Math.max(18, Math.round(42 + 14 * rng.normal())));
      const birthDay = windowStart - Math.floor(age * 365.25) - rng.int(365);
      const smb = rng.chance(0.12);
      const acquisition = CHANNELS[rng.pickCumulative(CHANNEL_CUM)] as string;
      const salesChannel = rng.chance(0.7)
        ? acquisition
        : (CHANNELS[rng.pickCumulative(CHANNEL_CUM)] as string);
      const cep = `${padInt(cityRef.cepFrom + rng.int(cityRef.cepTo - cityRef.cepFrom + 1), 5)}-${padInt(rng.int(1000), 3)}`;
      const phone = `(${cityRef.ddd}) 9${padInt(rng.int(10000), 4)}-${padInt(rng.int(10000), 4)}`;
      // Bijective in ci (3^18 is coprime with 10^9): unique CPFs for up to 10^9 customers.
      const cpf = cpfFromNumber((mulMod1e9(ci, 387420489) + mulMod1e9(seed >>> 0, 7919) + 100_000_000) % 1e9);
      const pinfo = plans[rng.pickCumulative(planCum)] as PlanInfo;
      const plan = pinfo.plan;
      // Tenure: 12% join during the window, the rest earlier (exponential, mean 30 months).
      let signupDay: number;
      if (rng.chance(0.12)) signupDay = windowStart + rng.int(extract - windowStart);
      else {
        const tenureMonths = Math.min(120, -Math.log(1 - rng.float()) * 30);
        signupDay = windowStart - Math.round(tenureMonths * DAYS_PER_MONTH) - rng.int(20);
      }
      let contractStart = signupDay;
      const fullYears = Math.floor((windowStart - signupDay) / 365.25);
      if (pinfo.fidelityMonths > 0 && fullYears >= 1 && rng.chance(0.5))
        contractStart = addMonths(signupDay, 12 * (1 + rng.int(fullYears)));
      const fidelityEnd = pinfo.fidelityMonths > 0 ? addMonths(contractStart, pinfo.fidelityMonths) : -1;
      const anniversaryMonth = civilFromDays(contractStart)[1];
      const firstAnniversary = addMonths(contractStart, 12);
      const reajusteRate = IPCA + (rng.chance(0.25) ? rng.uniform(0.05, 0.15) : 0);
      const promoPct = signupDay >= addMonths(windowStart, -6) && rng.chance(0.35) ? 20 + 5 * rng.int(3) : 0;
      const promoEnd = addMonths(signupDay, 6);
      const lineQuality = rng.chance(0.12) ? rng.uniform(0.5, 0.78) : rng.uniform(0.9, 1.05);
      const lateClass = rng.float();
      const lateProb = lateClass < 0.7 ? 0.03 : lateClass < 0.92 ? 0.18 : 0.55;
      const lateMean = lateClass < 0.92 ? 6 : 22;
      const ticketProp = Math.exp(0.6 * rng.normal() - 0.18);
      const resolveProb = rng.chance(0.12) ? 0.55 : 0.93;
      const frailty = FRAILTY_SD * rng.normal();
      const dueDom = dueDays[rng.int(dueDays.length)] as number;
      const method = PAY_METHODS[rng.pickCumulative(PAY_CUM)] as string;
      const usageIntensity = Math.exp(0.25 * rng.normal());
      const smsProp = Math.exp(0.5 * rng.normal());
      const cityQ = cityQuality[s * MAXC + c] as number;
      const outBase = (s * MAXC + c) * 3 * T;
      const hasMobile = (pinfo.services & SVC_MOBILE) !== 0;
      const hasFibra = (pinfo.services & SVC_FIBRA) !== 0;
      const hasNet = hasMobile || hasFibra;
      const productOffset = PRODUCT_CHURN_OFFSET[plan.product] ?? 0;

      // -- monthly simulation --
      const firstT = Math.max(0, signupDay >= (ms[0] as number) ? monthIndex(ms, signupDay) : 0);
      let price = pinfo.priceCents;
      let churnDay = -1;
      let churnT = -1;
      let reason = "";
      let nTk = 0;
      lastTicketDay.fill(Number.NEGATIVE_INFINITY);
      invoiced.fill(0);
      let prevExtraPackages = 0;
      let prevRoamingMb = 0;

      for (let t = firstT; t < T; t++) {
        const m0 = ms[t] as number;
        const m1 = ms[t + 1] as number;
        const emit = t >= W;
        // at risk this month: active at its first day and past the signup month
        if (emit && t > firstT) atRisk[t - W]++;
        // 1) price events at the start of the month (before the churn draw: a customer whose
        // invoice for this month is already issued has seen the new price)
        if (monthOfYear[t] === anniversaryMonth && m0 >= firstAnniversary)
          price = Math.round(price * (1 + reajusteRate));
        if (t === driftStartT && drift === "price-increase")
          price = Math.round(price * rng.uniform(1.15, 1.25));
        const discountCents = promoPct > 0 && m0 < promoEnd ? Math.round((price * promoPct) / 100) : 0;
        charge[t] = price - discountCents;
        const priceUp = t > firstT && (charge[t] as number) > (charge[t - 1] as number) * 1.001;
        // 2) churn hazard from what the customer knows at the month's first day
        if (emit && t > firstT) {
          // price change over 3 months as the latest invoice shows it: this month's invoice is
          // issued before the month starts for due days up to 10. Prepaid has no invoice to show it.
          const lastBilled = dueDom <= 10 ? t : t - 1;
          const q0 = charge[Math.max(firstT, lastBilled - 3)] as number;
          x[iPrice] = !pinfo.prepaid && q0 > 0 ? Math.max(0, (charge[lastBilled] as number) / q0 - 1) : 0;
          // quality and outages over the last 3 months (what a 90-day window of speed tests and
          // outage records can observe)
          if (hasNet) {
            let qSum = 0;
            const qFrom = Math.max(firstT, t - 3);
            for (let t2 = qFrom; t2 < t; t2++) qSum += quality[t2] as number;
            x[iSpeed] = Math.max(0, 0.8 - qSum / (t - qFrom)) / 0.8;
          } else x[iSpeed] = 0;
          let outMin = 0;
          for (let t2 = Math.max(0, t - 3); t2 < t; t2++)
            outMin += outageMinutes(outageMin, outBase, T, t2, pinfo.services);
          x[iOutage] = Math.log1p(outMin / 60);
          let bad = 0;
          for (let k = 0; k < nTk; k++) {
            const ot = tkOpenT[k] as number;
            if (ot >= t - 3 && ot <= t - 1 && (tkRepeat[k] === 1 || (tkResolved[k] as number) >= m0 * 1440))
              bad++;
          }
          x[iSupport] = Math.min(4, bad);
          const monthsLeft =
            fidelityEnd >= 0 ? (fidelityEnd - m0) / DAYS_PER_MONTH : Number.NEGATIVE_INFINITY;
          x[iFidEnd] = monthsLeft >= -3 && monthsLeft <= 1 ? 1 : 0;
          x[iLock] = monthsLeft > 2 ? 1 : 0;
          x[iComp] = compDiscount[s * T + t - 1] as number;
          let late = 0;
          for (let t2 = Math.max(firstT, t - 3); t2 < t; t2++) {
            if (invoiced[t2] && Math.min(paidDay[t2] as number, m0) - (dueDay[t2] as number) > 10) late++;
          }
          x[iLate] = Math.min(3, late);
          x[iProduct] = productOffset;
          const logit = churnLogit(x, frailty, contrib);
          const p = 1 / (1 + Math.exp(-logit));
          if (rng.float() < p) {
            churnT = t;
            churnDay = m0 + rng.int(m1 - m0);
            reason = cancelReason(contrib, rng);
            cancelledIn[t - W]++;
          }
          opts.onHazard?.(ci, t - W, logit, logit - frailty, churnT === t, contrib);
        }
        // 3) latent delivered quality this month
        quality[t] = Math.min(
          1.2,
          Math.max(
            0.05,
            cityQ * lineQuality * (degradation[s * T + t] as number) * (1 + 0.05 * rng.normal()),
          ),
        );
        const q = quality[t] as number;
        const from = Math.max(m0, signupDay);
        const to = churnT === t ? churnDay + 1 : m1;
        const frac = Math.max(0, to - from) / (dim[t] as number);
        const monthDate = isoDate(m0);
        const yyyymm = monthDate.slice(0, 4) + monthDate.slice(5, 7);

        // 4) usage
        let dataGb = 0;
        let extraPackages = 0;
        let voice = 0;
        let sms = 0;
        let roamingMb = 0;
        if (hasMobile) {
          const used = pinfo.allowanceGb * usageIntensity * rng.uniform(0.55, 1.15);
          const over = used - pinfo.allowanceGb;
          extraPackages = over > 0 ? (over <= 2 ? 1 : 2) : 0;
          dataGb += used * frac;
          voice = Math.round(Math.exp(Math.log(pinfo.prepaid ? 50 : 150) + 0.7 * rng.normal()) * frac);
          sms = rng.poisson(5 * smsProp * frac);
          if (rng.chance(0.02)) roamingMb = Math.round(rng.uniform(50, 2500) * frac * 10) / 10;
        }
        if (hasFibra) dataGb += Math.exp(Math.log(220) + 0.6 * rng.normal()) * usageIntensity * frac;
        if (emit) {
          wUsage.write([
            customerId,
            monthDate,
            fixed(dataGb, 2),
            String(voice),
            String(sms),
            fixed(roamingMb, 1),
          ]);
        }

        // 5) invoice, items, payment, dispute (postpaid only)
        let disputed = false;
        let lateThisMonth = false;
        if (!pinfo.prepaid) {
          let due = m0 + dueDom - 1;
          let issue = due - 10;
          if (issue < signupDay) {
            issue = signupDay;
            due = Math.max(due, signupDay + 10);
          }
          invoiced[t] = 1;
          dueDay[t] = due;
          let paid: number;
          if (rng.chance(lateProb * (priceUp ? 1.4 : 1))) {
            paid = due + 1 + Math.floor(-Math.log(1 - rng.float()) * lateMean);
            lateThisMonth = true;
          } else paid = due - rng.int(8);
          paidDay[t] = paid;
          const extraCents = prevExtraPackages === 0 ? 0 : prevExtraPackages === 1 ? 1499 : 2999;
          const roamingDays = prevRoamingMb > 0 ? Math.ceil(prevRoamingMb / 400) : 0;
          const roamingCents = roamingDays * 2990;
          const invoiceId = `INV-${yyyymm}-${idx8}`;
          const disputeChance =
            0.004 + (priceUp ? 0.04 : 0) + (roamingDays ? 0.06 : 0) + (extraCents ? 0.01 : 0);
          disputed = rng.chance(disputeChance);
          // gross lines in cents (tax included), then split the tax out so lines sum to the total
          const total = price - discountCents + extraCents + roamingCents;
          const netPlan = price - Math.round(price * TAX_RATE);
          const netDiscount = -discountCents - Math.round(-discountCents * TAX_RATE);
          const netExtra = extraCents - Math.round(extraCents * TAX_RATE);
          const netRoaming = roamingCents - Math.round(roamingCents * TAX_RATE);
          const taxCents = total - netPlan - netDiscount - netExtra - netRoaming;
          let status = "paid";
          let disputeOpen = false;
          if (disputed && emit) {
            disputeSeq++;
            const opened = issue + 1 + rng.int(15);
            const reasonCode = priceUp
              ? "reajuste"
              : roamingDays
                ? "roaming"
                : rng.pick([
                    "cobranca_indevida",
                    "valor_incorreto",
                    "servico_nao_contratado",
                    "multa_fidelidade",
                  ]);
            const resolved = rng.chance(0.85) ? opened + 3 + rng.int(28) : Number.POSITIVE_INFINITY;
            const open = resolved >= extract;
            disputeOpen = opened < extract && open;
            if (opened < extract) {
              wDisputes.write([
                `DSP-${padInt(disputeSeq, 9)}`,
                invoiceId,
                customerId,
                isoDate(opened),
                reasonCode,
                open ? "open" : rng.chance(0.35) ? "upheld" : "rejected",
                open ? "" : isoDate(resolved),
              ]);
            }
          }
          if (paid >= extract) status = disputeOpen ? "disputed" : due >= extract - 5 ? "open" : "overdue";
          if (emit) {
            wInvoices.write([
              invoiceId,
              customerId,
              contractId,
              monthDate,
              isoDate(issue),
              isoDate(due),
              money(total),
              money(discountCents),
              money(taxCents),
              status,
            ]);
            let line = 0;
            wItems.write([invoiceId, String(++line), "plan", `Mensalidade ${plan.name}`, money(netPlan)]);
            if (discountCents)
              wItems.write([
                invoiceId,
                String(++line),
                "discount",
                `Desconto promocional ${promoPct}%`,
                money(netDiscount),
              ]);
            if (extraCents)
              wItems.write([
                invoiceId,
                String(++line),
                "extra",
                `Pacote adicional de dados ${prevExtraPackages === 1 ? "2GB" : "5GB"}`,
                money(netExtra),
              ]);
            if (roamingCents)
              wItems.write([
                invoiceId,
                String(++line),
                "roaming",
                `Roaming internacional, ${roamingDays} diária(s) Américas`,
                money(netRoaming),
              ]);
            wItems.write([invoiceId, String(++line), "tax", "Tributos (ICMS, PIS, COFINS)", money(taxCents)]);
            const unpaid = paid >= extract;
            wPayments.write([
              `PAY-${yyyymm}-${idx8}`,
              invoiceId,
              customerId,
              isoDate(due),
              unpaid ? "" : isoDate(paid),
              unpaid ? "0.00" : money(total),
              method,
              String(Math.max(0, (unpaid ? extract : paid) - due)),
            ]);
          }
        }
        prevExtraPackages = extraPackages;
        prevRoamingMb = roamingMb;

        // 6) support tickets, driven by this month's experience
        const shortfall = hasNet ? Math.max(0, 0.8 - q) / 0.8 : 0;
        const outHours = outageMinutes(outageMin, outBase, T, t, pinfo.services) / 60;
        const techW = 0.014 * ticketProp + 0.9 * shortfall + 0.06 * Math.log1p(outHours);
        catWeights.fill(0);
        catWeights[0] =
          0.012 * ticketProp + (priceUp ? 0.3 : 0) + (disputed ? 0.5 : 0) + (lateThisMonth ? 0.1 : 0);
        const techCat = hasFibra ? (hasMobile && rng.chance(0.3) ? 2 : 1) : hasMobile ? 2 : 3;
        catWeights[techCat] = techW;
        catWeights[4] = 0.008 * ticketProp;
        catWeights[6] = 0.006 * ticketProp;
        let lambda = 0;
        for (let k = 0; k < CAT.length; k++) lambda += catWeights[k] as number;
        const nTickets = Math.min(4, rng.poisson(lambda * frac));
        ticketDays.length = 0;
        for (let k = 0; k < nTickets; k++) ticketDays.push(from + rng.int(Math.max(1, to - from)));
        ticketDays.sort((a, b) => a - b);
        for (const day of ticketDays) {
          let r = rng.float() * lambda;
          let cat = 0;
          while (cat < CAT.length - 1 && r >= (catWeights[cat] as number)) r -= catWeights[cat++] as number;
          const minute = 480 + rng.int(840);
          const repeat = day - (lastTicketDay[cat] as number) <= 30;
          lastTicketDay[cat] = day;
          const resolved = rng.chance(resolveProb * (repeat ? 0.85 : 1));
          const hours = resolved
            ? Math.round(Math.exp(Math.log(CAT_MEDIAN_HOURS[cat] as number) + 0.8 * rng.normal()) * 10) / 10
            : 0;
          const openedMin = day * 1440 + minute;
          const resolvedMin = resolved ? openedMin + Math.round(hours * 60) : Number.POSITIVE_INFINITY;
          if (nTk < TK) {
            tkOpenT[nTk] = t;
            tkResolved[nTk] = resolvedMin;
            tkRepeat[nTk] = repeat ? 1 : 0;
            nTk++;
          }
          if (emit) {
            const resolvedInExtract = resolvedMin < extract * 1440;
            const answered = rng.chance(0.45);
            const score = Math.round(
              4.2 -
                1.8 * (resolvedInExtract ? 0 : 1) -
                0.9 * (repeat ? 1 : 0) -
                shortfall +
                0.7 * rng.normal(),
            );
            writeTicket(
              wTickets,
              ++ticketSeq,
              customerId,
              day,
              minute,
              TICKET_CHANNELS[rng.pickCumulative(TICKET_CHANNEL_CUM)] as string,
              CAT[cat] as string,
              resolvedInExtract ? resolvedMin : -1,
              resolvedInExtract ? hours : -1,
              repeat,
              answered ? Math.min(5, Math.max(1, score)) : 0,
            );
          }
        }

        // 7) speed tests
        if (emit && hasNet) {
          const nTests = hasFibra ? Math.min(4, rng.poisson(1.3 * frac)) : rng.chance(0.35 * frac) ? 1 : 0;
          for (let k = 0; k < nTests; k++) {
            const day = from + rng.int(Math.max(1, to - from));
            const minute = rng.int(1440);
            const contracted = hasFibra ? pinfo.speed : 0;
            const download = hasFibra
              ? contracted * q * rng.uniform(0.85, 1.1)
              : 60 * q * Math.exp(0.3 * rng.normal());
            const latency = ((hasFibra ? 12 : 45) / q) * rng.uniform(0.8, 1.25);
            const loss = Math.min(100, (0.3 / (q * q)) * rng.uniform(0.5, 1.5));
            wQuality.write([
              `MEA-${padInt(++measurementSeq, 10)}`,
              customerId,
              isoTimestamp(day, minute),
              fixed(latency, 1),
              fixed(loss, 2),
              fixed(download, 1),
              hasFibra ? fixed(contracted, 0) : "",
            ]);
          }
        }

        if (churnT === t) {
          if (emit) {
            const day = Math.max(from, churnDay - rng.int(3));
            const openedMinute = 600 + rng.int(480);
            const resolvedMin = day * 1440 + openedMinute + 20 + rng.int(100);
            const resolvedInExtract = resolvedMin < extract * 1440;
            writeTicket(
              wTickets,
              ++ticketSeq,
              customerId,
              day,
              openedMinute,
              rng.pick(["telefone", "app", "loja"]),
              "cancelamento",
              resolvedInExtract ? resolvedMin : -1,
              resolvedInExtract ? Math.round((resolvedMin - day * 1440 - openedMinute) / 6) / 10 : -1,
              false,
              0,
            );
          }
          break;
        }
      }

      // -- CRM rows (state at the extract date or at cancellation) --
      wCustomers.write([
        customerId,
        name,
        cpf,
        isoDate(birthDay),
        female ? "F" : "M",
        st.uf,
        cityRef.name,
        cep,
        smb ? "smb" : "consumer",
        acquisition,
        isoDate(signupDay),
        phone,
      ]);
      const refDay = churnDay >= 0 ? churnDay : extract;
      let fineCents = 0;
      if (fidelityEnd > refDay && pinfo.fidelityMonths > 0) {
        const remaining = Math.min(pinfo.fidelityMonths, Math.ceil((fidelityEnd - refDay) / DAYS_PER_MONTH));
        fineCents = Math.round((pinfo.benefitCents * remaining) / pinfo.fidelityMonths);
      }
      wContracts.write([
        contractId,
        customerId,
        plan.plan_id,
        plan.product,
        isoDate(contractStart),
        String(pinfo.fidelityMonths),
        fidelityEnd >= 0 ? isoDate(fidelityEnd) : "",
        money(fineCents),
        money(price),
        churnDay >= 0 ? "cancelled" : "active",
        churnDay >= 0 ? isoDate(churnDay) : "",
        reason,
        salesChannel,
      ]);

      if ((ci + 1) % BATCH === 0 || ci === N - 1) {
        for (const tw of writers.values()) await tw.drain();
        if (onProgress && ((ci + 1) % 4096 === 0 || ci === N - 1)) onProgress(ci + 1, N);
      }
    }

    const files: WrittenFile[] = [];
    for (const name of SYNTHETIC_TABLES) files.push(await w(name).close());

    const byMonth: MonthChurn[] = [];
    let activeSum = 0;
    let cancelSum = 0;
    for (let m = 0; m < M; m++) {
      const a = atRisk[m] as number;
      const k = cancelledIn[m] as number;
      activeSum += a;
      cancelSum += k;
      byMonth.push({
        month: monthLabel(W + m),
        at_risk: a,
        cancelled: k,
        rate: round4(a ? k / a : 0),
      });
    }
    const driftMonthsList: string[] = [];
    for (let t = driftStartT; t < T && D > 0; t++) driftMonthsList.push(monthLabel(t));
    const affected =
      drift === "network-degradation"
        ? degradedStates
        : drift === "new-competitor"
          ? newCompetitorStates
          : [];
    const manifest: DeliveryManifest = {
      generator: "aurora-telecom-simulator",
      generator_version: GENERATOR_VERSION,
      operator: catalog.operator,
      seed,
      params: { customers: N, months: M, start: params.start, drift, dirty_rate: params.dirtyRate },
      window: {
        start_date: isoDate(windowStart),
        end_date: isoDate(extract - 1),
        extract_date: isoDate(extract),
      },
      drift: {
        scenario: drift,
        description: DRIFT_SCENARIOS[drift].description,
        months: driftMonthsList,
        affected_ufs: affected.map((s) => STATES[s]?.uf as string).sort(),
      },
      churn: { overall_monthly_rate: round4(activeSum ? cancelSum / activeSum : 0), by_month: byMonth },
      contracts: "data/schemas/synthetic",
      files,
    };
    const manifestPath = join(opts.outDir, "manifest.json");
    writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
    return { outDir: opts.outDir, manifestPath, manifest };
  } catch (err) {
    for (const tw of writers.values()) tw.destroy();
    throw err;
  }
}

/** A run label that names the parameters, e.g. `aurora-c5000-m12-s42-price-increase`. */
export function runLabel(
  o: Pick<GenerateOptions, "customers" | "months" | "seed" | "drift" | "dirtyRate">,
): string {
  const drift = o.drift && o.drift !== "none" ? `-${o.drift}` : "";
  const dirty = o.dirtyRate ? `-dirty${o.dirtyRate}` : "";
  return `aurora-c${o.customers}-m${o.months}-s${o.seed}${drift}${dirty}`;
}

function validateOptions(o: GenerateOptions) {
  if (!Number.isInteger(o.customers) || o.customers < 1 || o.customers > 50_000_000)
    throw new UsageError(`customers must be a whole number between 1 and 50000000, got ${o.customers}`);
  if (!Number.isInteger(o.months) || o.months < 1 || o.months > 60)
    throw new UsageError(`months must be a whole number between 1 and 60, got ${o.months}`);
  if (!Number.isInteger(o.seed) || o.seed < 0 || o.seed > 0xffffffff)
    throw new UsageError(`seed must be a whole number between 0 and 4294967295, got ${o.seed}`);
  if (!parseYearMonth(o.start))
    throw new UsageError(`start must be YYYY-MM (e.g. 2025-01), got "${o.start}"`);
  const drift = o.drift ?? "none";
  if (!(drift in DRIFT_SCENARIOS))
    throw new UsageError(`unknown drift scenario "${drift}"`, {
      hint: `choose one of: ${Object.keys(DRIFT_SCENARIOS).join(", ")}`,
    });
  const dirtyRate = o.dirtyRate ?? 0;
  if (!(dirtyRate >= 0 && dirtyRate <= 0.5))
    throw new UsageError(`dirty-rate must be between 0 and 0.5, got ${o.dirtyRate}`);
  return { customers: o.customers, months: o.months, seed: o.seed, start: o.start, drift, dirtyRate };
}

function planInfos(catalog: OperatorCatalog): PlanInfo[] {
  return catalog.plans.map((plan) => {
    let services = 0;
    if (plan.product.startsWith("mobile") || (plan.product === "combo" && plan.data_gb !== null))
      services |= SVC_MOBILE;
    if (plan.speed_mbps !== null) services |= SVC_FIBRA;
    if (plan.product === "tv" || /\bTV\b/.test(plan.name)) services |= SVC_TV;
    return {
      plan,
      priceCents: Math.round(plan.monthly_price_brl * 100),
      services,
      allowanceGb: plan.data_gb ?? 0,
      speed: plan.speed_mbps ?? 0,
      fidelityMonths: plan.fidelity_months,
      benefitCents: Math.round(plan.fidelity_benefit_brl * 100),
      prepaid: plan.product === "mobile_pre",
    };
  });
}

function planWeight(p: PlanInfo, all: PlanInfo[]): number {
  const siblings = all.filter((o) => o.plan.product === p.plan.product).length;
  return (PRODUCT_SHARE[p.plan.product] ?? 1) / siblings;
}

/** Outage minutes in month t for a customer's city and services (combos add every service). */
function outageMinutes(
  outageMin: Float32Array,
  base: number,
  T: number,
  t: number,
  services: number,
): number {
  let sum = 0;
  for (let cls = 0; cls < 3; cls++) if (services & (1 << cls)) sum += outageMin[base + cls * T + t] as number;
  return sum;
}

/** Index of the month (in ms) that contains `day`. */
function monthIndex(ms: Int32Array, day: number): number {
  let t = 0;
  while (t + 1 < ms.length - 1 && (ms[t + 1] as number) <= day) t++;
  return t;
}

const REASON_BY_DRIVER = CHURN_DRIVERS.map((d) => d.cancelReason);
const lockInIndex = DRIVER_INDEX.fidelity_lock_in as number;
const productIndex = DRIVER_INDEX.product as number;

/** Cancel reason drawn in proportion to each driver's positive contribution, plus unexplained reasons. */
function cancelReason(contrib: Float64Array, rng: Rng): string {
  let total = 0.6;
  for (let k = 0; k < contrib.length; k++) {
    if (k === lockInIndex || k === productIndex) continue;
    total += Math.max(0, contrib[k] as number);
  }
  let r = rng.float() * total;
  for (let k = 0; k < contrib.length; k++) {
    if (k === lockInIndex || k === productIndex) continue;
    const v = Math.max(0, contrib[k] as number);
    if (r < v) return REASON_BY_DRIVER[k] as string;
    r -= v;
  }
  return r < 0.35 ? "mudanca_endereco" : "outros";
}

function writeTicket(
  wr: TableWriter,
  seq: number,
  customerId: string,
  day: number,
  minute: number,
  channel: string,
  category: string,
  resolvedMin: number,
  hours: number,
  repeat: boolean,
  satisfaction: number,
): void {
  wr.write([
    `TKT-${padInt(seq, 9)}`,
    customerId,
    isoTimestamp(day, minute),
    channel,
    category,
    resolvedMin >= 0 ? isoTimestamp(Math.floor(resolvedMin / 1440), resolvedMin % 1440) : "",
    hours >= 0 ? fixed(hours, 1) : "",
    repeat ? "true" : "false",
    satisfaction > 0 ? String(satisfaction) : "",
  ]);
}

/** (a × b) mod 10^9 without losing precision beyond 2^53 (b < 10^9). */
function mulMod1e9(a: number, b: number): number {
  const m = 1e9;
  const aa = a % m;
  const hi = Math.floor(b / 1e6);
  const lo = b % 1e6;
  return (((((aa * hi) % m) * 1e6) % m) + ((aa * lo) % m)) % m;
}

function round4(v: number): number {
  return Math.round(v * 10000) / 10000;
}

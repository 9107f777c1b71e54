import type { DriftScenario } from "./drift.ts";
import { fixed, isoDate, isoTimestamp, padInt } from "./format.ts";
import { cumulative, Rng } from "./prng.ts";
import { STATES } from "./reference.ts";

const OUTAGE_CAUSES = [
  "rompimento_fibra",
  "falha_energia",
  "falha_equipamento",
  "manutencao",
  "vandalismo",
  "clima",
];
const OUTAGE_CAUSE_CUM = cumulative([30, 20, 20, 12, 8, 10]);
const OUTAGE_PRODUCTS = ["mobile", "fibra", "tv", "all"];
const OUTAGE_PRODUCT_CUM = cumulative([35, 45, 5, 15]);

export interface RegionParams {
  seed: number;
  drift: DriftScenario;
  /** First day of each simulated month (index 0 = first warm-up month); last entry = extract date. */
  ms: Int32Array;
  /** Days in each simulated month. */
  dim: Int32Array;
  /** Warm-up months before the window (their rows are not written). */
  warmup: number;
  /** First simulated month of the drift window. */
  driftStartT: number;
  competitors: readonly string[];
}

/** Row sinks for the two regional tables (cells in contract column order). */
export interface RegionSinks {
  outage(cells: string[]): void;
  offer(cells: string[]): void;
}

/**
 * Region-level state shared by all customers, indexed by state (UF), city and month: city
 * network quality, drift degradation, outage minutes per service class, and the strongest
 * competitor discount. A few KB whatever the number of customers; the outage and offer rows
 * are written while it is built.
 */
export interface Regions {
  /** Max cities per state (stride of the city dimension). */
  MAXC: number;
  stateCum: Float64Array;
  cityCums: Float64Array[];
  /** [state * MAXC + city] → baseline delivered quality factor. */
  cityQuality: Float64Array;
  /** [state * T + t] → quality multiplier (1, or 0.65 in degraded states during the drift). */
  degradation: Float64Array;
  /** [((state * MAXC + city) * 3 + class) * T + t] → outage minutes (class 0 mobile, 1 fibra, 2 tv). */
  outageMin: Float32Array;
  /** [state * T + t] → max competitor discount (0..1) of offers running on the last day of month t. */
  compDiscount: Float64Array;
  degradedStates: number[];
  newCompetitorStates: number[];
}

/** Builds the regional state and writes network_outages and market_competitor_offers rows. */
export function buildRegions(p: RegionParams, out: RegionSinks): Regions {
  const { seed, drift, ms, dim, driftStartT } = p;
  const W = p.warmup;
  const T = ms.length - 1;
  const extract = ms[T] as number;
  const windowStart = ms[W] as number;
  const S = STATES.length;
  const MAXC = Math.max(...STATES.map((s) => s.cities.length));
  const stateCum = cumulative(STATES.map((s) => s.weight));
  const cityCums = STATES.map((s) => cumulative(s.cities.map((c) => c.weight)));
  const regionRng = new Rng(seed, 1, 0);

  // ---- regional state: city quality, degradation, outages, competitor offers ----
  const cityQuality = new Float64Array(S * MAXC);
  for (let i = 0; i < cityQuality.length; i++) cityQuality[i] = regionRng.uniform(0.86, 1.04);
  const stateOrder = shuffled(S, regionRng);
  const degradedStates = drift === "network-degradation" ? stateOrder.slice(0, 3) : [];
  const degradation = new Float64Array(S * T).fill(1);
  for (const s of degradedStates) for (let t = driftStartT; t < T; t++) degradation[s * T + t] = 0.65;

  const outageMin = new Float32Array(S * MAXC * 3 * T);
  const stateLambda = STATES.map((s) => 1.5 + 0.35 * s.weight);
  let outageSeq = 0;
  for (let t = 0; t < T; t++) {
    for (let s = 0; s < S; s++) {
      const st = STATES[s] as (typeof STATES)[number];
      const degraded = (degradation[s * T + t] as number) < 1;
      const n = regionRng.poisson((stateLambda[s] as number) * (degraded ? 3 : 1));
      for (let k = 0; k < n; k++) {
        const cityIdx = regionRng.chance(0.2) ? -1 : regionRng.pickCumulative(cityCums[s] as Float64Array);
        const day = (ms[t] as number) + regionRng.int(dim[t] as number);
        const minute = regionRng.int(1440);
        let duration = Math.round(Math.exp(Math.log(100) + 0.9 * regionRng.normal()) * (degraded ? 1.5 : 1));
        duration = Math.min(2880, Math.max(5, duration));
        const cause = OUTAGE_CAUSES[regionRng.pickCumulative(OUTAGE_CAUSE_CUM)] as string;
        const product = regionRng.pickCumulative(OUTAGE_PRODUCT_CUM);
        for (let c = 0; c < st.cities.length; c++) {
          if (cityIdx >= 0 && c !== cityIdx) continue;
          for (let cls = 0; cls < 3; cls++) {
            if (product !== 3 && product !== cls) continue;
            outageMin[((s * MAXC + c) * 3 + cls) * T + t] += duration;
          }
        }
        if (t >= W) {
          outageSeq++;
          out.outage([
            `OUT-${padInt(outageSeq, 7)}`,
            st.uf,
            cityIdx >= 0 ? (st.cities[cityIdx]?.name as string) : "",
            isoTimestamp(day, minute),
            isoTimestamp(day, minute + duration),
            String(duration),
            cause,
            OUTAGE_PRODUCTS[product] as string,
          ]);
        }
      }
    }
  }

  const compDiscount = new Float64Array(S * T);
  const competitors = p.competitors;
  const presence: boolean[][] = competitors.map(() => {
    const count = 4 + regionRng.int(6);
    const order = shuffled(S, regionRng);
    const present = new Array<boolean>(S).fill(false);
    for (const s of order.slice(0, count)) present[s] = true;
    return present;
  });
  const offers: { uf: number; competitor: string; start: number; end: number; pct: number }[] = [];
  for (let t = 0; t < T; t++) {
    for (let s = 0; s < S; s++) {
      for (let c = 0; c < competitors.length; c++) {
        if (!presence[c]?.[s] || !regionRng.chance(0.07)) continue;
        const start = (ms[t] as number) + regionRng.int(dim[t] as number);
        offers.push({
          uf: s,
          competitor: competitors[c] as string,
          start,
          end: start + 30 + regionRng.int(61),
          pct: 10 + regionRng.int(26),
        });
      }
    }
  }
  const newCompetitorStates: number[] = [];
  if (drift === "new-competitor") {
    const c = regionRng.int(competitors.length);
    const absent = stateOrder.filter((s) => !presence[c]?.[s]);
    const chosen = [...absent, ...stateOrder.filter((s) => presence[c]?.[s])].slice(0, 5);
    for (const s of chosen) {
      newCompetitorStates.push(s);
      const start = (ms[driftStartT] as number) + regionRng.int(5);
      offers.push({
        uf: s,
        competitor: competitors[c] as string,
        start,
        end: extract + 59,
        pct: 35 + regionRng.int(16),
      });
    }
  }
  let offerSeq = 0;
  for (const o of offers) {
    for (let t = 0; t < T; t++) {
      // running on the month's last day: the offers a customer sees when deciding at the next month's start
      const lastDay = (ms[t + 1] as number) - 1;
      if (o.start <= lastDay && o.end >= lastDay) {
        const i = o.uf * T + t;
        compDiscount[i] = Math.max(compDiscount[i] as number, o.pct / 100);
      }
    }
    if (o.end < windowStart) continue;
    offerSeq++;
    out.offer([
      `CMP-${padInt(offerSeq, 5)}`,
      STATES[o.uf]?.uf as string,
      o.competitor,
      isoDate(o.start),
      isoDate(o.end),
      fixed(o.pct, 1),
    ]);
  }
  return {
    MAXC,
    stateCum,
    cityCums,
    cityQuality,
    degradation,
    outageMin,
    compDiscount,
    degradedStates,
    newCompetitorStates,
  };
}

/** Fisher–Yates permutation of 0..n-1. */
export function shuffled(n: number, rng: Rng): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [a[i], a[j]] = [a[j] as number, a[i] as number];
  }
  return a;
}

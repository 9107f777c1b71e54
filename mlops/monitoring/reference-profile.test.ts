import { describe, expect, it } from "vitest";
import { monitoringConfigSchema } from "../../platform/config/sections/monitoring.ts";
import type { TabularDataset } from "../training/dataset.ts";
import { buildReferenceProfile, compareToReference } from "./reference-profile.ts";

const config = monitoringConfigSchema.parse({});

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 4294967296;
  };
}

/** price ~ U(50, 150) × priceFactor, tenure ~ U(0, 60), plan ∈ {a,b,c} with given shares. */
function customers(
  n: number,
  seed: number,
  opts: { priceFactor?: number; planShares?: number[]; plans?: string[]; nullTenure?: number } = {},
): TabularDataset {
  const r = rng(seed);
  const price = new Float64Array(n);
  const tenure = new Float64Array(n);
  const plan = new Int32Array(n);
  const shares = opts.planShares ?? [0.5, 0.3, 0.2];
  for (let i = 0; i < n; i++) {
    price[i] = (50 + 100 * r()) * (opts.priceFactor ?? 1);
    tenure[i] = r() < (opts.nullTenure ?? 0) ? Number.NaN : 60 * r();
    const u = r();
    plan[i] = u < shares[0] ? 0 : u < shares[0] + shares[1] ? 1 : 2;
  }
  return {
    nRows: n,
    features: [
      { name: "monthly_price", kind: "numeric", values: price },
      { name: "tenure_months", kind: "numeric", values: tenure },
      { name: "plan", kind: "categorical", codes: plan, categories: opts.plans ?? ["a", "b", "c"] },
    ],
  };
}

describe("compareToReference", () => {
  const reference = customers(20_000, 1);
  const profile = buildReferenceProfile(
    reference,
    reference.features[0].kind === "numeric" ? reference.features[0].values.map((p) => p / 200) : undefined,
  );

  it("flags nothing when production looks like training", () => {
    const report = compareToReference(profile, customers(5_000, 2), undefined, config);
    expect(report.drift).toBe(false);
    expect(report.features.map((f) => f.test)).toEqual(["psi", "psi", "js"]);
    expect(report.quality.ok).toBe(true);
  });

  it("flags only the feature that moved (price up 20%) and the prediction shift", () => {
    const current = customers(5_000, 3, { priceFactor: 1.2 });
    const scores = (current.features[0] as { values: Float64Array }).values.map((p) => p / 200);
    const report = compareToReference(profile, current, scores, config);
    const flagged = report.features.filter((f) => f.drift).map((f) => f.name);
    expect(flagged).toEqual(["monthly_price"]);
    expect(report.predictionDrift?.drift).toBe(true);
    expect(report.predictionDrift!.currentMean).toBeGreaterThan(report.predictionDrift!.referenceMean);
    expect(report.drift).toBe(true);
  });

  it("flags a changed category mix with Jensen–Shannon on large samples", () => {
    const report = compareToReference(
      profile,
      customers(5_000, 4, { planShares: [0.1, 0.3, 0.6] }),
      undefined,
      config,
    );
    expect(report.features.find((f) => f.name === "plan")).toMatchObject({ test: "js", drift: true });
    expect(report.features.find((f) => f.name === "monthly_price")?.drift).toBe(false);
  });

  it("uses KS and chi-square p-values on small windows", () => {
    const same = compareToReference(profile, customers(300, 5), undefined, config);
    expect(same.features.map((f) => f.test)).toEqual(["ks", "ks", "chi2"]);
    expect(same.drift).toBe(false);
    const moved = compareToReference(profile, customers(300, 6, { priceFactor: 1.3 }), undefined, config);
    expect(moved.features.find((f) => f.name === "monthly_price")).toMatchObject({ test: "ks", drift: true });
  });

  it("reports nulls, out-of-range values and unseen categories as quality issues", () => {
    const current = customers(2_000, 7, { nullTenure: 0.3, priceFactor: 2, plans: ["a", "b", "z-new"] });
    const kinds = compareToReference(profile, current, undefined, config).quality.issues.map(
      (i) => `${i.feature}:${i.kind}`,
    );
    expect(kinds).toContain("tenure_months:null_rate");
    expect(kinds).toContain("monthly_price:out_of_range");
    expect(kinds).toContain("plan:unseen_category");
  });

  it("honours per-feature threshold overrides", () => {
    const current = customers(5_000, 8, { priceFactor: 1.05 });
    const strict = monitoringConfigSchema.parse({ features: { monthly_price: { psi: 0.01 } } });
    expect(compareToReference(profile, current, undefined, config).features[0].drift).toBe(false);
    expect(compareToReference(profile, current, undefined, strict).features[0].drift).toBe(true);
  });
});

/** Two datasets of the same columns, rows appended (a reference made of time slices). */
function concat(a: TabularDataset, b: TabularDataset): TabularDataset {
  return {
    nRows: a.nRows + b.nRows,
    features: a.features.map((f, j) => {
      const g = b.features[j];
      if (f.kind === "numeric" && g.kind === "numeric")
        return { ...f, values: Float64Array.from([...f.values, ...g.values]) };
      if (f.kind === "categorical" && g.kind === "categorical")
        return { ...f, codes: Int32Array.from([...f.codes, ...g.codes]) };
      throw new Error("mismatched columns");
    }),
  };
}

describe("calibration, ranges and sample size", () => {
  // Four monthly slices: the plan mix swings between months (a campaign), prices do not.
  const mixes = [
    [0.5, 0.3, 0.2],
    [0.3, 0.5, 0.2],
    [0.5, 0.3, 0.2],
    [0.3, 0.5, 0.2],
  ];
  const slices = mixes.map((m, i) => customers(600, 100 + i, { planShares: m }));
  const reference = slices.reduce(concat);
  const sliceOf = slices.flatMap((s, i) => new Array<string>(s.nRows).fill(`2025-0${i + 1}-01`));
  const profile = buildReferenceProfile(reference, undefined, { slices: sliceOf, config });

  it("records each feature's natural variation and sets its threshold above the floor", () => {
    const cal = profile.calibration;
    expect(cal?.slices).toBe(4);
    expect(cal?.features.plan.natural).toHaveLength(6); // every pair of slices
    // The swinging plan mix gets a threshold above the configured JS floor; the stable price keeps the floor.
    expect(cal?.features.plan.threshold).toBeGreaterThan(config.jsDrift);
    expect(cal?.features.monthly_price.threshold).toBe(config.psiDrift);
    expect(JSON.parse(JSON.stringify(profile)).calibration.features.plan.quantile).toBeCloseTo(
      cal?.features.plan.quantile ?? -1,
    );
  });

  it("does not flag a month like the reference's own, and still flags a real shift", () => {
    const sameSwing = compareToReference(
      profile,
      customers(800, 7, { planShares: [0.3, 0.5, 0.2] }),
      undefined,
      config,
    );
    expect(sameSwing.features.find((f) => f.name === "plan")?.drift).toBe(false);
    const uncalibrated = buildReferenceProfile(reference);
    const before = compareToReference(
      uncalibrated,
      customers(800, 7, { planShares: [0.3, 0.5, 0.2] }),
      undefined,
      config,
    );
    expect(before.features.find((f) => f.name === "plan")?.drift).toBe(true); // the false alarm calibration removes
    const shifted = compareToReference(
      profile,
      customers(800, 8, { planShares: [0.02, 0.03, 0.95] }),
      undefined,
      config,
    );
    expect(shifted.features.find((f) => f.name === "plan")?.drift).toBe(true);
    const pricier = compareToReference(profile, customers(800, 9, { priceFactor: 1.3 }), undefined, config);
    expect(pricier.features.filter((f) => f.drift).map((f) => f.name)).toEqual(["monthly_price"]);
  });

  it("a per-feature threshold set in config wins over the calibrated one, at both sample sizes", () => {
    // The swinging plan mix: calibration allows it; an operator who sets plan.js says otherwise.
    const swing = customers(1_200, 21, { planShares: [0.3, 0.5, 0.2] });
    const strict = monitoringConfigSchema.parse({ features: { plan: { js: 0.05 } } });
    expect(
      compareToReference(profile, swing, undefined, config).features.find((f) => f.name === "plan")?.drift,
    ).toBe(false);
    const large = compareToReference(profile, swing, undefined, strict).features.find(
      (f) => f.name === "plan",
    );
    expect(large).toMatchObject({ test: "js", threshold: 0.05, thresholdSource: "config", drift: true });
    const small = compareToReference(
      profile,
      customers(800, 22, { planShares: [0.3, 0.5, 0.2] }),
      undefined,
      strict,
    ).features.find((f) => f.name === "plan");
    expect(small).toMatchObject({ test: "chi2", effectThreshold: 0.05, drift: true });
  });

  it("accepts values just past the reference range (margin) and flags values far outside", () => {
    const slightly = customers(500, 11, { priceFactor: 1.05 }); // max 157.5 vs reference ~150
    expect(
      compareToReference(profile, slightly, undefined, config).quality.issues.filter(
        (i) => i.kind === "out_of_range",
      ),
    ).toEqual([]);
    const far = customers(500, 12, { priceFactor: 2 });
    const issues = compareToReference(profile, far, undefined, config).quality.issues;
    expect(issues.map((i) => `${i.feature}:${i.kind}`)).toContain("monthly_price:out_of_range");
    expect(profile.features[0].kind === "numeric" && profile.features[0].range?.high).toBeCloseTo(
      profile.features[0].kind === "numeric"
        ? profile.features[0].max + 0.1 * (profile.features[0].max - profile.features[0].min)
        : 0,
    );
  });

  it("reports not enough data below minSamples instead of drift", () => {
    const few = customers(5, 13, { priceFactor: 3, planShares: [0, 0, 1] });
    const r = compareToReference(profile, few, undefined, config);
    expect(r.enoughData).toBe(false);
    expect(r.drift).toBe(false);
    expect(r.features.every((f) => !f.drift && f.test === "none")).toBe(true);
    const enough = compareToReference(profile, customers(200, 13, { priceFactor: 3 }), undefined, config);
    expect(enough.enoughData).toBe(true);
    expect(enough.drift).toBe(true);
  });
});

describe("quality ranges from the reference (counts, tails that move between months)", () => {
  /** Regional outage counts: most customers 0–3, one region hit hard (value `storm`) in each month. */
  function outages(n: number, seed: number, storm: number, stormShare: number): TabularDataset {
    const r = rng(seed);
    const v = new Float64Array(n);
    for (let i = 0; i < n; i++) v[i] = r() < stormShare ? storm : Math.floor(4 * r());
    return { nRows: n, features: [{ name: "outages_90d", kind: "numeric", values: v }] };
  }
  const months = [19, 20, 19].map((storm, i) => outages(800, 300 + i, storm, 0.05));
  const reference = months.reduce(concat);
  const sliceOf = months.flatMap((m, i) => new Array<string>(m.nRows).fill(`2025-0${i + 4}-01`));
  const profile = buildReferenceProfile(reference, undefined, { slices: sliceOf, config });

  it("a region with a few more outages than ever seen is not a data-quality issue; an impossible count is", () => {
    const range = profile.features[0].kind === "numeric" ? profile.features[0].range : undefined;
    expect(range?.widen?.by.high).toBe("count");
    expect(range?.high).toBeCloseTo(20 + 3 * Math.sqrt(20));
    // The old rule ([min, max] ± 10% of the span: up to 22) flagged this month: 5% of customers at 24.
    const stormier = compareToReference(profile, outages(800, 9, 24, 0.05), undefined, config);
    expect(stormier.quality.issues).toEqual([]);
    const broken = compareToReference(profile, outages(800, 10, 240, 0.05), undefined, config);
    expect(broken.quality.issues).toMatchObject([
      { feature: "outages_90d", kind: "out_of_range", worst: 240, range: { high: range?.high } },
    ]);
  });

  it("widens by the tail's own movement between months when it moved more than the margin", () => {
    // The top 1% climbs from 100 to 160 across the window: a later month at 190 is normal for this feature.
    const climbing = [100, 130, 160].map((top, i) => {
      const d = outages(800, 400 + i, top, 0.03);
      const f = d.features[0];
      if (f.kind === "numeric") for (let k = 0; k < f.values.length; k++) f.values[k] += 0.5; // not integer
      return d;
    });
    const ref = buildReferenceProfile(climbing.reduce(concat), undefined, {
      slices: climbing.flatMap((m, i) => new Array<string>(m.nRows).fill(`s${i}`)),
      config,
    });
    const range = ref.features[0].kind === "numeric" ? ref.features[0].range : undefined;
    expect(range?.widen?.by.high).toBe("natural");
    expect(range?.high).toBeCloseTo(160.5 + 3 * 60);
    expect(range?.widen?.by.low).toBe("margin");
  });
});

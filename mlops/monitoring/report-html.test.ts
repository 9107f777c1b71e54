import { describe, expect, it } from "vitest";
import { monitoringConfigSchema } from "../../platform/config/sections/monitoring.ts";
import type { TabularDataset } from "../training/dataset.ts";
import { buildReferenceProfile, compareToReference } from "./reference-profile.ts";
import { renderMonitoringReport } from "./report-html.ts";

function data(n: number, shift: number): TabularDataset {
  const price = Float64Array.from({ length: n }, (_, i) => 50 + ((i * 37) % 100) + shift);
  const plan = Int32Array.from({ length: n }, (_, i) => i % 3);
  return {
    nRows: n,
    features: [
      { name: "monthly_price", kind: "numeric", values: price },
      { name: "plan", kind: "categorical", codes: plan, categories: ["FIB300", "POS50", "<script>"] },
    ],
  };
}

describe("renderMonitoringReport", () => {
  it("renders drift verdict, SVG plots per feature and escapes names", async () => {
    const reference = data(3000, 0);
    const current = data(2000, 40);
    const profile = buildReferenceProfile(reference);
    const report = compareToReference(profile, current, undefined, monitoringConfigSchema.parse({}));
    const html = await renderMonitoringReport({
      title: "Churn monitoring",
      generatedAt: "2026-11-25T00:00:00Z",
      report,
      profile,
      current,
      performance: [
        {
          period: "2026-W47",
          n: 10,
          positives: 2,
          auc: 0.8,
          ece: 0.05,
          meanProbability: 0.2,
          positiveRate: 0.2,
        },
      ],
    });
    expect(html).toContain("Drift detected in 1 feature(s)");
    expect(html.match(/<svg/g)?.length).toBeGreaterThanOrEqual(4);
    expect(html).toContain("monthly_price");
    expect(html).toContain("Performance over time");
    expect(html).not.toContain("<script>");
  });
});

describe("renderMonitoringReport: small samples", () => {
  it("a significant p-value within the reference's natural variation says so next to its ok badge", async () => {
    // Monthly slices whose prices swing by 8 between months: a current month shifted by 12 is significant (KS) but not beyond that.
    const parts = [data(1000, 0), data(1000, 8), data(1000, 0), data(1000, 8)];
    const reference: TabularDataset = {
      nRows: 4000,
      features: parts[0].features.map((f, j) =>
        f.kind === "numeric"
          ? {
              ...f,
              values: Float64Array.from(parts.flatMap((p) => Array.from((p.features[j] as typeof f).values))),
            }
          : {
              ...f,
              codes: Int32Array.from(parts.flatMap((p) => Array.from((p.features[j] as typeof f).codes))),
            },
      ),
    };
    const slices = parts.flatMap((_, i) => new Array<string>(1000).fill(`2025-0${i + 1}-01`));
    const config = monitoringConfigSchema.parse({});
    const profile = buildReferenceProfile(reference, undefined, { slices, config });
    const report = compareToReference(profile, data(900, 12), undefined, config);
    const price = report.features.find((f) => f.name === "monthly_price");
    expect(price).toMatchObject({ test: "ks", drift: false });
    expect(price?.score).toBeLessThan(config.alpha);
    const html = await renderMonitoringReport({
      title: "Churn monitoring",
      generatedAt: "2026-12-07T00:00:00Z",
      report,
      profile,
      current: data(900, 12),
    });
    expect(html).toContain("significant but within the reference&#39;s natural variation");
  });
});

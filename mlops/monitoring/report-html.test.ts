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

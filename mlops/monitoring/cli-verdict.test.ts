import { describe, expect, it } from "vitest";
import { featureVerdict } from "./cli.ts";

describe("monitor run: each feature line says what decided it", () => {
  it("a tiny p-value marked ok names the effect size that stayed within the natural variation", () => {
    const line = featureVerdict({
      name: "tenure_months",
      test: "ks",
      score: 3.8e-6,
      threshold: 0.01,
      drift: false,
      warn: false,
      threshold_source: "calibrated",
      effect: 0.147,
      effect_threshold: 0.637,
      effect_test: "psi",
    });
    expect(line).toContain("p");
    expect(line).toContain("0.00000380 < α 0.01");
    expect(line).toContain("psi 0.147 ≤ 0.637 natural variation");
    expect(line).toContain("significant but within natural variation");
  });

  it("a drifted small-sample feature shows both conditions met; large samples show the calibrated threshold", () => {
    const drifted = featureVerdict({
      name: "monthly_price_brl",
      test: "ks",
      score: 1e-9,
      threshold: 0.01,
      drift: true,
      warn: false,
      effect: 0.9,
      effect_threshold: 0.3,
      effect_test: "psi",
    });
    expect(drifted).toContain("psi 0.9 > 0.3 configured"); // no calibration: the configured effect size
    expect(drifted).not.toContain("within");
    const large = featureVerdict({
      name: "uf",
      test: "js",
      score: 0.02,
      threshold: 0.154,
      drift: false,
      warn: false,
      threshold_source: "calibrated",
    });
    expect(large).toMatch(/js\s+0\.0200 \(threshold 0\.154 calibrated\)/);
  });
});

describe("monitor run: a calibrated threshold no score can reach is said, not hidden behind ✓", () => {
  it("a JS threshold at or above 1 (the largest JS distance) is flagged as blind", () => {
    const base = {
      name: "competitor_offer_active",
      drift: false,
      warn: false,
      threshold_source: "calibrated",
    };
    expect(featureVerdict({ ...base, test: "js", score: 0.11, threshold: 1.04 })).toContain("cannot drift");
    expect(featureVerdict({ ...base, test: "js", score: 0.11, threshold: 0.3 })).not.toContain(
      "cannot drift",
    );
    expect(
      featureVerdict({
        ...base,
        test: "chi2",
        score: 1e-12,
        threshold: 0.01,
        effect: 0.475,
        effect_threshold: 1.26,
        effect_test: "js",
      }),
    ).toContain("cannot drift");
  });
});

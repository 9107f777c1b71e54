import { describe, expect, it } from "vitest";
import { decileTable, reliabilityCurve, thresholdCurve } from "./metrics.ts";
import { calibrationPlot, importancePlot, liftGainPlot, rocPlot, thin } from "./plots.ts";

const y = [0, 1, 0, 1, 1, 0, 0, 1, 0, 0];
const p = [0.1, 0.9, 0.3, 0.7, 0.6, 0.2, 0.4, 0.8, 0.5, 0.05];

describe("plots", () => {
  it("render standalone SVG headlessly with titles and axis labels", async () => {
    const roc = await rocPlot(thresholdCurve(y, p), 0.96);
    expect(roc.startsWith("<svg")).toBe(true);
    expect(roc).toContain("ROC curve (AUC 0.960)");
    expect(roc).toContain("false positive rate");
    const cal = await calibrationPlot([{ name: "uncalibrated", bins: reliabilityCurve(y, p) }]);
    expect(cal).toContain("observed churn rate");
    expect(await liftGainPlot(decileTable(y, p))).toContain("lift vs base rate");
    const imp = await importancePlot(
      [
        { feature: "tenure", importance: 0.5 },
        { feature: "contract", importance: 0.9 },
      ],
      "mean |SHAP|",
    );
    expect(imp).toContain("contract");
  });

  it("thins long curves to the requested size, keeping both ends", () => {
    const xs = Array.from({ length: 1000 }, (_, i) => i);
    const t = thin(xs, 10);
    expect(t).toHaveLength(10);
    expect(t[0]).toBe(0);
    expect(t[9]).toBe(999);
  });
});

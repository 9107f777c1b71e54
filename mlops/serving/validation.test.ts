import { describe, expect, it } from "vitest";
import { servingConfigSchema } from "../../platform/config/sections/serving.ts";
import { ValidationError } from "../../platform/errors.ts";
import { datasetFromRows } from "../training/dataset.ts";
import { trainGbdt } from "../training/gbdt/index.ts";
import type { ChurnModel } from "../training/model.ts";
import { readableLabel, reasonsFor, riskBand, servedRiskBands, validateFeatureRows } from "./scoring.ts";
import { FIXTURE_SPECS, fixtureRows } from "./testing/fixture.ts";

const model = await trainGbdt(datasetFromRows(fixtureRows(400, 3), FIXTURE_SPECS, { label: "label" }), {
  numTrees: 10,
});
const row = () => ({
  tenure_months: 12,
  monthly_price_brl: 99.9,
  fidelity_months_left: 2,
  segment: "consumer",
  competitor_offer_active: "false",
});

function problemsOf(fn: () => unknown): { field: string; message: string; problems: { field: string }[] } {
  try {
    fn();
  } catch (err) {
    const e = err as ValidationError;
    expect(e).toBeInstanceOf(ValidationError);
    const details = e.details as { problems: { field: string }[] };
    return { field: e.field as string, message: e.message, problems: details.problems };
  }
  throw new Error("expected a ValidationError");
}

describe("feature payloads for a model trained on a user CSV", () => {
  it("accepts the dataset's original column names and maps them to the model's features", () => {
    const original = {
      "Tenure Months": 12,
      monthlyPriceBrl: 99.9,
      "Fidelity-Months-Left": 2,
      Segment: "consumer",
      competitor_offer_active: "false",
      customer_id: "C-1",
    };
    const [out] = validateFeatureRows(model as ChurnModel, [original]);
    expect(out).toEqual({ ...row(), customer_id: "C-1" });
  });

  it("reports every problem of every row at once, naming each field", () => {
    const bad = { ...row(), tenure_months: "twelve", segment: 3 } as Record<string, unknown>;
    delete bad.fidelity_months_left;
    const { field, message, problems } = problemsOf(() =>
      validateFeatureRows(model as ChurnModel, [bad, { ...row(), nome: "x" }]),
    );
    expect(field).toBe("features[0].tenure_months");
    expect(problems.map((p) => p.field)).toEqual([
      "features[0].tenure_months",
      "features[0].fidelity_months_left",
      "features[0].segment",
      "features[1].nome",
    ]);
    expect(message).toMatch(/and 3 more problems: features\[0\]\.fidelity_months_left is missing/);
  });

  it("labels reasons of features without a definition readably (not the raw column name)", () => {
    expect(readableLabel("contract")).toBe("Contract");
    expect(readableLabel("monthly_charges")).toBe("Monthly charges");
    expect(readableLabel("totalDayMinutes")).toBe("Total day minutes");
    const data = datasetFromRows([{ ...row(), label: 0 }], FIXTURE_SPECS, {
      label: "label",
      categories: model.categories as Record<string, string[]>,
    });
    const reasons = reasonsFor(model as ChurnModel, data, 0, 5, "en");
    for (const r of reasons) expect(r.label).not.toMatch(/_/);
  });

  it("risk bands come from the card unless config says otherwise", () => {
    const cfg = servingConfigSchema.parse({});
    const card = { riskBands: { medium: 0.04, high: 0.09 } };
    expect(servedRiskBands(card, cfg)).toEqual({ medium: 0.04, high: 0.09 });
    expect(riskBand(0.05, servedRiskBands(card, cfg))).toBe("medium");
    expect(servedRiskBands(undefined, cfg)).toEqual({ medium: 0.3, high: 0.6 });
    const forced = servingConfigSchema.parse({ riskBandSource: "config" });
    expect(servedRiskBands(card, forced)).toEqual({ medium: 0.3, high: 0.6 });
  });
});

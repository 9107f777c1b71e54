import { beforeAll, describe, expect, it } from "vitest";
import { checkNluTargets, classMetrics, formatNluReport, type NluReport, nluReport } from "./nlu.ts";

describe("classMetrics", () => {
  it("precision, recall and F1 per label, zero when a label is never predicted", () => {
    const m = classMetrics(
      [
        { expected: "a", predicted: "a" },
        { expected: "a", predicted: "b" },
        { expected: "b", predicted: "b" },
        { expected: "b", predicted: "b" },
        { expected: "c", predicted: "b" },
      ],
      ["a", "b", "c"],
    );
    expect(m[0]).toMatchObject({ label: "a", precision: 1, recall: 0.5, support: 2 });
    expect(m[0].f1).toBeCloseTo(2 / 3, 10);
    expect(m[1]).toMatchObject({ label: "b", precision: 0.5, recall: 1, support: 2 });
    expect(m[2]).toMatchObject({ label: "c", precision: 0, recall: 0, f1: 0, support: 1 });
  });
});

describe("nluReport on the fixed held-out split (classifier trained on the train split only)", () => {
  let report: NluReport;
  beforeAll(() => {
    report = nluReport();
    console.log(formatNluReport(report));
    const misses = checkNluTargets(report);
    if (misses.length) console.log(`Targets missed:\n  ${misses.join("\n  ")}`);
  });

  it("per-intent F1 ≥ 0.90 for every intent, macro F1 ≥ 0.94", () => {
    expect(report.intents.held_out).toBeGreaterThan(400);
    expect(report.intents.train).toBeGreaterThan(3 * report.intents.held_out - 200);
    for (const m of report.intents.per_intent) {
      expect(m.f1, `${m.label} F1`).toBeGreaterThanOrEqual(0.9);
      expect(m.support, `${m.label} held-out messages`).toBeGreaterThanOrEqual(15);
    }
    expect(report.intents.macro_f1).toBeGreaterThanOrEqual(0.94);
    expect(report.intents.accuracy).toBeGreaterThanOrEqual(0.93);
    expect(checkNluTargets(report)).toEqual([]);
  });

  it("several intents in one message: exact set on ≥ 90 % of the multi-intent messages, few extras on single ones", () => {
    expect(report.multi_intent.messages).toBeGreaterThanOrEqual(30);
    expect(report.multi_intent.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(report.multi_intent.spurious_extra_rate).toBeLessThan(0.08);
  });

  it("entities: every kind found with its normalised value on the labelled set", () => {
    expect(report.entities.messages).toBeGreaterThanOrEqual(100);
    expect(report.entities.accuracy).toBeGreaterThanOrEqual(0.97);
    const kinds = report.entities.per_kind.map((k) => k.kind);
    for (const kind of [
      "cpf",
      "phone",
      "cep",
      "date",
      "month",
      "money",
      "plan",
      "ordinal",
      "yes_no",
      "login_code",
      "cancel_reason",
    ])
      expect(kinds, kind).toContain(kind);
    for (const k of report.entities.per_kind) expect(k.recall, k.kind).toBeGreaterThanOrEqual(0.9);
  });

  it("language: right whenever it decides, undecided only for messages without words of either language", () => {
    expect(report.language.accuracy).toBeGreaterThanOrEqual(0.99);
    expect(report.language.undecided_rate).toBeLessThan(0.1);
  });

  it("the targets check names what is missed", () => {
    const fake: NluReport = {
      ...report,
      intents: {
        ...report.intents,
        per_intent: report.intents.per_intent.map((m) => (m.label === "stop" ? { ...m, f1: 0.5 } : m)),
      },
    };
    expect(checkNluTargets(fake)).toContain("intent stop: held-out F1 0.500 < 0.9");
  });
});

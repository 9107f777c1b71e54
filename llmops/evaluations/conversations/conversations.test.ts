import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FLOW_NAMES } from "../../conversation/commands.ts";
import { createSandboxFixture, type SandboxFixture } from "../../testing/sandbox-fixture.ts";
import {
  consentBeforeChange,
  diagnosisBeforeVisit,
  eligibleBeforeApply,
  identityBeforeData,
  type JudgedTurn,
  noInventedAmounts,
  offersOnce,
} from "./judge.ts";
import { type GoldenReport, loadGoldenConversations, runGoldenConversations } from "./run.ts";

// Every golden conversation on the local (offline) engine, judged on the sandbox's end state and the
// tool trajectory. Target: 100%.

const conversations = loadGoldenConversations();
let sb: SandboxFixture;
let report: GoldenReport;

beforeAll(async () => {
  sb = await createSandboxFixture();
  report = await runGoldenConversations({ fixture: sb });
}, 900_000);
afterAll(() => sb?.cleanup());

describe("golden conversations (local engine)", () => {
  it("cover every journey in both languages, with digressions, corrections and refusals (≥ 80 scripts)", () => {
    expect(conversations.length).toBeGreaterThanOrEqual(80);
    for (const flow of FLOW_NAMES) {
      const of = conversations.filter(
        (c) => c.journey === flow || (flow === "identity" && c.given.channel === "anonymous"),
      );
      expect(
        of.some((c) => c.language === "pt-BR"),
        `${flow} in pt-BR`,
      ).toBe(true);
      expect(
        of.some((c) => c.language === "en"),
        `${flow} in English`,
      ).toBe(true);
    }
    expect(conversations.filter((c) => c.journey === "refusal").length).toBeGreaterThanOrEqual(3);
    expect(conversations.some((c) => c.language === "mixed")).toBe(true);
  });

  it.each(conversations.map((c) => [c.id]))("%s", (id) => {
    const r = report.results.find((x) => x.id === id);
    expect(r, `${id} did not run`).toBeDefined();
    const transcript = r?.transcript
      .map((t) => `> ${t.user}\n  [${t.tools.join(", ")}]\n  ${t.reply}`)
      .join("\n");
    expect(r?.failures, `${id} (${r?.customer_id})\n${transcript}`).toEqual([]);
  });
});

describe("trajectory judge", () => {
  const call = (name: string, args: unknown = {}, result: unknown = {}) => ({ name, args, result });
  const turns = (...calls: ReturnType<typeof call>[]): JudgedTurn[] => [{ reply: "", calls }];

  it("flags a change without a consent for that subject", () => {
    expect(consentBeforeChange(turns(call("change_plan", { to_plan_id: "POS100" })))).toHaveLength(1);
    expect(
      consentBeforeChange(
        turns(
          call("record_consent", { action: "change_plan", subject: "POS50" }),
          call("change_plan", { to_plan_id: "POS100" }),
        ),
      ),
    ).toHaveLength(1);
    expect(
      consentBeforeChange(
        turns(
          call("record_consent", { action: "change_plan", subject: "POS100" }),
          call("change_plan", { to_plan_id: "POS100" }),
        ),
      ),
    ).toEqual([]);
  });

  it("flags an offer applied that get_eligible_offers did not return, and offers presented twice", () => {
    const offers = call("get_eligible_offers", {}, { offers: [{ offer_id: "RET-DESC10" }] });
    expect(eligibleBeforeApply(turns(offers, call("apply_offer", { offer_id: "RET-DESC30" })))).toHaveLength(
      1,
    );
    expect(eligibleBeforeApply(turns(offers, call("apply_offer", { offer_id: "RET-DESC10" })))).toEqual([]);
    expect(offersOnce(turns(offers, offers))).toHaveLength(1);
  });

  it("flags account data before identity, and a visit before a diagnosis", () => {
    expect(
      identityBeforeData(turns(call("explain_invoice"), call("authenticate", {}, { customer_id: "x" }))),
    ).toHaveLength(1);
    expect(
      identityBeforeData(
        turns(call("explain_invoice", {}, { ok: false, error: { code: "unauthenticated" } })),
      ),
    ).toEqual([]);
    expect(diagnosisBeforeVisit(turns(call("schedule_technician"), call("diagnose_internet")))).toHaveLength(
      1,
    );
  });

  it("flags a reply stating an amount no tool returned", () => {
    const facts = call("explain_invoice", {}, { invoice: { amount_brl: 119.99 } });
    expect(noInventedAmounts([{ reply: "Sua fatura é de R$ 119,99.", calls: [facts] }])).toEqual([]);
    expect(noInventedAmounts([{ reply: "Sua fatura é de R$ 129,99.", calls: [facts] }])).toHaveLength(1);
    expect(noInventedAmounts([{ reply: "Your bill is R$ 119.99.", calls: [facts] }])).toEqual([]);
  });
});

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { loadCatalog } from "../../mlops/simulator/catalog.ts";
import { evaluateOffers, fidelityFine, loadRules } from "./engine.ts";
import { BUSINESS_DATE, contractFacts, offerFacts } from "./testing/facts.ts";
import type { OfferFacts } from "./types.ts";

/**
 * The policy documents of the knowledge base and the rules agree: the limits are parsed from the
 * documents' text (not copied here) and the engine is run at each limit and just past it, so a
 * change to either side without the other fails.
 */

const KB = new URL("../../data/knowledge-base/", import.meta.url);
const read = (path: string) => readFileSync(new URL(path, KB), "utf8");
const retentionPolicy = read("pdf-src/policy-ofertas-retencao.md");
const eligibilityPolicy = read("policy/policy-elegibilidade.md");
const fidelityFaq = read("faq/faq-fidelidade-multa.md");
const cancellationFaq = read("faq/faq-cancelamento.md");

const rules = loadRules();
const catalog = loadCatalog();

/** "1.200,00" → 1200 */
function brl(text: string): number {
  return Number(text.replace(/\./g, "").replace(",", "."));
}

function section(doc: string, heading: RegExp): string {
  const start = doc.search(heading);
  expect(start, `section ${heading} in the document`).toBeGreaterThanOrEqual(0);
  const rest = doc.slice(start);
  const next = rest.slice(1).search(/\n##? /);
  return next < 0 ? rest : rest.slice(0, next + 1);
}

function match(text: string, re: RegExp): RegExpExecArray {
  const m = re.exec(text);
  expect(m, `${re} in the policy text`).not.toBeNull();
  return m as RegExpExecArray;
}

/** One row of the policy's §2 table, as the document states it. */
interface PolicyOffer {
  offerId: string;
  discountPct: number;
  months: number;
  approval: "agent" | "supervisor";
  eligibility: string;
  bands: ("low" | "medium" | "high")[] | null;
  minTenure: number | null;
  maxDebtDays: number | null;
  minArpu: number | null;
  products: string[] | null;
  networkWindowDays: number | null;
}

function approvalOf(cell: string): "agent" | "supervisor" {
  if (/supervisor/i.test(cell)) return "supervisor";
  match(cell, /atendente/i);
  return "agent";
}

function parseTable(): PolicyOffer[] {
  const rows = section(retentionPolicy, /## 2\. Catálogo/)
    .split("\n")
    .filter((l) => /^\|\s*RET-/.test(l));
  return rows.map((row) => {
    const [code, , discount, duration, approval, eligibility] = row
      .split("|")
      .slice(1, -1)
      .map((c) => c.trim());
    const e = eligibility;
    const bands = /risco de churn médio ou alto/i.test(e)
      ? (["medium", "high"] as const)
      : /risco de churn alto/i.test(e)
        ? (["high"] as const)
        : null;
    const products = /fibra ou combo/i.test(e)
      ? ["fibra", "combo"]
      : /pós-pago ou controle/i.test(e)
        ? ["mobile_pos", "mobile_controle"]
        : null;
    return {
      offerId: code,
      discountPct: Number(match(discount, /(\d+)%/)[1]),
      months: Number(match(duration, /(\d+) meses/)[1]),
      approval: approvalOf(approval),
      eligibility: e,
      bands: bands ? [...bands] : null,
      minTenure: /tempo de casa de pelo menos (\d+) meses/.test(e)
        ? Number(match(e, /tempo de casa de pelo menos (\d+) meses/)[1])
        : null,
      maxDebtDays: /débito vencido há mais de (\d+) dias/.test(e)
        ? Number(match(e, /débito vencido há mais de (\d+) dias/)[1])
        : null,
      minArpu: /ARPU/.test(e) ? brl(match(e, /ARPU[^R]*R\$ ([\d.,]+)/)[1]) : null,
      products,
      networkWindowDays: /últimos (\d+) dias/.test(e) ? Number(match(e, /últimos (\d+) dias/)[1]) : null,
    };
  });
}

const table = parseTable();
/** policy-elegibilidade §5: the fibra speed guarantee (monthly mean at least 80% of contracted). */
const speedFloor = Number(match(eligibilityPolicy, /Velocidade média mensal abaixo de (\d+)%/)[1]) / 100;

const allowed = (facts: OfferFacts, offerId: string) =>
  evaluateOffers(rules, facts).allowed.some((a) => a.offer_id === offerId);

/** The plan an offer is tried on: one of its products (below 1 Giga for the upgrade), else Fibra 300. */
function basePlan(p: PolicyOffer): string {
  if (!p.products) return "FIB300";
  const plan = catalog.plans.find(
    (x) => p.products?.includes(x.product) && (p.offerId !== "RET-UPGRADE" || (x.speed_mbps ?? 0) < 1000),
  );
  return plan?.plan_id ?? "none";
}

/** Facts that meet every condition of the table, for `plan`, with `over` applied. */
function favourable(
  plan: string,
  over: {
    band?: "low" | "medium" | "high";
    tenure?: number;
    arpu?: number;
    debtDays?: number;
    ratio?: number | null;
    outages?: number;
  } = {},
): OfferFacts {
  return offerFacts({
    churn: { band: over.band ?? "high" },
    customer: { tenure_months: over.tenure ?? 120, arpu_3m_brl: over.arpu ?? 1000 },
    debt: { max_days_overdue: over.debtDays ?? 0 },
    contracts: [
      contractFacts(plan, {
        speed_worst_month_ratio: over.ratio === undefined ? 0.5 : over.ratio,
        outages_90d: over.outages ?? 1,
      }),
    ],
  });
}

describe("policy-ofertas-retencao §2: the offers table", () => {
  it("lists the rules' offers, in the same order, with the same discount, duration and approval", () => {
    expect(table.map((t) => t.offerId)).toEqual(rules.retention.offers.map((o) => o.offer_id));
    for (const t of table) {
      const r = rules.retention.offers.find((o) => o.offer_id === t.offerId);
      expect({ pct: r?.discount_pct, months: r?.months, approval: r?.approval }, t.offerId).toEqual({
        pct: t.discountPct,
        months: t.months,
        approval: t.approval,
      });
    }
    // The parser found the conditions the table states (a reworded table must fail here, not pass silently).
    const by = Object.fromEntries(table.map((t) => [t.offerId, t]));
    expect(by["RET-DESC10"].bands).toEqual(["medium", "high"]);
    expect(by["RET-DESC20"]).toMatchObject({ bands: ["high"], minTenure: 12, maxDebtDays: 30 });
    expect(by["RET-DESC30"]).toMatchObject({ bands: ["high"], minTenure: 24, minArpu: 150 });
    expect(by["RET-UPGRADE"]).toMatchObject({ products: ["fibra", "combo"], networkWindowDays: 90 });
    expect(by["RET-BONUS-GB"].products).toEqual(["mobile_pos", "mobile_controle"]);
  });

  it.each(table.map((t) => [t.offerId, t] as const))(
    "%s is allowed under exactly its stated conditions",
    (_id, t) => {
      const plan = basePlan(t);
      expect(allowed(favourable(plan), t.offerId), "allowed when every condition holds").toBe(true);

      // Risk bands: allowed for exactly the bands stated (every band when none is stated).
      for (const band of ["low", "medium", "high"] as const)
        expect(allowed(favourable(plan, { band }), t.offerId), `band ${band}`).toBe(
          t.bands ? t.bands.includes(band) : true,
        );

      // Tenure: the stated minimum and one month less; no minimum → any tenure.
      if (t.minTenure !== null) {
        expect(allowed(favourable(plan, { tenure: t.minTenure }), t.offerId)).toBe(true);
        expect(allowed(favourable(plan, { tenure: t.minTenure - 1 }), t.offerId)).toBe(false);
      } else expect(allowed(favourable(plan, { tenure: 0 }), t.offerId)).toBe(true);

      // Overdue debt: "more than N days" blocks, N days does not; no debt condition → a year overdue is fine.
      if (t.maxDebtDays !== null) {
        expect(allowed(favourable(plan, { debtDays: t.maxDebtDays }), t.offerId)).toBe(true);
        expect(allowed(favourable(plan, { debtDays: t.maxDebtDays + 1 }), t.offerId)).toBe(false);
      } else expect(allowed(favourable(plan, { debtDays: 365 }), t.offerId)).toBe(true);

      // ARPU: the stated minimum and one centavo less.
      if (t.minArpu !== null) {
        expect(allowed(favourable(plan, { arpu: t.minArpu }), t.offerId)).toBe(true);
        expect(allowed(favourable(plan, { arpu: t.minArpu - 0.01 }), t.offerId)).toBe(false);
      } else expect(allowed(favourable(plan, { arpu: 0 }), t.offerId)).toBe(true);

      // Products: every catalog plan of a stated product (below 1 Giga for the upgrade, §2.1); none other.
      for (const p of catalog.plans) {
        const ok = allowed(favourable(p.plan_id), t.offerId);
        const productOk =
          t.products === null ||
          t.products.includes(p.product) ||
          (p.product === "combo" && hasMobileIn(t, p));
        const expected = productOk && (t.offerId !== "RET-UPGRADE" || (p.speed_mbps ?? 0) < 1000);
        expect(ok, `${t.offerId} on ${p.plan_id}`).toBe(expected);
      }

      // Network: a speed-test shortfall or an outage in the window, and neither blocks.
      if (t.networkWindowDays !== null) {
        expect(rules.retention.definitions.network_lookback_days).toBe(t.networkWindowDays);
        expect(allowed(favourable(plan, { ratio: speedFloor - 0.01, outages: 0 }), t.offerId)).toBe(true);
        expect(allowed(favourable(plan, { ratio: speedFloor, outages: 0 }), t.offerId)).toBe(false);
        expect(allowed(favourable(plan, { ratio: 1, outages: 1 }), t.offerId)).toBe(true);
        expect(allowed(favourable(plan, { ratio: null, outages: 0 }), t.offerId)).toBe(false);
      } else expect(allowed(favourable(plan, { ratio: 1, outages: 0 }), t.offerId)).toBe(true);
    },
  );
});

/** RET-BONUS-GB's "pós-pago ou controle" includes the postpaid line of a combo (§2.1: "linha Pós"). */
function hasMobileIn(t: PolicyOffer, plan: { product: string; data_gb: number | null }): boolean {
  return t.offerId === "RET-BONUS-GB" && plan.product === "combo" && (plan.data_gb ?? 0) > 0;
}

describe("policy-ofertas-retencao §2.1: the worked examples", () => {
  const details = section(retentionPolicy, /### 2\.1 /);

  it("gives the examples' prices: plan price minus the discount, for the stated months", () => {
    const examples = [
      ...details.matchAll(
        /\*\*(RET-[A-Z0-9-]+)\*\*:[^\n]*?Exemplo: ([^(\n]+?) \(R\$ ([\d.,]+)\) passa a R\$ ([\d.,]+) por (\d+) meses/g,
      ),
    ];
    expect(examples.map((m) => m[1])).toEqual(["RET-DESC10", "RET-DESC20", "RET-DESC30"]);
    for (const [, offerId, planName, price, after, months] of examples) {
      const plan = catalog.plans.find((p) => p.name === planName || p.name === `Aurora ${planName}`);
      expect(plan, planName).toBeDefined();
      expect(plan?.monthly_price_brl).toBe(brl(price));
      const terms = evaluateOffers(rules, favourable(plan?.plan_id ?? "")).allowed.find(
        (a) => a.offer_id === offerId,
      )?.terms;
      expect(terms?.resulting_monthly_price_brl, offerId).toBe(brl(after));
      expect(terms?.months).toBe(Number(months));
    }
  });

  it("RET-DESC30 is told to the customer only after the supervisor approved", () => {
    expect(details).toMatch(
      /RET-DESC30\*\*: exige aprovação do supervisor[^\n]*não deve anunciar o valor antes da aprovação/,
    );
    const terms = evaluateOffers(rules, favourable("COMBO1000TV")).allowed.find(
      (a) => a.offer_id === "RET-DESC30",
    )?.terms;
    expect(terms).toMatchObject({
      requires_supervisor_approval: true,
      disclose_price_before_approval: false,
    });
  });

  it("RET-UPGRADE goes one fibra step up, none from 1 Giga, with no new fidelity", () => {
    const steps = [...details.matchAll(/Fibra (\d+) Mega passa a (\d+) (Mega|Giga)/g)].map((m) => ({
      from_mbps: Number(m[1]),
      to_mbps: Number(m[2]) * (m[3] === "Giga" ? 1000 : 1),
    }));
    expect(steps).toEqual([
      { from_mbps: 300, to_mbps: 500 },
      { from_mbps: 500, to_mbps: 1000 },
    ]);
    expect(rules.retention.offers.find((o) => o.offer_id === "RET-UPGRADE")?.speed_upgrades).toEqual(steps);
    expect(details).toMatch(/Quem já tem 1 Giga não é elegível/);
    expect(allowed(favourable("FIB1000"), "RET-UPGRADE")).toBe(false);
    expect(details).toMatch(/upgrade \*\*não cria nova fidelidade\*\*/);
    const t = evaluateOffers(rules, favourable("FIB300")).allowed.find(
      (a) => a.offer_id === "RET-UPGRADE",
    )?.terms;
    expect(t).toMatchObject({ to_speed_mbps: 500, new_fidelity: false });
    expect(t?.resulting_monthly_price_brl).toBe(t?.monthly_price_brl);
  });

  it("RET-BONUS-GB adds the stated GB to the allowance, not for Pré", () => {
    const extra = Number(match(details, /RET-BONUS-GB\*\*: soma (\d+)GB/)[1]);
    expect(rules.retention.offers.find((o) => o.offer_id === "RET-BONUS-GB")?.extra_data_gb).toBe(extra);
    const examples = [...details.matchAll(/(Pós|Controle) (\d+)GB passa a (\d+)GB/g)];
    expect(examples).toHaveLength(2);
    for (const [, kind, from, to] of examples) {
      const plan = catalog.plans.find((p) => p.name === `Aurora ${kind} ${from}GB`);
      const t = evaluateOffers(rules, favourable(plan?.plan_id ?? "")).allowed.find(
        (a) => a.offer_id === "RET-BONUS-GB",
      )?.terms;
      expect(t?.resulting_data_gb, `${kind} ${from}GB`).toBe(Number(to));
    }
    expect(details).toMatch(/Não se aplica ao Pré 15GB/);
    expect(allowed(favourable("PRE15"), "RET-BONUS-GB")).toBe(false);
  });
});

describe("policy-ofertas-retencao §1, §3, §4: principles and limits", () => {
  const principles = section(retentionPolicy, /## 1\. Princípios/);
  const choose = section(retentionPolicy, /## 3\. Como escolher/);
  const limits = section(retentionPolicy, /## 4\. Limites/);

  it("§4: the absolute discount ceiling, and only with a supervisor", () => {
    const ceiling = Number(
      match(limits, /Desconto máximo absoluto: \*\*(\d+)%\*\* e somente com aprovação do supervisor/)[1],
    );
    expect(rules.retention.limits.max_discount_pct).toBe(ceiling);
    expect(Math.max(...rules.retention.offers.map((o) => o.discount_pct))).toBe(ceiling);
    // The agent's own limit is the largest discount the table gives the agent.
    const agentMax = Math.max(...table.filter((t) => t.approval === "agent").map((t) => t.discountPct));
    expect(rules.retention.limits.agent_max_discount_pct).toBe(agentMax);
    for (const o of rules.retention.offers)
      if (o.discount_pct >= ceiling || o.discount_pct > agentMax)
        expect(o.approval, o.offer_id).toBe("supervisor");
  });

  it("§4: a discount is never combined with an upgrade or bonus, and the fine is never waived to retain", () => {
    expect(limits).toMatch(/Não combinar desconto com upgrade ou bônus/);
    expect(rules.retention.limits.combinable).toBe(false);
    expect(limits).toMatch(/Não oferecer isenção de multa de fidelidade como ferramenta de retenção/);
    expect(rules.fidelity.fine.waiver_as_retention_tool).toBe(false);
    expect(
      rules.retention.offers.every((o) => ["discount", "speed_upgrade", "data_bonus"].includes(o.kind)),
    ).toBe(true);
  });

  it("§1: one active offer per contract, a new one only N days after the previous ended", () => {
    expect(principles).toMatch(/uma oferta de retenção ativa por contrato/);
    const days = Number(
      match(principles, /nova oferta só pode ser concedida (\d+) dias após o término da anterior/)[1],
    );
    expect(rules.retention.limits.cooldown_days_after_previous).toBe(days);
    const ended = (d: number) =>
      offerFacts({
        contracts: [
          contractFacts("FIB500", { last_offer_ended_at: "2026-01-01", days_since_last_offer_ended: d }),
        ],
      });
    expect(evaluateOffers(rules, ended(days - 1)).allowed).toEqual([]);
    expect(evaluateOffers(rules, ended(days)).allowed.length).toBeGreaterThan(0);
    const running = offerFacts({
      contracts: [
        contractFacts("FIB500", {
          has_active_retention_offer: true,
          active_retention_offer: {
            offer_id: "RET-DESC10",
            status: "applied",
            applied_at: "2026-05-01",
            ends_at: "2026-11-01",
          },
        }),
      ],
    });
    expect(evaluateOffers(rules, running).allowed).toEqual([]);
  });

  it("§1: presented once per contact; the cancellation is registered at once and effective within the stated hours", () => {
    expect(principles).toMatch(/apresentada \*\*uma única vez\*\* por contato/);
    expect(rules.retention.cancellation.offer_once_per_contact).toBe(true);
    const presented = offerFacts({ presented: ["RET-DESC10"] });
    expect(evaluateOffers(rules, presented).allowed.map((a) => a.offer_id)).not.toContain("RET-DESC10");
    const hours = Number(match(principles, /registrado imediatamente \(efetivação em até (\d+) horas\)/)[1]);
    expect(rules.retention.cancellation).toMatchObject({
      register_immediately: true,
      effective_hours: hours,
    });
  });

  it("§3: low risk gets no discount offer", () => {
    expect(choose).toMatch(/\*\*Risco baixo\*\*: não há oferta de desconto/);
    for (const plan of catalog.plans) {
      const e = evaluateOffers(rules, favourable(plan.plan_id, { band: "low" }));
      expect(
        e.allowed.filter((a) => a.terms.discount_pct > 0),
        plan.plan_id,
      ).toEqual([]);
    }
  });
});

describe("policy-elegibilidade §1: the definitions the facts use", () => {
  it("ARPU over the stated months, the 80% speed guarantee", () => {
    const months = Number(
      match(eligibilityPolicy, /\| ARPU\s*\| Receita média mensal do cliente nos últimos (\d+) meses/)[1],
    );
    expect(rules.retention.definitions.arpu_months).toBe(months);
    expect(speedFloor).toBe(0.8);
    const clause = rules.retention.offers
      .find((o) => o.offer_id === "RET-UPGRADE")
      ?.when.flatMap((c): { fact?: string; lt?: number }[] => c.any_of ?? [c])
      .find((c) => c.fact === "contract.speed_worst_month_ratio");
    expect(clause?.lt).toBe(speedFloor);
  });
});

describe("faq-cancelamento: regulation above retention", () => {
  it("cancellation is never obstructed, needs no payment first, and is effective within the stated hours", () => {
    expect(cancellationFaq).toMatch(/\*\*não pode impedir nem adiar\*\*/);
    expect(rules.retention.cancellation.obstruct).toBe(false);
    const hours = Number(match(cancellationFaq, /processado em até \*\*(\d+) horas\*\*/)[1]);
    expect(rules.retention.cancellation.effective_hours).toBe(hours);
    expect(cancellationFaq).toMatch(/\*\*Preciso estar em dia para cancelar\?\*\* Não\./);
    expect(rules.retention.cancellation.allowed_with_open_debt).toBe(true);
  });
});

describe("faq-fidelidade-multa: the proportional fine", () => {
  /** The business date `months` whole months before `end`. */
  const monthsBefore = (end: string, months: number) => {
    const d = new Date(`${end}T00:00:00Z`);
    d.setUTCMonth(d.getUTCMonth() - months);
    return d.toISOString().slice(0, 10);
  };
  const planNamed = (name: string) =>
    catalog.plans.find((p) => p.name === name || p.name === `Aurora ${name}`);

  it("states the catalog's fidelity benefit for every plan", () => {
    const rows = section(fidelityFaq, /## Quais planos têm fidelidade/)
      .split("\n")
      .filter((l) => /^\| (Aurora|Combo)/.test(l));
    expect(rows).toHaveLength(catalog.plans.length);
    for (const row of rows) {
      const [name, months, benefit] = row
        .split("|")
        .slice(1, -1)
        .map((c) => c.trim());
      const plan = planNamed(name);
      expect(plan, name).toBeDefined();
      expect(plan?.fidelity_months).toBe(months === "não tem" ? 0 : Number(match(months, /(\d+) meses/)[1]));
      expect(plan?.fidelity_benefit_brl).toBe(benefit === "—" ? 0 : brl(match(benefit, /R\$ ([\d.,]+)/)[1]));
    }
  });

  it("gives the FAQ's worked examples (R$ 250,00, R$ 100,00, R$ 900,00)", () => {
    const examples = [
      ...fidelityFaq.matchAll(
        /\*\*(.+?)\*\*, cancelando com (\d+) meses faltando: R\$ ([\d.,]+) × (\d+) ÷ (\d+) = \*\*R\$ ([\d.,]+)\*\*/g,
      ),
    ];
    expect(examples.map((m) => brl(m[6]))).toEqual([250, 100, 900]);
    for (const [, name, left, benefit, , fidelity, fine] of examples) {
      const plan = planNamed(name);
      expect(plan?.fidelity_benefit_brl, name).toBe(brl(benefit));
      expect(plan?.fidelity_months).toBe(Number(fidelity));
      const end = "2026-12-20";
      const f = fidelityFine(
        {
          contract_id: plan?.plan_id ?? name,
          fidelity_months: Number(fidelity),
          fidelity_end_date: end,
          fidelity_fine_brl: brl(benefit),
        },
        monthsBefore(end, Number(left)),
        { rules },
      );
      expect(f.months_remaining, name).toBe(Number(left));
      expect(f.fine_brl, name).toBe(brl(fine));
    }
  });

  it("charges nothing in the last month of the period (the FAQ's 12th month example)", () => {
    const [, name, month] = match(
      fidelityFaq,
      /\*\*(.+?)\*\*, cancelando no (\d+)º mês completo: \*\*sem multa\*\*/,
    );
    const plan = planNamed(name);
    expect(plan?.fidelity_months).toBe(Number(month));
    const start = "2025-07-10";
    const end = "2026-07-10";
    const contract = {
      contract_id: "CTR-1",
      fidelity_months: plan?.fidelity_months ?? 0,
      fidelity_end_date: end,
      fidelity_fine_brl: plan?.fidelity_benefit_brl ?? 0,
    };
    expect(monthsBefore(end, Number(month))).toBe(start);
    // On the day the 12th month completes, and anywhere inside the 12th month.
    expect(fidelityFine(contract, end, { rules }).fine_brl).toBe(0);
    expect(fidelityFine(contract, "2026-06-11", { rules }).fine_brl).toBe(0);
    // Before the 12th month starts, one month is still charged.
    expect(fidelityFine(contract, "2026-06-10", { rules })).toMatchObject({
      months_remaining: 1,
      fine_brl: 66.67,
    });
  });

  it("lists an exemption for every case where the FAQ says the fine is not charged", () => {
    const bullets = section(fidelityFaq, /## Quando a multa NÃO é cobrada/)
      .split("\n")
      .filter((l) => l.startsWith("- "));
    const exemptionFor: [RegExp, string][] = [
      [/falha da Aurora/, "operator_failure"],
      [/endereço sem cobertura/, "move_without_coverage"],
      [/\*\*7 dias\*\*/, "regret_7_days"],
      [/altera o contrato/, "harmful_contract_change"],
    ];
    expect(bullets).toHaveLength(exemptionFor.length);
    const ids = rules.fidelity.exemptions.map((e) => e.id);
    for (const b of bullets) {
      const hit = exemptionFor.find(([re]) => re.test(b));
      expect(hit, b).toBeDefined();
      expect(ids).toContain(hit?.[1]);
      expect(
        fidelityFine(
          { contract_id: "C", fidelity_months: 12, fidelity_end_date: "2026-12-01", fidelity_fine_brl: 600 },
          BUSINESS_DATE,
          { exemption: hit?.[1], rules },
        ).fine_brl,
      ).toBe(0);
    }
  });
});

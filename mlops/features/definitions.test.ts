import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DuckDbWarehouse } from "../../platform/adapters/local/duckdb-warehouse.ts";
import {
  explainFeature,
  FEATURE_GROUPS,
  FEATURE_NAMES,
  FEATURES,
  featureCatalog,
  featureSpecs,
  featureSql,
  featuresOfGroup,
  featureVersion,
} from "./definitions.ts";
import { renderSql } from "./offline.ts";
import { silverWarehouse } from "./testing/silver-fixtures.ts";

let wh: DuckDbWarehouse;
beforeAll(async () => {
  wh = await silverWarehouse();
  await wh.exec(
    "create temp table feature_spine as select 'C1' as customer_id, 'K1' as contract_id, date '2025-06-01' as cutoff_date",
  );
});
afterAll(async () => {
  await wh.close();
});

describe("feature declarations", () => {
  it("has unique snake_case names and complete bilingual labels and explanations", () => {
    expect(new Set(FEATURE_NAMES).size).toBe(FEATURE_NAMES.length);
    for (const f of FEATURES) {
      expect(f.name).toMatch(/^[a-z][a-z0-9_]*$/);
      expect(f.description.length, f.name).toBeGreaterThan(10);
      for (const lang of ["pt-BR", "en"] as const) {
        expect(f.label[lang], `${f.name} ${lang}`).not.toBe("");
        const explain = f.explain[lang];
        if (f.kind === "boolean") expect(Array.isArray(explain), f.name).toBe(true);
        else expect(explain, `${f.name} ${lang}`).toContain("{value}");
      }
    }
  });

  it.each(FEATURE_GROUPS.map((g) => g.name))(
    "sql/%s.sql returns exactly the group's declared columns",
    async (group) => {
      const sql = renderSql(featureSql(group), { spine: "feature_spine", lookback_days: 90 });
      const cols = await wh.query<{ column_name: string }>(`describe ${sql}`);
      expect(cols.map((c) => c.column_name)).toEqual([
        "customer_id",
        "cutoff_date",
        ...featuresOfGroup(group).map((f) => f.name),
      ]);
    },
  );

  it.each(FEATURE_GROUPS.map((g) => g.name))(
    "group %s declares exactly the silver tables its SQL reads",
    (group) => {
      const read = new Set(featureSql(group).match(/silver\.\w+/g) ?? []);
      const declared = FEATURE_GROUPS.find((g) => g.name === group)!.sources;
      expect([...read].sort()).toEqual([...declared].sort());
    },
  );

  it("gives booleans and numerics SQL types matching their kind", async () => {
    for (const group of FEATURE_GROUPS) {
      const sql = renderSql(featureSql(group.name), { spine: "feature_spine", lookback_days: 90 });
      const cols = await wh.query<{ column_name: string; column_type: string }>(`describe ${sql}`);
      for (const f of featuresOfGroup(group.name)) {
        const type = cols.find((c) => c.column_name === f.name)!.column_type;
        const expected = { numeric: "DOUBLE", categorical: "VARCHAR", boolean: "BOOLEAN" }[f.kind];
        expect(type, f.name).toBe(expected);
      }
    }
  });

  it("explains values in pt-BR and English with units and plurals", () => {
    expect(explainFeature("fidelity_months_left", 1, "pt-BR")).toBe("fidelidade termina em 1 mês");
    expect(explainFeature("fidelity_months_left", 3, "pt-BR")).toBe("fidelidade termina em 3 meses");
    expect(explainFeature("fidelity_months_left", 1, "en")).toBe("loyalty period ends in 1 month");
    expect(explainFeature("outages_90d", 4, "pt-BR")).toBe("4 quedas de rede na região nos últimos 90 dias");
    expect(explainFeature("outages_90d", 1, "pt-BR")).toBe("1 queda de rede na região nos últimos 90 dias");
    expect(explainFeature("late_payments_90d", 1, "en")).toBe("1 late payment in the last 90 days");
    expect(explainFeature("anatel_complaints_90d", 2, "pt-BR")).toBe(
      "2 reclamações na Anatel nos últimos 90 dias",
    );
    expect(explainFeature("monthly_price_brl", 109.99, "pt-BR")).toMatch(/^mensalidade de R\$\s?109,99$/);
    expect(explainFeature("price_change_pct_3m", 5.5, "en")).toBe("plan price changed +5.5% in 3 months");
    expect(explainFeature("competitor_offer_active", true, "pt-BR")).toBe(
      "há oferta de concorrente ativa na UF",
    );
    expect(explainFeature("competitor_offer_active", false, "en")).toBe("no competitor offer in the state");
    expect(explainFeature("tenure_months", null)).toBeUndefined();
    expect(explainFeature("no_such_feature", 1)).toBeUndefined();
  });

  it("exports a JSON catalog with sources, freshness and a stable version hash", () => {
    const catalog = featureCatalog();
    expect(catalog.entity).toBe("customer_id");
    expect(catalog.version).toMatch(/^[0-9a-f]{12}$/);
    expect(catalog.version).toBe(featureVersion());
    expect(catalog.features.map((f) => f.name)).toEqual(FEATURE_NAMES);
    const tenure = catalog.features.find((f) => f.name === "tenure_months")!;
    expect(tenure).toMatchObject({ kind: "numeric", sources: ["silver.crm_contracts"], freshness: "daily" });
    expect(JSON.parse(JSON.stringify(catalog))).toEqual(catalog);
  });

  it("maps kinds to the training FeatureSpec (booleans become categorical)", () => {
    const specs = new Map(featureSpecs().map((s) => [s.name, s.kind]));
    expect(specs.get("competitor_offer_active")).toBe("categorical");
    expect(specs.get("uf")).toBe("categorical");
    expect(specs.get("tenure_months")).toBe("numeric");
    expect([...specs.keys()]).toEqual(FEATURE_NAMES);
  });
});

import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { dataContractSchema } from "../ingestion/contract.ts";
import { CATALOG_PATH, loadCatalog } from "./catalog.ts";
import { loadSyntheticContracts, SYNTHETIC_CONTRACTS_DIR, SYNTHETIC_TABLES } from "./contracts.ts";
import { STATES } from "./reference.ts";

describe("synthetic data contracts", () => {
  const files = readdirSync(SYNTHETIC_CONTRACTS_DIR).filter((f) => f.endsWith(".json"));

  it("has one contract per simulator table; the others are optional sources (exported by the systems)", () => {
    const all = loadSyntheticContracts();
    const required = [...all.values()].filter((c) => !c.optional).map((c) => c.name);
    expect(required.sort()).toEqual([...SYNTHETIC_TABLES].sort());
    expect(files.length).toBe(all.size);
    expect(all.get("crm_interactions")?.optional).toBe(true);
  });

  it.each(files)("%s is a valid DataContract with consistent keys", (file) => {
    const raw = JSON.parse(readFileSync(join(SYNTHETIC_CONTRACTS_DIR, file), "utf8"));
    const c = dataContractSchema.parse(raw);
    expect(c.name).toBe(file.replace(/\.json$/, ""));
    expect(c.dataset).toBe("synthetic");
    const names = c.columns.map((col) => col.name);
    expect(new Set(names).size).toBe(names.length);
    for (const k of c.primaryKey) expect(names).toContain(k);
    if (c.eventTime) expect(names).toContain(c.eventTime);
    for (const col of c.columns) {
      expect(col.description.length).toBeGreaterThan(5);
      // primary-key and event-time columns must never be empty
      if (c.primaryKey.includes(col.name) || c.eventTime === col.name) expect(col.nullable).toBe(false);
      if (col.pattern) expect(() => new RegExp(col.pattern as string)).not.toThrow();
    }
    expect(c.file.endsWith(`.${c.format}`)).toBe(true);
  });

  it("enums agree with the operator catalog and the simulator's reference data", () => {
    const catalog = loadCatalog();
    const all = loadSyntheticContracts();
    const enumOf = (table: string, column: string) =>
      all
        .get(table)
        ?.columns.find((c) => c.name === column)
        ?.enum?.slice()
        .sort();
    expect(enumOf("crm_contracts", "plan_id")).toEqual(catalog.plans.map((p) => p.plan_id).sort());
    expect(enumOf("crm_contracts", "product")).toEqual(
      [...new Set(catalog.plans.map((p) => p.product))].sort(),
    );
    expect(enumOf("market_competitor_offers", "competitor")).toEqual([...catalog.competitors].sort());
    const raw = JSON.parse(readFileSync(CATALOG_PATH, "utf8")) as {
      retention_offers: { offer_id: string }[];
    };
    expect(enumOf("crm_interactions", "offer_accepted")).toEqual(
      raw.retention_offers.map((o) => o.offer_id).sort(),
    );
    expect(enumOf("crm_customers", "uf")).toEqual([...catalog.regions].sort());
    expect(STATES.map((s) => s.uf).sort()).toEqual([...catalog.regions].sort());
  });

  it("marks personal data as pii", () => {
    const customers = loadSyntheticContracts().get("crm_customers");
    const pii = customers?.columns.filter((c) => c.pii).map((c) => c.name);
    expect(pii?.sort()).toEqual(["cpf", "name", "phone"]);
  });

  it("loadSyntheticContracts refuses a broken contract and names the file", () => {
    const dir = mkdtempSync(join(tmpdir(), "contracts-"));
    writeFileSync(join(dir, "bad.json"), JSON.stringify({ name: "Bad-Name", version: 1 }));
    expect(() => loadSyntheticContracts(dir)).toThrow(/bad\.json/);
  });
});

import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { NotFoundError } from "../../platform/errors.ts";
import { sandboxSeeder } from "../../platform/sandbox/seed.ts";
import { generateOperatorData } from "./generate.ts";
import { deliveryFingerprint, seedSystemsFromDelivery, systemsSeedFromDelivery } from "./systems-seed.ts";

async function delivery(dirtyRate: number) {
  const outDir = join(mkdtempSync(join(tmpdir(), "telco-seed-")), "d");
  await generateOperatorData({ customers: 150, months: 6, seed: 7, start: "2025-01", dirtyRate, outDir });
  return outDir;
}

describe("systems seed from a synthetic delivery", () => {
  it("keeps the delivery's ids and row counts, and sets the business date to the window's last day", async () => {
    const dir = await delivery(0);
    const seed = systemsSeedFromDelivery(dir);
    const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
    const rows = (table: string) => manifest.files.find((f: { table: string }) => f.table === table).rows;
    expect(seed.as_of).toBe("2025-06-30");
    expect(seed.customers).toHaveLength(rows("crm_customers"));
    expect(seed.invoices).toHaveLength(rows("billing_invoices"));
    expect(seed.tickets).toHaveLength(rows("support_tickets"));
    expect(seed.customers[0]?.customer_id).toBe("AUR-00000001");
    expect(Object.values(seed.skipped).every((n) => n === 0)).toBe(true);
    expect(seed.source.fingerprint).toBe(deliveryFingerprint(dir));
    const report = seedSystemsFromDelivery(sandboxSeeder(join(dir, "..", "op.sqlite")), dir);
    expect(report.rows.customers).toBe(150);
    expect(report.rows.invoices).toBe(rows("billing_invoices"));
    expect(report.business_date).toBe("2025-06-30");
  });

  it("leaves out rows that break their data contract in a dirty delivery, and counts them", async () => {
    const dir = await delivery(0.05);
    const seed = systemsSeedFromDelivery(dir);
    const skipped = Object.values(seed.skipped).reduce((a, b) => a + b, 0);
    expect(skipped).toBeGreaterThan(0);
    expect(seed.invoices.every((i) => /^\d{4}-\d{2}-\d{2}$/.test(i.due_date) && i.amount_brl >= 0)).toBe(
      true,
    );
    expect(new Set(seed.customers.map((c) => c.customer_id)).size).toBe(seed.customers.length);
    expect(seedSystemsFromDelivery(sandboxSeeder(join(dir, "..", "op.sqlite")), dir).rows.customers).toBe(
      seed.customers.length,
    );
  });

  it("names the missing manifest of a folder that is not a delivery", () => {
    const dir = mkdtempSync(join(tmpdir(), "telco-seed-"));
    expect(() => systemsSeedFromDelivery(dir)).toThrowError(NotFoundError);
    expect(() => systemsSeedFromDelivery(dir)).toThrowError(/manifest\.json/);
    expect(deliveryFingerprint(dir)).toBeNull();
  });
});

/**
 * The lake port's contract (platform/ports/lake.ts), run by every adapter's tests with the same
 * cases. `setup` gives a fresh, empty lake and a scratch folder for local files to put or move in.
 *
 * Prefixes are paths: `list(p)` and `deletePrefix(p)` reach the key `p` itself and the keys under
 * `p/`, never a sibling that merely starts with the same characters (`raw/crm` is not `raw/crm2`);
 * a trailing slash changes nothing. That is what a folder means on a filesystem, and what every
 * caller (ingestion, batch scoring, the prediction log) passes.
 */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Lake } from "../lake.ts";

export interface LakeFixture {
  lake: Lake;
  /** A local folder for files that `putFile` / `moveIn` take. */
  scratch: string;
  dispose(): Promise<void>;
}

export function lakeContract(label: string, setup: () => Promise<LakeFixture>): void {
  describe(`Lake contract: ${label}`, () => {
    const open: LakeFixture[] = [];
    const fixture = async () => {
      const f = await setup();
      open.push(f);
      return f;
    };
    afterEach(async () => {
      for (const f of open.splice(0)) await f.dispose();
    });

    it("reads back what it wrote, byte for byte, text as UTF-8", async () => {
      const { lake } = await fixture();
      const bytes = Buffer.from(Array.from({ length: 512 }, (_, i) => i % 256));
      await lake.write("gold/model/blob.bin", bytes);
      await lake.write("raw/crm/2026-11-25/clientes.csv", "nome;cidade\nJoão;São Paulo\n");
      expect((await lake.read("gold/model/blob.bin")).equals(bytes)).toBe(true);
      expect((await lake.read("raw/crm/2026-11-25/clientes.csv")).toString("utf8")).toBe(
        "nome;cidade\nJoão;São Paulo\n",
      );
      expect(await lake.exists("gold/model/blob.bin")).toBe(true);
    });

    it("an overwrite replaces the whole object", async () => {
      const { lake } = await fixture();
      await lake.write("silver/customers.parquet", "a much longer first version");
      await lake.write("silver/customers.parquet", "v2");
      expect((await lake.read("silver/customers.parquet")).toString()).toBe("v2");
      expect(await lake.list("silver")).toEqual(["silver/customers.parquet"]);
    });

    it("a missing key does not exist and reading it fails; a folder is not a key", async () => {
      const { lake } = await fixture();
      expect(await lake.exists("raw/none.csv")).toBe(false);
      await expect(lake.read("raw/none.csv")).rejects.toThrow();
      await lake.write("raw/crm/a.csv", "x");
      expect(await lake.exists("raw/crm/a.csv")).toBe(true);
      expect(await lake.exists("raw/crm/b.csv")).toBe(false);
      expect(await lake.list("raw/none")).toEqual([]);
    });

    it("lists the keys under a path, sorted, across layers and past a page of results", async () => {
      const { lake } = await fixture();
      const keys = [
        "raw/crm/2026-11-25/b.csv",
        "raw/crm/2026-11-25/a.csv",
        "raw/crm/2026-11-26/a.csv",
        "raw/billing/2026-11-25/a.csv",
        "raw/crm2/a.csv",
        "bronze/crm/customers/part-0.parquet",
        "logs/predictions/2026-12-01.jsonl",
        "rejects/crm/line-7.json",
      ];
      for (const k of keys) await lake.write(k, k);
      expect(await lake.list("raw/crm")).toEqual([
        "raw/crm/2026-11-25/a.csv",
        "raw/crm/2026-11-25/b.csv",
        "raw/crm/2026-11-26/a.csv",
      ]);
      // A trailing slash names the same folder; a sibling sharing the first characters is not under it.
      expect(await lake.list("raw/crm/")).toEqual(await lake.list("raw/crm"));
      expect(await lake.list("raw")).toEqual([...keys.filter((k) => k.startsWith("raw/"))].sort());
      expect(await lake.list("bronze")).toEqual(["bronze/crm/customers/part-0.parquet"]);
      expect(await lake.list("")).toEqual([...keys].sort());
      // A key is listed as itself.
      expect(await lake.list("raw/crm2/a.csv")).toEqual(["raw/crm2/a.csv"]);
    });

    it("deletes every key under a path, or one key, and nothing beside it", async () => {
      const { lake } = await fixture();
      for (const k of [
        "gold/scores/scoring_date=2026-12-01/part-0.parquet",
        "gold/scores/scoring_date=2026-12-01/part-1.parquet",
        "gold/scores/scoring_date=2026-12-01x/part-0.parquet",
        "gold/scores/scoring_date=2026-12-02/part-0.parquet",
      ])
        await lake.write(k, "x");
      await lake.deletePrefix("gold/scores/scoring_date=2026-12-01/");
      expect(await lake.list("gold")).toEqual([
        "gold/scores/scoring_date=2026-12-01x/part-0.parquet",
        "gold/scores/scoring_date=2026-12-02/part-0.parquet",
      ]);
      await lake.deletePrefix("gold/scores/scoring_date=2026-12-02/part-0.parquet");
      expect(await lake.exists("gold/scores/scoring_date=2026-12-02/part-0.parquet")).toBe(false);
      expect(await lake.list("gold")).toEqual(["gold/scores/scoring_date=2026-12-01x/part-0.parquet"]);
      await lake.deletePrefix("gold/nothing-here"); // nothing to delete is not an error
    });

    it("puts a local file in (the file stays), and moves one in when the adapter can", async () => {
      const { lake, scratch } = await fixture();
      const src = join(scratch, "delivery.csv");
      const bytes = Buffer.concat([Buffer.from("id;valor\n"), Buffer.from([0, 255, 10, 13])]);
      writeFileSync(src, bytes);
      await lake.putFile(src, "raw/billing/2026-11-25/delivery.csv");
      expect((await lake.read("raw/billing/2026-11-25/delivery.csv")).equals(bytes)).toBe(true);
      expect(existsSync(src)).toBe(true);
      if (!lake.moveIn) return; // optional: callers fall back to putFile + delete
      const staged = join(scratch, "part-0.parquet");
      writeFileSync(staged, bytes);
      await lake.moveIn(staged, "bronze/billing/invoices/part-0.parquet");
      expect((await lake.read("bronze/billing/invoices/part-0.parquet")).equals(bytes)).toBe(true);
      expect(existsSync(staged)).toBe(false);
    });

    it("refuses keys that climb out of the lake, and names each key by a uri ending in it", async () => {
      const { lake } = await fixture();
      await expect(Promise.resolve().then(() => lake.write("raw/../../etc/x", "x"))).rejects.toThrow(/\.\./);
      await expect(Promise.resolve().then(() => lake.read("./raw/a.csv"))).rejects.toThrow();
      expect(() => lake.uri("raw/../x")).toThrow();
      expect(lake.uri("raw/crm/a.csv").replaceAll("\\", "/")).toMatch(/\/raw\/crm\/a\.csv$/);
      expect(lake.uri("raw/crm/a.csv")).not.toBe(lake.uri("raw/crm/b.csv"));
    });
  });
}

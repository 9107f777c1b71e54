import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DuckDbWarehouse } from "./duckdb-warehouse.ts";

describe("DuckDbWarehouse.session", () => {
  it("shares tables, keeps its own temp tables, and closing it leaves the database open", async () => {
    const wh = await DuckDbWarehouse.open(join(mkdtempSync(join(tmpdir(), "telco-wh-")), "w.duckdb"));
    try {
      await wh.exec("CREATE TABLE t AS SELECT 1 AS x");
      const s = await wh.session();
      expect(await s.query("SELECT x FROM t")).toEqual([{ x: 1 }]);
      await s.exec("CREATE TEMP TABLE _tmp AS SELECT 2 AS y");
      await expect(wh.query("SELECT y FROM _tmp")).rejects.toThrow(/_tmp/);
      await s.exec("INSERT INTO t VALUES (3)");
      await s.close();
      expect(await wh.query("SELECT x FROM t ORDER BY x")).toEqual([{ x: 1 }, { x: 3 }]);
    } finally {
      await wh.close();
    }
  });

  it("statements of two sessions in flight together each get their own result", async () => {
    const wh = await DuckDbWarehouse.open(":memory:");
    try {
      await wh.exec("SET threads = 1");
      const s = await wh.session();
      // Both queries are in flight together; each finishes with its own result.
      const [a, b] = await Promise.all([
        wh.query<{ n: number }>(
          "SELECT count(*) AS n FROM range(3000000) r, range(2) q WHERE r.range % 7 = q.range",
        ),
        s.query<{ n: number }>("SELECT count(*) AS n FROM range(2000000) WHERE range % 3 = 0"),
      ]);
      expect(Number(a[0].n)).toBe(428572 + 428572); // r % 7 is 0 or 1
      expect(Number(b[0].n)).toBe(666667);
      await s.close();
    } finally {
      await wh.close();
    }
  });
});

describe("DuckDbWarehouse.open on a file another process writes", () => {
  it("names the process that holds the lock instead of DuckDB's raw IO error", async () => {
    const { spawn } = await import("node:child_process");
    const path = join(mkdtempSync(join(tmpdir(), "telco-wh-")), "w.duckdb");
    const holderCode = `
      const { DuckDbWarehouse } = await import(${JSON.stringify(join(import.meta.dirname, "duckdb-warehouse.ts"))});
      const wh = await DuckDbWarehouse.open(${JSON.stringify(path)});
      process.stdout.write("ready\\n");
      setTimeout(() => wh.close(), 20000);`;
    const holder = spawn(process.execPath, ["--input-type=module", "-e", holderCode], { stdio: "pipe" });
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout.on("data", (d: Buffer) => d.toString().includes("ready") && resolve());
        holder.on("exit", (code) => reject(new Error(`holder exited ${code}`)));
      });
      const err = await DuckDbWarehouse.open(path).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ code: "warehouse_locked", details: { pid: holder.pid } });
      expect((err as Error).message).toContain(`process ${holder.pid}`);
    } finally {
      holder.kill();
    }
  });
});

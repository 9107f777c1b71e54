import { describe, expect, it } from "vitest";
import type { Row } from "../../ports/warehouse.ts";
import { type BigQueryLike, BigQueryWarehouse } from "./bigquery-warehouse.ts";
import { type GcsBucketLike, GcsLake } from "./gcs-lake.ts";

/** An in-memory bucket with the same method shapes as @google-cloud/storage's Bucket. */
function fakeBucket(): GcsBucketLike & { objects: Map<string, Buffer>; calls: string[] } {
  const objects = new Map<string, Buffer>();
  const calls: string[] = [];
  return {
    objects,
    calls,
    file(name) {
      return {
        async exists() {
          return [objects.has(name)];
        },
        async download() {
          const data = objects.get(name);
          if (!data) throw new Error(`No such object: ${name}`);
          return [data];
        },
        async save(data) {
          calls.push(`save ${name}`);
          objects.set(name, Buffer.from(data));
        },
      };
    },
    async getFiles({ prefix }) {
      return [[...objects.keys()].filter((k) => k.startsWith(prefix)).map((name) => ({ name }))];
    },
    async upload(localPath, { destination }) {
      calls.push(`upload ${localPath} -> ${destination}`);
      objects.set(destination, Buffer.from(`contents of ${localPath}`));
    },
    async deleteFiles({ prefix }) {
      for (const k of [...objects.keys()]) if (k.startsWith(prefix)) objects.delete(k);
    },
  };
}

describe("GcsLake", () => {
  it("maps keys under the bucket prefix and round-trips objects", async () => {
    const bucket = fakeBucket();
    const lake = new GcsLake({ bucket: "gs://telco-dev-lake", prefix: "lake", client: bucket });
    expect(lake.uri("raw/crm/2026-11-25/customers.csv")).toBe(
      "gs://telco-dev-lake/lake/raw/crm/2026-11-25/customers.csv",
    );
    await lake.write("bronze/a.parquet", "A");
    await lake.putFile("/tmp/x.csv", "raw/crm/x.csv");
    expect(bucket.calls).toEqual(["save lake/bronze/a.parquet", "upload /tmp/x.csv -> lake/raw/crm/x.csv"]);
    expect(await lake.exists("bronze/a.parquet")).toBe(true);
    expect((await lake.read("bronze/a.parquet")).toString()).toBe("A");
    expect(await lake.list("raw")).toEqual(["raw/crm/x.csv"]);
    await lake.deletePrefix("raw");
    expect(await lake.list("")).toEqual(["bronze/a.parquet"]);
  });

  it("refuses keys that climb out of the lake", () => {
    const lake = new GcsLake({ bucket: "b", client: fakeBucket() });
    expect(() => lake.uri("raw/../../etc")).toThrow(/may not contain/);
  });
});

describe("BigQueryWarehouse", () => {
  function fakeBigQuery(pages: Row[][] = [[{ n: 1 }]]) {
    const queries: { query: string; params?: unknown[]; location?: string }[] = [];
    const client: BigQueryLike = {
      async query(options) {
        queries.push(options);
        if (options.query.includes("INFORMATION_SCHEMA")) {
          if (options.query.includes("gold")) return [[{ table_name: "churn_training" }]];
          throw new Error("Not found: Dataset p:dev_bronze");
        }
        return [[{ ok: true }]];
      },
      async createQueryJob(options) {
        queries.push(options);
        let i = 0;
        return [
          {
            async getQueryResults() {
              const rows = pages[i] ?? [];
              i++;
              return [rows, i < pages.length ? { pageToken: `t${i}` } : null];
            },
          },
        ];
      },
    };
    return { client, queries };
  }

  it("rewrites layer-qualified names to prefixed datasets and passes params and location", async () => {
    const { client, queries } = fakeBigQuery();
    const wh = new BigQueryWarehouse({ location: "southamerica-east1", datasetPrefix: "dev", client });
    await wh.query(
      "select * from gold.churn_training g join silver.crm_customers c using (customer_id) where x = ?",
      [3],
    );
    expect(queries[0]).toEqual({
      query:
        "select * from dev_gold.churn_training g join dev_silver.crm_customers c using (customer_id) where x = ?",
      params: [3],
      location: "southamerica-east1",
    });
    // Column references such as t.gold are left alone.
    expect(wh.qualify("select t.gold.x from t")).toBe("select t.gold.x from t");
  });

  it("streams every page of a query", async () => {
    const { client } = fakeBigQuery([[{ n: 1 }, { n: 2 }], [{ n: 3 }]]);
    const wh = new BigQueryWarehouse({ location: "US", client });
    const seen: number[] = [];
    for await (const chunk of wh.stream<{ n: number }>("select n from gold.t"))
      seen.push(...chunk.map((r) => r.n));
    expect(seen).toEqual([1, 2, 3]);
  });

  it("lists tables of existing layer datasets and skips missing ones", async () => {
    const { client } = fakeBigQuery();
    const wh = new BigQueryWarehouse({ project: "p", location: "US", datasetPrefix: "dev", client });
    expect(await wh.tables()).toEqual(["gold.churn_training"]);
  });
});

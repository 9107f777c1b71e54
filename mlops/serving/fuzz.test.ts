import fc from "fast-check";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildServer } from "./server.ts";
import { FIXTURE_SPECS, type ServingFixture, servingFixture } from "./testing/fixture.ts";

const KEY = "fuzz-key-0123456789abcdef";
const headers = { authorization: `Bearer ${KEY}`, "content-type": "application/json" };

/** Bodies shaped like real requests, with every field free to take any JSON value. */
const nearValidBody = fc.record(
  {
    customer_ids: fc.oneof(
      fc.array(fc.oneof(fc.string(), fc.constantFrom("C000001", "C000002")), { maxLength: 12 }),
      fc.jsonValue(),
    ),
    features: fc.oneof(
      fc.array(
        fc.record(
          Object.fromEntries(
            FIXTURE_SPECS.map((f) => [
              f.name,
              fc.oneof(fc.double(), fc.string(), fc.boolean(), fc.constant(null), fc.jsonValue()),
            ]),
          ),
          { requiredKeys: [] },
        ),
        { maxLength: 3 },
      ),
      fc.jsonValue(),
    ),
    model: fc.oneof(
      fc.string(),
      fc.constantFrom("champion", "1", "2", "churn@1", "other@1", "../x"),
      fc.jsonValue(),
    ),
    explain: fc.oneof(fc.boolean(), fc.jsonValue()),
  },
  { requiredKeys: [] },
);

describe("predict endpoint fuzzing", () => {
  let fx: ServingFixture;
  let server: FastifyInstance;
  beforeAll(async () => {
    fx = await servingFixture({ config: { maxBatch: 10, bodyLimitBytes: 8192 } });
    server = await buildServer(fx.app, { apiKeys: [KEY] });
  });
  afterAll(async () => {
    await server.close();
    await fx.cleanup();
  });

  const expectHandled = (status: number, body: string) => {
    expect(status).toBeLessThan(500);
    if (status >= 400) expect(JSON.parse(body).error.code).toEqual(expect.any(String));
  };

  it("never answers 5xx to random JSON values", async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (value) => {
        const res = await server.inject({
          method: "POST",
          url: "/v1/churn/predict",
          headers,
          payload: JSON.stringify(value),
        });
        expectHandled(res.statusCode, res.body);
      }),
      { numRuns: 300 },
    );
  });

  it("never answers 5xx to near-valid bodies with hostile values", async () => {
    await fc.assert(
      fc.asyncProperty(nearValidBody, async (body) => {
        const res = await server.inject({
          method: "POST",
          url: "/v1/churn/predict",
          headers,
          payload: JSON.stringify(body),
        });
        expectHandled(res.statusCode, res.body);
      }),
      { numRuns: 400 },
    );
  });

  it("never answers 5xx to random bytes, with JSON or other content types", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 2000 }),
        fc.constantFrom(
          "application/json",
          "text/plain",
          "application/x-www-form-urlencoded",
          "application/octet-stream",
        ),
        async (bytes, type) => {
          const res = await server.inject({
            method: "POST",
            url: "/v1/churn/predict",
            headers: { ...headers, "content-type": type },
            payload: Buffer.from(bytes),
          });
          expectHandled(res.statusCode, res.body);
        },
      ),
      { numRuns: 300 },
    );
  });
});

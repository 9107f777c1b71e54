import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { context, SpanStatusCode, trace } from "@opentelemetry/api";
import { afterEach, describe, expect, it } from "vitest";
import { SqliteTraceStore } from "../adapters/local/sqlite-trace-store.ts";
import { observabilityConfigSchema } from "../config/sections/observability.ts";
import { otlpOptionsFrom } from "./otlp.ts";
import { openSpanPipeline } from "./tracing.ts";

interface Received {
  path: string;
  headers: IncomingMessage["headers"];
  body: OtlpJson;
}
interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
}
interface OtlpJson {
  resourceSpans: {
    resource: { attributes: { key: string; value: OtlpValue }[] };
    scopeSpans: {
      spans: {
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        attributes: { key: string; value: OtlpValue }[];
        status?: { code?: number; message?: string };
      }[];
    }[];
  }[];
}

/** A local OTLP/HTTP receiver: decodes each JSON export request it gets. */
async function startReceiver(): Promise<{ server: Server; url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({
        path: req.url ?? "",
        headers: req.headers,
        body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as OtlpJson,
      });
      res.writeHead(200, { "content-type": "application/json" });
      res.end("{}");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return { server, url: `http://127.0.0.1:${port}/v1/traces`, received };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const value = (v: OtlpValue) =>
  v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : (v.doubleValue ?? v.boolValue));

describe("openSpanPipeline", () => {
  it("writes each span to the trace store and exports the same spans over OTLP/HTTP with the configured headers", async () => {
    const dir = mkdtempSync(join(tmpdir(), "telco-tracing-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const store = SqliteTraceStore.open(dir);
    cleanups.push(() => store.close());
    const rx = await startReceiver();
    cleanups.push(() => new Promise<void>((r) => rx.server.close(() => r())));

    const cfg = observabilityConfigSchema.parse({
      otlp: { target: "langfuse", endpoint: rx.url, headersFromEnv: { Authorization: "TEST_LANGFUSE_AUTH" } },
    }).otlp;
    expect(() => otlpOptionsFrom(cfg, {})).toThrow(/TEST_LANGFUSE_AUTH, which is not set/);
    const otlp = otlpOptionsFrom(cfg, { TEST_LANGFUSE_AUTH: "Basic cGs6c2s=" });
    const pipeline = await openSpanPipeline({ serviceName: "telco-assistant-test", store, otlp });

    const root = pipeline.tracer.startSpan("invoke_agent telco-assistant", {
      attributes: { "gen_ai.operation.name": "invoke_agent", "gen_ai.conversation.id": "ses_x" },
    });
    const child = pipeline.tracer.startSpan(
      "execute_tool get_customer_profile",
      { attributes: { "gen_ai.tool.name": "get_customer_profile", "gen_ai.usage.input_tokens": 12 } },
      trace.setSpan(context.active(), root),
    );
    child.setStatus({ code: SpanStatusCode.ERROR, message: "crm unavailable" });
    child.end();
    root.end();
    await pipeline.flush();

    const stored = await store.get(root.spanContext().traceId);
    expect(stored?.map((s) => [s.name, s.parent_span_id])).toEqual([
      ["invoke_agent telco-assistant", null],
      ["execute_tool get_customer_profile", root.spanContext().spanId],
    ]);
    expect(stored?.[1]).toMatchObject({ status: "error", status_message: "crm unavailable" });
    expect((await store.list())[0].session_id).toBe("ses_x");

    expect(rx.received.length).toBeGreaterThanOrEqual(1);
    expect(rx.received[0].path).toBe("/v1/traces");
    expect(rx.received[0].headers.authorization).toBe("Basic cGs6c2s=");
    const rs = rx.received.flatMap((r) => r.body.resourceSpans);
    const service = rs[0].resource.attributes.find((a) => a.key === "service.name");
    expect(service && value(service.value)).toBe("telco-assistant-test");
    const spans = rs.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
    const tool = spans.find((s) => s.name === "execute_tool get_customer_profile");
    expect(tool?.traceId).toBe(root.spanContext().traceId);
    expect(tool?.parentSpanId).toBe(root.spanContext().spanId);
    expect(Object.fromEntries(tool?.attributes.map((a) => [a.key, value(a.value)]) ?? [])).toMatchObject({
      "gen_ai.tool.name": "get_customer_profile",
      "gen_ai.usage.input_tokens": 12,
    });
    expect(tool?.status).toMatchObject({ code: 2, message: "crm unavailable" });
    await pipeline.shutdown();
  });

  it("exports nothing over OTLP when the target is none", () => {
    expect(otlpOptionsFrom(observabilityConfigSchema.parse({}).otlp)).toBeNull();
    const cloud = otlpOptionsFrom(observabilityConfigSchema.parse({ otlp: { target: "cloud-trace" } }).otlp);
    expect(cloud?.url).toBe("https://telemetry.googleapis.com/v1/traces");
  });
});

import { type Tracer, trace } from "@opentelemetry/api";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BatchSpanProcessor,
  ConsoleSpanExporter,
  InMemorySpanExporter,
  NodeTracerProvider,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace-node";
import type { TraceStore } from "../ports/trace-store.ts";
import { createOtlpExporter, type OtlpExportOptions } from "./otlp.ts";
import { TraceStoreSpanExporter } from "./trace-store-exporter.ts";

export type TraceExporterKind = "none" | "console" | "memory";

/** A tracer plus the provider behind it; `memory` exposes the exporter so tests can read spans. */
export interface Tracing {
  tracer: Tracer;
  memory: InMemorySpanExporter | undefined;
  shutdown(): Promise<void>;
}

/**
 * Creates a tracer for one server. The provider is not registered globally, so several servers
 * (tests) do not share spans; `none` returns the API's no-op tracer (no cost per request).
 * On GCP a Cloud Trace exporter would be added here; locally console or memory is enough.
 */
export function createTracing(kind: TraceExporterKind, serviceName = "telco-serving"): Tracing {
  if (kind === "none") {
    return { tracer: trace.getTracer(serviceName), memory: undefined, shutdown: async () => {} };
  }
  const memory = kind === "memory" ? new InMemorySpanExporter() : undefined;
  const exporter: SpanExporter = memory ?? new ConsoleSpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  return {
    tracer: provider.getTracer(serviceName),
    memory,
    shutdown: () => provider.shutdown(),
  };
}

/** Where the spans of a span pipeline go. */
export interface SpanPipelineOptions {
  /** `service.name` of the resource every span carries. */
  serviceName: string;
  /** More resource attributes (service.version, deployment.environment …). */
  resource?: Record<string, string>;
  /** Each span is written here as it ends (the local trace store). */
  store?: TraceStore | null;
  /** Batched OTLP/HTTP export (Cloud Trace, Langfuse, a collector). */
  otlp?: OtlpExportOptions | null;
  /** Keep finished spans in memory too (tests). */
  memory?: boolean;
}

export interface SpanPipeline extends Tracing {
  /** Waits until every ended span reached every destination. */
  flush(): Promise<void>;
}

/**
 * A tracer whose spans go to the trace store (synchronously as each ends), to OTLP (batched) and/or
 * to memory. Like createTracing, the provider is not registered globally.
 */
export async function openSpanPipeline(o: SpanPipelineOptions): Promise<SpanPipeline> {
  const processors: SpanProcessor[] = [];
  if (o.store) processors.push(new SimpleSpanProcessor(new TraceStoreSpanExporter(o.store)));
  if (o.otlp)
    processors.push(
      new BatchSpanProcessor(await createOtlpExporter(o.otlp), {
        scheduledDelayMillis: 1000,
        exportTimeoutMillis: o.otlp.timeoutMs,
      }),
    );
  const memory = o.memory ? new InMemorySpanExporter() : undefined;
  if (memory) processors.push(new SimpleSpanProcessor(memory));
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ "service.name": o.serviceName, ...o.resource }),
    spanProcessors: processors,
  });
  return {
    tracer: provider.getTracer(o.serviceName),
    memory,
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}

import { type Tracer, trace } from "@opentelemetry/api";
import {
  ConsoleSpanExporter,
  InMemorySpanExporter,
  NodeTracerProvider,
  SimpleSpanProcessor,
  type SpanExporter,
} from "@opentelemetry/sdk-trace-node";

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

import type { SpanExporter } from "@opentelemetry/sdk-trace-node";
import { type ObservabilityConfig, OTLP_DEFAULT_ENDPOINTS } from "../config/sections/observability.ts";
import { ConfigError } from "../errors.ts";

/** Where OTLP/HTTP spans go and with which headers (values already resolved from the environment). */
export interface OtlpExportOptions {
  url: string;
  headers: Record<string, string>;
  timeoutMs: number;
}

/**
 * The OTLP settings of `observability.otlp`, or null when the target is `none`. Header values come from
 * the environment variables the config names; a missing one is a ConfigError naming the variable.
 */
export function otlpOptionsFrom(
  cfg: ObservabilityConfig["otlp"],
  env: NodeJS.ProcessEnv = process.env,
): OtlpExportOptions | null {
  if (cfg.target === "none") return null;
  const headers: Record<string, string> = {};
  const missing: string[] = [];
  for (const [header, variable] of Object.entries(cfg.headersFromEnv)) {
    const value = env[variable];
    if (value === undefined || value === "") missing.push(variable);
    else headers[header] = value;
  }
  if (missing.length)
    throw new ConfigError(
      `observability.otlp.headersFromEnv names ${missing.join(", ")}, which ${missing.length > 1 ? "are" : "is"} not set`,
      {
        hint: "Export the variable(s) before starting, or remove the header; traces still go to the local store.",
        details: { missing },
      },
    );
  return {
    url: cfg.endpoint ?? OTLP_DEFAULT_ENDPOINTS[cfg.target],
    headers,
    timeoutMs: cfg.timeoutMs,
  };
}

/**
 * The OpenTelemetry OTLP/HTTP (JSON) trace exporter: Cloud Trace, Langfuse, or any collector. Loaded
 * on demand so commands that export nothing do not pay for it.
 */
export async function createOtlpExporter(o: OtlpExportOptions): Promise<SpanExporter> {
  const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-http");
  return new OTLPTraceExporter({ url: o.url, headers: o.headers, timeoutMillis: o.timeoutMs });
}

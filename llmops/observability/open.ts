import { trace } from "@opentelemetry/api";
import type { AppContext } from "../../platform/context.ts";
import { llmRef } from "../../platform/ports/llm.ts";
import { otlpOptionsFrom } from "../../platform/telemetry/otlp.ts";
import { openSpanPipeline } from "../../platform/telemetry/tracing.ts";
import { DeployedVersionsProbe } from "./lineage.ts";
import { AssistantMetrics } from "./metrics.ts";
import { TracingObserver } from "./observer.ts";

/**
 * The observer of an AppContext, built once from `observability.*` and shared by every assistant the
 * context composes (the CLI's, the API's, an evaluation's): spans to the workspace trace store and,
 * with `observability.otlp.target`, over OTLP; Prometheus series in `observer.metrics`. An OTLP setting
 * that cannot be used (a header variable not set) is reported once and the traces stay local.
 */
const observers = new WeakMap<AppContext, Promise<TracingObserver>>();

export function observerFor(app: AppContext): Promise<TracingObserver> {
  let o = observers.get(app);
  if (!o) {
    o = create(app);
    observers.set(app, o);
    o.catch(() => observers.delete(app));
  }
  return o;
}

/** Uses `observer` for every assistant composed from `app` from now on (tests, evaluations). */
export function setObserverFor(app: AppContext, observer: TracingObserver): void {
  observers.set(app, Promise.resolve(observer));
}

async function create(app: AppContext): Promise<TracingObserver> {
  const cfg = app.config.observability;
  const metrics = cfg.metrics.enabled ? new AssistantMetrics() : null;
  const deployed = new DeployedVersionsProbe(app, { llm: async () => llmRef(await app.llm()) });
  if (!cfg.traces.enabled)
    return new TracingObserver({
      tracer: trace.getTracer("telco-assistant-off"),
      metrics,
      deployed: null,
      maxAttributeChars: cfg.traces.maxAttributeChars,
    });
  let store = null;
  if (cfg.traces.store) {
    store = await app.traceStore();
    const before = new Date(Date.now() - cfg.traces.retentionDays * 86_400_000).toISOString();
    await store.prune(before).catch(() => 0);
  }
  let otlp = null;
  try {
    otlp = otlpOptionsFrom(cfg.otlp);
  } catch (err) {
    process.stderr.write(
      `warning: OTLP export off: ${err instanceof Error ? err.message : String(err)} (traces stay in the local store)\n`,
    );
  }
  const pipeline = await openSpanPipeline({
    serviceName: cfg.serviceName,
    resource: { "deployment.environment.name": app.config.profile },
    store,
    otlp,
  });
  return new TracingObserver({
    tracer: pipeline.tracer,
    metrics,
    deployed: () => deployed.get(),
    maxAttributeChars: cfg.traces.maxAttributeChars,
    flush: () => pipeline.flush(),
  });
}

/**
 * The `telco up` steps that run in worker threads (cli/up-thread.ts) beside the churn-training
 * pipeline: none reads what the pipeline writes, the pipeline reads none of theirs. In their own
 * module so a thread loads only what these need, not the pipeline, the registry or the server.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { deliveryFingerprint, seedSystemsFromDelivery } from "../mlops/simulator/systems-seed.ts";
import { sandboxSeeder } from "../platform/sandbox/seed.ts";
import { SandboxStore } from "../platform/sandbox/store.ts";
import { defaultDeliveryDir } from "./deliveries.ts";
import type { UpStep } from "./up-step.ts";

/** Trains (or finds cached) the assistant's intent classifier, so the server need not before it listens. */
export const assistantStep: UpStep = {
  name: "assistant",
  thread: true,
  async run(app) {
    // The assistant's intent classifier, trained from the utterance files and cached in the
    // workspace: the server would otherwise train it (~3 s of CPU) before it listens.
    const { createUnderstanding } = await import("../llmops/assistant/compose.ts");
    const started = performance.now();
    // The business date is read per message, never while warming: no operator systems needed yet.
    const noSystems = {} as Parameters<typeof createUnderstanding>[1];
    try {
      await createUnderstanding(app, noSystems, { warm: true });
    } catch (err) {
      // Only a head start: the server warms it itself (e.g. when the configured LLM is not reachable).
      return `assistant's understanding model not prepared here (${(err as Error).message}); the server prepares it when it starts`;
    }
    return `assistant's understanding model ready in ${join(app.paths.assistant, "nlu-model.json")} (${Math.round(performance.now() - started)} ms)`;
  },
};

/** Indexes the built-in knowledge base (re-indexes only changed documents). */
export const knowledgeBaseStep: UpStep = {
  name: "knowledge-base",
  thread: true,
  async run(app, rt) {
    const { ingestBuiltinKnowledgeBase } = await import("../llmops/rag/api.ts");
    const report = await ingestBuiltinKnowledgeBase(app, { warn: (m) => rt.warn(m) });
    return `index ${report.index} version ${report.index_version}: ${report.documents.total} documents, ${report.chunks.total} chunks (${report.chunks.embedded} embedded now)`;
  },
};

/** Seeds the operator systems' sandbox from the delivery, unless it already holds this delivery. */
export const systemsStep: UpStep = {
  name: "systems",
  thread: true,
  async run(app) {
    const dir = defaultDeliveryDir(app);
    const wanted = deliveryFingerprint(dir);
    if (existsSync(app.paths.systems)) {
      let current: string | undefined;
      try {
        const store = SandboxStore.open(app.paths.systems);
        current = store.meta("fingerprint");
        store.close();
      } catch {
        current = undefined; // never seeded: seed below
      }
      if (current && current === wanted) return `operator systems up to date (${app.paths.systems})`;
    }
    const r = seedSystemsFromDelivery(sandboxSeeder(app.paths.systems), dir);
    return `operator systems seeded: ${r.rows.customers} customers, business date ${r.business_date} (${r.read_ms + r.duration_ms} ms)`;
  },
};

/**
 * Builds the web portal when its build is missing or older than its sources (else nothing), as the
 * server would before it listens; only when `up` serves (`--no-serve` leaves portal/dist alone).
 */
export const portalStep: UpStep = {
  name: "portal",
  thread: true,
  serveOnly: true,
  async run() {
    const { ensurePortalBuilt, PORTAL_DIST } = await import("./portal/build.ts");
    try {
      const r = await ensurePortalBuilt();
      return r.built ? `portal built into ${PORTAL_DIST} in ${r.ms} ms` : "portal build up to date";
    } catch (err) {
      // The server serves the last build (or a "not built" page) and says so: not a failed `up`.
      return `portal not built (${(err as Error).message.split("\n")[0]}); run \`npm run build:portal\``;
    }
  },
};

/** Every step a thread may run, by name (cli/up-thread.ts). */
export const threadSteps: readonly UpStep[] = [portalStep, knowledgeBaseStep, assistantStep, systemsStep];

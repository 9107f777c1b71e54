/**
 * The worker thread of `telco up` that runs the steps marked `thread` (cli/up-thread-steps.ts) beside
 * the main thread's generate and churn-training: seeding the operator systems, indexing the knowledge
 * base, training the assistant's intent model and building the portal are SQLite writes and CPU work
 * that would otherwise wait for the pipeline, or it for them. One thread runs them one after another
 * (one lane): on a 2-core laptop, more lanes would only slow the pipeline, which is the longest path.
 * It builds its own AppContext from the main thread's config and workspace (no handle is shared).
 */
import { parentPort, workerData } from "node:worker_threads";
import type { Progress } from "../platform/cli/progress.ts";
import type { CommandRuntime } from "../platform/cli/runtime.ts";
import type { TelcoConfig } from "../platform/config/schema.ts";
import { contextFromConfig } from "../platform/context.ts";

/** What the main thread sends at start (workerData). */
export interface UpThreadInput {
  config: TelcoConfig;
  home: string;
  configFile: string | undefined;
}

/** What the main thread posts: run one step (queued behind the others), or close and exit. */
export type UpThreadRequest = { kind: "run"; step: string } | { kind: "close" };

/** What the thread posts back: a step's messages while it runs, then its summary or its error. */
export type UpThreadMessage =
  | { kind: "info" | "warn"; step: string; message: string }
  | { kind: "done"; step: string; summary: string; ms: number }
  | { kind: "failed"; step: string; message: string; code?: string; hint?: string };

const port = parentPort;
if (port) {
  const input = workerData as UpThreadInput;
  const post = (m: UpThreadMessage) => port.postMessage(m);
  const app = contextFromConfig(input.config, input.home, input.configFile);
  const noProgress: Progress = { tick() {}, update() {}, step() {}, done() {} };
  const runtimeFor = (step: string) =>
    ({
      json: false,
      app: () => app,
      result() {},
      info: (message: string) => post({ kind: "info", step, message }),
      warn: (message: string) => post({ kind: "warn", step, message }),
      progress: () => noProgress,
    }) as unknown as CommandRuntime;
  const stepsLoaded = import("./up-thread-steps.ts");
  let lane: Promise<void> = Promise.resolve();
  port.on("message", (m: UpThreadRequest) => {
    if (m.kind === "close") {
      lane = lane.then(async () => {
        await app.close();
        port.close();
      });
      return;
    }
    lane = lane.then(async () => {
      try {
        const step = (await stepsLoaded).threadSteps.find((s) => s.name === m.step);
        if (!step) throw new Error(`no telco up step named ${m.step}`);
        const started = performance.now();
        const summary = await step.run(app, runtimeFor(m.step));
        post({ kind: "done", step: m.step, summary, ms: performance.now() - started });
      } catch (err) {
        const e = err as { message?: string; code?: string; hint?: string };
        post({
          kind: "failed",
          step: m.step,
          message: e?.message ?? String(err),
          ...(typeof e?.code === "string" ? { code: e.code } : {}),
          ...(typeof e?.hint === "string" ? { hint: e.hint } : {}),
        });
      }
    });
  });
}

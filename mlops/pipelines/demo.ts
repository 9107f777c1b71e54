import { readFileSync, writeFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import {
  artifact,
  definePipeline,
  defineStep,
  fromParam,
  fromTask,
  type Pipeline,
  param,
  task,
} from "./dsl.ts";

/**
 * A small but realistic pipeline for tests, docs and the bench: extract → (profile ‖ train) →
 * evaluate. `work_ms` simulates step cost (sleep, not CPU, so it does not fight other processes);
 * the model is a one-feature threshold classifier learned from generated rows.
 */

const extract = defineStep({
  name: "extract",
  version: "1",
  description: "generate a deterministic labelled dataset (CSV)",
  inputs: {
    rows: param.int({ default: 1000 }),
    seed: param.int({ default: 7 }),
    work_ms: param.int({ default: 0 }),
  },
  outputs: { dataset: artifact.dataset(), row_count: param.int() },
  async run({ rows, seed, work_ms }, ctx) {
    if (work_ms > 0) await sleep(work_ms);
    let s = seed >>> 0 || 1;
    const rand = () => {
      s = (s * 1664525 + 1013904223) >>> 0;
      return s / 2 ** 32;
    };
    const lines = ["tenure,label"];
    for (let i = 0; i < rows; i++) {
      const tenure = Math.floor(rand() * 72);
      lines.push(`${tenure},${rand() < 1 / (1 + Math.exp((tenure - 20) / 8)) ? 1 : 0}`);
    }
    writeFileSync(ctx.outputs.dataset.path, `${lines.join("\n")}\n`);
    ctx.outputs.dataset.metadata.rows = rows;
    return { row_count: rows };
  },
});

function readRows(path: string): Array<[number, number]> {
  return readFileSync(path, "utf8")
    .trim()
    .split("\n")
    .slice(1)
    .map((l) => l.split(",").map(Number) as [number, number]);
}

const profile = defineStep({
  name: "profile",
  version: "1",
  description: "summary statistics of the dataset",
  inputs: { dataset: artifact.dataset(), work_ms: param.int({ default: 0 }) },
  outputs: { stats: artifact.metrics() },
  async run({ dataset, work_ms }, ctx) {
    if (work_ms > 0) await sleep(work_ms);
    const rows = readRows(dataset.path);
    const churn = rows.reduce((a, [, y]) => a + y, 0) / rows.length;
    writeFileSync(ctx.outputs.stats.path, JSON.stringify({ rows: rows.length, churn_rate: churn }));
    return {};
  },
});

const train = defineStep({
  name: "train",
  version: "1",
  description: "learn the tenure threshold that best separates churners",
  inputs: { dataset: artifact.dataset(), work_ms: param.int({ default: 0 }) },
  outputs: { model: artifact.model(), threshold: param.double() },
  retry: { maxAttempts: 2, backoffMs: 10 },
  async run({ dataset, work_ms }, ctx) {
    if (work_ms > 0) await sleep(work_ms);
    const rows = readRows(dataset.path);
    let best = 0;
    let bestAcc = -1;
    for (let t = 0; t <= 72; t++) {
      const acc = rows.reduce((a, [x, y]) => a + ((x < t ? 1 : 0) === y ? 1 : 0), 0) / rows.length;
      if (acc > bestAcc) [best, bestAcc] = [t, acc];
    }
    writeFileSync(
      ctx.outputs.model.path,
      JSON.stringify({ kind: "threshold", feature: "tenure", threshold: best }),
    );
    return { threshold: best };
  },
});

const evaluate = defineStep({
  name: "evaluate",
  version: "1",
  description: "accuracy of the model on the dataset",
  inputs: { dataset: artifact.dataset(), model: artifact.model(), work_ms: param.int({ default: 0 }) },
  outputs: { metrics: artifact.classificationMetrics(), accuracy: param.double() },
  async run({ dataset, model, work_ms }, ctx) {
    if (work_ms > 0) await sleep(work_ms);
    const { threshold } = JSON.parse(readFileSync(model.path, "utf8")) as { threshold: number };
    const rows = readRows(dataset.path);
    const accuracy = rows.reduce((a, [x, y]) => a + ((x < threshold ? 1 : 0) === y ? 1 : 0), 0) / rows.length;
    writeFileSync(ctx.outputs.metrics.path, JSON.stringify({ accuracy }));
    return { accuracy };
  },
});

/** The demo pipeline (name "demo"). */
export function demoPipeline(): Pipeline {
  return definePipeline({
    name: "demo",
    description: "extract → profile ‖ train → evaluate, with simulated step cost (work_ms)",
    params: {
      rows: param.int({ default: 1000 }),
      seed: param.int({ default: 7 }),
      work_ms: param.int({ default: 0 }),
    },
    tasks: {
      extract: task(extract, {
        rows: fromParam("rows"),
        seed: fromParam("seed"),
        work_ms: fromParam("work_ms"),
      }),
      profile: task(profile, { dataset: fromTask("extract", "dataset"), work_ms: fromParam("work_ms") }),
      train: task(train, { dataset: fromTask("extract", "dataset"), work_ms: fromParam("work_ms") }),
      evaluate: task(evaluate, {
        dataset: fromTask("extract", "dataset"),
        model: fromTask("train", "model"),
        work_ms: fromParam("work_ms"),
      }),
    },
  });
}

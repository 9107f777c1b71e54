/**
 * Speed of the GBDT on a synthetic 200k × 40 numeric matrix: training time with 1 and 2 histogram threads
 * and prediction rows/s. Prints one JSON object. Run: node mlops/training/gbdt/bench-gbdt.ts [rows] [trees] [--repeat]
 */
import { trainGbdt } from "./learner.ts";
import { syntheticMatrix } from "./test-data.ts";

const rows = Number(process.argv[2] ?? 200_000);
const trees = Number(process.argv[3] ?? 100);
const data = syntheticMatrix(rows, 40, 7);
const params = { numTrees: trees, learningRate: 0.1, numLeaves: 31, maxDepth: 8 };
const result: Record<string, unknown> = { rows, features: 40, trees, params };
let reference = "";
for (const threads of process.argv.includes("--repeat") ? [1, 2, 1, 2] : [1, 2]) {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const model = await trainGbdt(data, { ...params, threads });
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const key = `trainSeconds_threads${threads}`;
  result[key] = Math.min(seconds, (result[key] as number | undefined) ?? Number.POSITIVE_INFINITY);
  // CPU seconds (all threads of this process): robust to other load on a shared machine.
  const cpuKey = `trainCpuSeconds_threads${threads}`;
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  result[cpuKey] = Math.min(cpuSeconds, (result[cpuKey] as number | undefined) ?? Number.POSITIVE_INFINITY);
  const trees = JSON.stringify(model.toJSON().trees);
  reference ||= trees;
  result.identicalAcrossThreads = (result.identicalAcrossThreads ?? true) && trees === reference;
  if (threads === 2 && !result.predictRowsPerSecond) {
    model.predictProba(data); // warm-up
    const t1 = performance.now();
    const c1 = process.cpuUsage();
    model.predictProba(data);
    const s = (performance.now() - t1) / 1000;
    const c = process.cpuUsage(c1);
    result.predictRowsPerSecond = Math.round(rows / s);
    result.predictRowsPerCpuSecond = Math.round(rows / ((c.user + c.system) / 1e6));
    result.predictTrees = model.trees.length;
  }
}
result.speedupTwoThreads =
  (result.trainSeconds_threads1 as number) / (result.trainSeconds_threads2 as number);
result.loadAverage = (await import("node:os")).loadavg()[0];
console.log(JSON.stringify(result, null, 2));

/**
 * Training benchmark (`npm run bench:train [-- --rows N] [--repeat N] [--skip-cv] [--skip-speed]
 * [--synthetic-customers N] [--csv FILE --target COL [--positive V] [--id COL]]`). Prints one JSON document.
 *
 * (a) Quality: 5-fold stratified CV AUC on IBM Telco, on the simulated operator's training set and on
 *     any churn CSV the user passes (--csv), for our logistic regression and GBDT
 *     (default and small-tabular preset) against scikit-learn LogisticRegression, XGBoost hist
 *     (300 trees, depth 4, lr 0.05) and HistGradientBoosting, on the SAME folds (exported to a
 *     temp file that bench/train_anchors.py reads).
 * (b) Speed: N rows (default 1,000,000) × 40 features of deterministic synthetic data; our GBDT vs
 *     XGBoost hist (n_jobs=2, same trees/depth/bins): fit wall time, peak RSS and prediction
 *     rows/s, as ratios ours/XGBoost. Each side runs in its own child process, one after the other;
 *     `--repeat N` rounds (default 3) and the medians of the per-round ratios (every round is printed).
 *
 * Anchors need Debian's python3-sklearn and python3-xgboost (installed with apt-get when absent;
 * /usr/bin/python3, because a pyenv python may come first on PATH).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { GbdtDataset } from "../mlops/training/gbdt/index.ts";
import type { LoadedTrainingData } from "../mlops/training/load.ts";
import { rocAuc } from "../mlops/training/metrics.ts";
import { seededRandom } from "../mlops/training/random.ts";

const HERE = dirname(fileURLToPath(import.meta.url));

/**
 * Modules only the quality part needs, loaded on demand: the speed child process must not carry DuckDB,
 * the simulator and the feature store in its RSS (that would be harness memory, not the learner's).
 */
async function qualityModules() {
  const [offline, sources, generate, cv, learners, load, split, ibm, duck, schema, context] =
    await Promise.all([
      import("../mlops/features/offline.ts"),
      import("../mlops/ingestion/sources.ts"),
      import("../mlops/simulator/generate.ts"),
      import("../mlops/training/cv.ts"),
      import("../mlops/training/learners.ts"),
      import("../mlops/training/load.ts"),
      import("../mlops/training/split.ts"),
      import("../mlops/training/testing/ibm.ts"),
      import("../platform/adapters/local/duckdb-warehouse.ts"),
      import("../platform/config/schema.ts"),
      import("../platform/context.ts"),
    ]);
  return {
    ...offline,
    ...sources,
    ...generate,
    ...cv,
    ...learners,
    ...load,
    ...split,
    ...ibm,
    ...duck,
    ...schema,
    ...context,
  };
}
const PYTHON = "/usr/bin/python3";
const ANCHORS = join(HERE, "train_anchors.py");
const FEATURES = 40;
const SPEED_PARAMS = {
  numTrees: 300,
  maxDepth: 4,
  numLeaves: 16,
  learningRate: 0.05,
  maxBins: 255,
  lambdaL2: 1,
  threads: 2,
  seed: 0,
};

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const flag = (name: string) => process.argv.includes(name);
const log = (m: string) => process.stderr.write(`[bench:train] ${m}\n`);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const r4 = (v: number) => Math.round(v * 1e4) / 1e4;

/** Makes sure the Python anchors can run; installs Debian packages when missing. */
function ensurePython(): { ok: boolean; reason?: string } {
  const probe = () =>
    spawnSync(PYTHON, ["-c", "import sklearn, xgboost, numpy"], { stdio: "ignore" }).status === 0;
  if (probe()) return { ok: true };
  log("installing python3-sklearn python3-xgboost with apt-get …");
  try {
    execFileSync(
      "sh",
      [
        "-c",
        "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y python3-sklearn python3-xgboost",
      ],
      {
        stdio: ["ignore", "ignore", "inherit"],
      },
    );
  } catch (err) {
    return { ok: false, reason: `apt-get failed: ${(err as Error).message}` };
  }
  return probe()
    ? { ok: true }
    : { ok: false, reason: "python3-sklearn/python3-xgboost not importable after install" };
}

function runPython(args: string[], env: NodeJS.ProcessEnv = process.env): Record<string, unknown> {
  const out = execFileSync(PYTHON, [ANCHORS, ...args], {
    env,
    maxBuffer: 64 << 20,
    stdio: ["ignore", "pipe", "inherit"],
  });
  return JSON.parse(out.toString()) as Record<string, unknown>;
}

function summary(foldAuc: number[], std: (xs: number[]) => number) {
  return { mean_auc: r4(mean(foldAuc)), std_auc: r4(std(foldAuc)), fold_auc: foldAuc.map(r4) };
}

/** IBM Telco, loaded into an in-memory warehouse. */
async function ibmData(): Promise<LoadedTrainingData> {
  const { DuckDbWarehouse, loadIbmTrainingTable, loadTrainingData } = await qualityModules();
  const warehouse = await DuckDbWarehouse.open(":memory:");
  await loadIbmTrainingTable(warehouse);
  const loaded = await loadTrainingData(warehouse, "ibm-telco");
  await warehouse.close();
  return loaded;
}

/** The simulated operator's point-in-time training set (generate → ingest → features), in a temp workspace. */
async function syntheticData(tmp: string, customers: number): Promise<LoadedTrainingData> {
  const {
    contextFromConfig,
    configSchema,
    generateOperatorData,
    ingestSynthetic,
    buildTrainingSet,
    loadTrainingData,
  } = await qualityModules();
  const app = contextFromConfig(configSchema.parse({}), join(tmp, "synthetic-home"));
  try {
    const gen = await generateOperatorData({
      customers,
      seed: 7,
      months: 12,
      start: "2025-01",
      outDir: join(tmp, "synthetic-delivery"),
    });
    await ingestSynthetic(app, gen.outDir);
    await buildTrainingSet(await app.warehouse(), app.config.features);
    return await loadTrainingData(await app.warehouse(), "synthetic");
  } finally {
    await app.close();
  }
}

/** A churn CSV the user brings (`--csv FILE --target COL [--positive V] [--id COL]`), through `telco data ingest csv`. */
async function userCsvData(
  tmp: string,
  file: string,
  target: string,
  positive?: string,
  id?: string,
): Promise<LoadedTrainingData> {
  const { contextFromConfig, configSchema, ingestCsv, loadTrainingData } = await qualityModules();
  const app = contextFromConfig(
    configSchema.parse({ data: { schemasDir: join(tmp, "schemas") } }),
    join(tmp, "csv-home"),
  );
  try {
    await ingestCsv(app, file, { name: "user-csv", target, positive, id });
    return await loadTrainingData(await app.warehouse(), "user-csv");
  } finally {
    await app.close();
  }
}

async function datasetCv(
  name: string,
  loaded: LoadedTrainingData,
  python: { ok: boolean; reason?: string },
  tmp: string,
) {
  const { stratifiedKFold, crossValidate, resolveParams, std } = await qualityModules();
  const { data, groups } = loaded;
  const seed = 42;
  const assignment = stratifiedKFold(data.label as Uint8Array, 5, seed, groups);
  const models: Record<string, ReturnType<typeof summary> & { seconds: number }> = {};
  const ours: [string, "logreg" | "gbdt", string][] = [
    ["ours_logreg", "logreg", "default"],
    ["ours_gbdt_default", "gbdt", "default"],
    ["ours_gbdt_small_tabular", "gbdt", "small-tabular"],
  ];
  for (const [name, kind, preset] of ours) {
    const started = performance.now();
    const cv = await crossValidate(kind, data, resolveParams(kind, {}, preset), {
      folds: 5,
      seed,
      groups,
      assignment,
    });
    models[name] = {
      ...summary(
        cv.per_fold.map((f) => f.auc),
        std,
      ),
      seconds: r4((performance.now() - started) / 1000),
    };
    log(`${name}: CV AUC ${models[name].mean_auc}`);
  }
  if (python.ok) {
    const file = join(tmp, `${name.replace(/\W+/g, "-")}-folds.json`);
    const columns = data.features.map((f) =>
      f.kind === "numeric"
        ? { name: f.name, kind: f.kind, values: Array.from(f.values, (v) => (Number.isNaN(v) ? null : v)) }
        : { name: f.name, kind: f.kind, codes: Array.from(f.codes), categories: f.categories },
    );
    writeFileSync(
      file,
      JSON.stringify({ label: Array.from(data.label as Uint8Array), fold: Array.from(assignment), columns }),
    );
    // One thread for the quality anchors: on a shared 2-core machine OpenMP spinning makes them
    // crawl, and CV AUC does not depend on the thread count.
    const anchors = runPython(["cv", file], { ...process.env, OMP_NUM_THREADS: "1" }) as Record<
      string,
      { fold_auc: number[]; seconds: number }
    >;
    for (const [name, a] of Object.entries(anchors)) {
      models[name] = { ...summary(a.fold_auc, std), seconds: r4(a.seconds) };
      log(`${name}: CV AUC ${models[name].mean_auc}`);
    }
  }
  const ratio = (a: string, b: string) =>
    models[a] && models[b] ? r4(models[a].mean_auc / models[b].mean_auc) : null;
  return {
    dataset: name,
    rows: data.nRows,
    positives: (data.label as Uint8Array).reduce((a, b) => a + b, 0),
    folds: 5,
    seed,
    note: "ours_gbdt_* hold out 20% of each training fold for early stopping; anchors fit on the whole training fold",
    models,
    auc_ratios: {
      ours_logreg_vs_sklearn_logreg: ratio("ours_logreg", "sklearn_logreg"),
      ours_gbdt_default_vs_xgboost_hist: ratio("ours_gbdt_default", "xgboost_hist"),
      ours_gbdt_small_tabular_vs_xgboost_hist: ratio("ours_gbdt_small_tabular", "xgboost_hist"),
      ours_gbdt_small_tabular_vs_sklearn_hist_gbdt: ratio("ours_gbdt_small_tabular", "sklearn_hist_gbdt"),
    },
    // The parity goal: our GBDT's CV AUC within 0.005 of XGBoost's on the same folds.
    gbdt_minus_xgboost_auc:
      models.ours_gbdt_default && models.xgboost_hist
        ? {
            default: r4(models.ours_gbdt_default.mean_auc - models.xgboost_hist.mean_auc),
            small_tabular: r4(models.ours_gbdt_small_tabular.mean_auc - models.xgboost_hist.mean_auc),
          }
        : null,
  };
}

/**
 * Deterministic synthetic churn-like matrix: 30 continuous + 10 small-integer features, non-linear label.
 * Columns are float32 (the values are float32 already, and the GBDT only reads float32(x)); the row-major
 * float32 copy XGBoost reads is streamed to `file` in chunks, never held whole, so neither side of the
 * comparison pays for the other's input.
 */
function syntheticMatrix(rows: number, file: string): GbdtDataset {
  const random = seededRandom(20260101);
  const normal = () => {
    const u = Math.max(random(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
  };
  const cols = Array.from({ length: FEATURES }, () => new Float32Array(rows));
  const label = new Uint8Array(rows);
  const chunkRows = 8192;
  const chunk = new Float32Array(chunkRows * (FEATURES + 1));
  const fd = openSync(file, "w");
  try {
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < FEATURES; j++) {
        const v = j < 30 ? normal() : Math.floor(random() * 10);
        cols[j][i] = v;
      }
      const x = (j: number) => cols[j][i];
      const z =
        -1.2 +
        0.8 * x(0) -
        0.6 * x(1) +
        0.5 * x(2) * x(3) +
        0.7 * Math.abs(x(4)) -
        0.4 * (x(5) > 0.5 ? 1 : 0) +
        0.15 * x(30) -
        0.1 * x(31) +
        0.3 * Math.sin(x(6)) +
        0.5 * normal();
      label[i] = random() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
      const o = (i % chunkRows) * (FEATURES + 1);
      for (let j = 0; j < FEATURES; j++) chunk[o + j] = cols[j][i];
      chunk[o + FEATURES] = label[i];
      if (i % chunkRows === chunkRows - 1 || i === rows - 1) {
        const filled = ((i % chunkRows) + 1) * (FEATURES + 1);
        writeSync(fd, new Uint8Array(chunk.buffer, 0, filled * 4));
      }
    }
  } finally {
    closeSync(fd);
  }
  return {
    nRows: rows,
    features: cols.map((values, j) => ({ name: `f${j}`, kind: "numeric" as const, values })),
    label,
  };
}

/** Child process: generate data, write it for Python, time our GBDT fit and prediction. */
async function speedChild(rows: number, file: string): Promise<void> {
  const data = syntheticMatrix(rows, file);
  const afterLoadMb = process.resourceUsage().maxRSS / 1024;
  const { trainGbdt } = await import("../mlops/training/gbdt/index.ts");
  let t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const model = await trainGbdt(data, SPEED_PARAMS);
  const fitSeconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0); // all threads of this process, workers included
  const fitCpuSeconds = (cpu.user + cpu.system) / 1e6;
  t0 = performance.now();
  const p = model.predictProba(data);
  const predictSeconds = (performance.now() - t0) / 1000;
  process.stdout.write(
    `${JSON.stringify({
      fit_seconds: fitSeconds,
      fit_cpu_seconds: fitCpuSeconds,
      predict_seconds: predictSeconds,
      predict_rows_per_s: rows / predictSeconds,
      train_auc: rocAuc(data.label as Uint8Array, p),
      peak_rss_mb_after_load: afterLoadMb,
      peak_rss_mb: process.resourceUsage().maxRSS / 1024,
    })}\n`,
  );
}

/** One speed round: our GBDT in a child process, then XGBoost in another, on the same file. */
function speedRound(rows: number, python: { ok: boolean }, file: string, label: string) {
  log(`speed ${label}: ${rows} rows × ${FEATURES} features, our GBDT …`);
  const child = spawnSync(
    process.execPath,
    [fileURLToPath(import.meta.url), "--speed-child", String(rows), file],
    {
      stdio: ["ignore", "pipe", "inherit"],
      maxBuffer: 16 << 20,
    },
  );
  if (child.status !== 0) throw new Error(`our GBDT speed child failed with status ${child.status}`);
  const ours = JSON.parse(child.stdout.toString()) as Record<string, number>;
  log(`ours: fit ${ours.fit_seconds.toFixed(1)} s, peak ${ours.peak_rss_mb.toFixed(0)} MB`);
  let xgboost: Record<string, number> | null = null;
  if (python.ok) {
    log(`speed ${label}: XGBoost hist …`);
    xgboost = runPython(["speed", file, String(rows), String(FEATURES)]) as Record<string, number>;
    log(`xgboost: fit ${xgboost.fit_seconds.toFixed(1)} s, peak ${xgboost.peak_rss_mb.toFixed(0)} MB`);
  }
  const ratios = xgboost
    ? {
        fit_wall_time: ours.fit_seconds / xgboost.fit_seconds,
        fit_cpu_time: ours.fit_cpu_seconds / xgboost.fit_cpu_seconds,
        peak_rss: ours.peak_rss_mb / xgboost.peak_rss_mb,
        training_rss_increment:
          (ours.peak_rss_mb - ours.peak_rss_mb_after_load) /
          Math.max(1, xgboost.peak_rss_mb - xgboost.peak_rss_mb_after_load),
        predict_rows_per_s: ours.predict_rows_per_s / xgboost.predict_rows_per_s,
      }
    : null;
  return { ours, xgboost, ratios };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Median per key over rounds (keys of the first round). */
function medianOf(rows: Record<string, number>[]): Record<string, number> {
  return Object.fromEntries(Object.keys(rows[0]).map((k) => [k, r4(median(rows.map((r) => r[k])))]));
}

/**
 * `--repeat N` rounds (default 3), each our GBDT then XGBoost back to back. This machine's speed swings
 * by a third within minutes, so one round's ratio says more about the minute than about the code;
 * the headline ratios are the medians of the per-round ratios (each round's two sides ran under the same
 * conditions), and every round is printed.
 */
async function speed(rows: number, python: { ok: boolean; reason?: string }, tmp: string) {
  const file = join(tmp, "synthetic.f32");
  const repeat = Number(arg("--repeat") ?? 3);
  if (!Number.isInteger(repeat) || repeat < 1 || repeat > 20)
    throw new Error(`--repeat must be a whole number from 1 to 20, got ${arg("--repeat")}`);
  const rounds = Array.from({ length: repeat }, (_, k) =>
    speedRound(rows, python, file, `round ${k + 1}/${repeat}`),
  );
  const round = (o: Record<string, number | string>) =>
    Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === "number" ? r4(v) : v]));
  const withAnchor = rounds.filter((r) => r.xgboost && r.ratios);
  return {
    rows,
    features: FEATURES,
    params: {
      ours: SPEED_PARAMS,
      xgboost: {
        n_estimators: 300,
        max_depth: 4,
        learning_rate: 0.05,
        tree_method: "hist",
        max_bin: 255,
        n_jobs: 2,
      },
    },
    rule: `medians over ${repeat} round(s); each round runs our GBDT then XGBoost back to back`,
    ours: medianOf(rounds.map((r) => r.ours)),
    xgboost: withAnchor.length ? medianOf(withAnchor.map((r) => r.xgboost as Record<string, number>)) : null,
    ratios_ours_over_xgboost: withAnchor.length
      ? medianOf(withAnchor.map((r) => r.ratios as Record<string, number>))
      : null,
    rounds: rounds.map((r) => ({
      ours: round(r.ours),
      xgboost: r.xgboost ? round(r.xgboost) : null,
      ratios: r.ratios ? round(r.ratios) : null,
    })),
    notes: [
      "peak_rss includes the data held by each process (ours: float32 columns; XGBoost: a float32 matrix)",
      "training_rss_increment compares peak RSS growth from after-data-load to the end",
      "fit_cpu_time (user+sys of all threads) is steadier than wall time on a busy shared machine",
    ],
  };
}

/** CV quality on IBM Telco, the simulated operator and, with --csv, the user's own churn file. */
async function qualityBenchmarks(python: { ok: boolean; reason?: string }, tmp: string) {
  const out = [await datasetCv("IBM Telco (gold.ibm_telco_training)", await ibmData(), python, tmp)];
  const customers = Number(arg("--synthetic-customers") ?? 3000);
  if (customers > 0) {
    log(`synthetic operator: ${customers} customers × 12 months …`);
    out.push(
      await datasetCv(
        `synthetic operator (${customers} customers, gold.synthetic_training)`,
        await syntheticData(tmp, customers),
        python,
        tmp,
      ),
    );
  }
  const csv = arg("--csv");
  if (csv) {
    const target = arg("--target");
    if (!target)
      throw new Error("--csv needs --target COLUMN (and --positive VALUE unless Yes/No, true/false or 1/0)");
    out.push(
      await datasetCv(
        `user CSV ${csv}`,
        await userCsvData(tmp, csv, target, arg("--positive"), arg("--id")),
        python,
        tmp,
      ),
    );
  }
  return out;
}

async function main(): Promise<void> {
  if (flag("--speed-child")) {
    const i = process.argv.indexOf("--speed-child");
    await speedChild(Number(process.argv[i + 1]), process.argv[i + 2]);
    return;
  }
  const rows = Number(arg("--rows") ?? 1_000_000);
  if (!Number.isInteger(rows) || rows < 1000)
    throw new Error(`--rows must be a whole number ≥ 1000, got ${arg("--rows")}`);
  const python = ensurePython();
  if (!python.ok) log(`anchors unavailable: ${python.reason}`);
  const tmp = mkdtempSync(join(tmpdir(), "bench-train-"));
  try {
    const started = performance.now();
    const result = {
      bench: "train",
      machine: { cpus: cpus().length, node: process.version },
      anchors: python.ok ? { python: PYTHON } : { unavailable: python.reason },
      cv: flag("--skip-cv") ? null : await qualityBenchmarks(python, tmp),
      speed: flag("--skip-speed") ? null : await speed(rows, python, tmp),
      seconds: 0,
    };
    result.seconds = r4((performance.now() - started) / 1000);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();

import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { AppContext } from "../../platform/context.ts";
import { TelcoError, ValidationError } from "../../platform/errors.ts";
import type { ModelCard } from "../../platform/ports/registry.ts";
import { featureVersion } from "../features/definitions.ts";
import { buildTrainingSet } from "../features/offline.ts";
import { materialize, openOnlineStore } from "../features/online.ts";
import { deliveryIdentity, ingestSynthetic, newestSyntheticDelivery } from "../ingestion/sources.ts";
import { ingestedState } from "../ingestion/versions.ts";
import { storeReferenceProfile } from "../monitoring/reference-store.ts";
import { evaluateOn } from "../registry/card-metrics.ts";
import { riskBandsFromScores } from "../registry/evaluation.ts";
import { loadModelVersion } from "../registry/model-loader.ts";
import { promoteIfBetter } from "../registry/policy.ts";
import { openRegistry } from "../registry/store.ts";
import { loadSyntheticContracts } from "../simulator/contracts.ts";
import { type TabularDataset, takeRows } from "../training/dataset.ts";
import { loadChurnModel } from "../training/learners.ts";
import { type LoadedTrainingData, loadTrainingData } from "../training/load.ts";
import { evaluationSetRef, stratifiedSplit } from "../training/split.ts";
import { codeVersion } from "../training/tracking.ts";
import { trainChurnModel } from "../training/train.ts";
import {
  artifact,
  constant,
  definePipeline,
  defineStep,
  fromParam,
  fromTask,
  type Pipeline,
  param,
  task,
} from "./dsl.ts";
import { registerModelStep } from "./steps/registry.ts";

/**
 * The churn-training pipeline: locate delivery → ingest → validate → features → train →
 * evaluate (challenger and champion on the same held-out rows) → register → reference profile
 * and promotion gate → online store. Data lives in the lake/warehouse; the artifacts passed
 * between steps are small JSON documents naming tables and their versions, so each step's cache
 * key changes exactly when the data it reads changes.
 */

const DATASET = "synthetic";
const MODEL_NAME = "churn";
const CHAMPION = "champion";

/**
 * The training table as loaded once per pipeline run: train, evaluate, reference-profile and the
 * promotion gate read the same gold rows of the same training-set version (each load re-queries the
 * warehouse and re-hashes every row, 1.5–2 s for 5,000 customers). Keyed by run, warehouse and
 * training-set version; only the latest run is kept. Consumers never mutate it (takeRows copies).
 */
let runTrainingData:
  | { runId: string; warehouse: object; version: string; loaded: Promise<LoadedTrainingData> }
  | undefined;

async function trainingDataOfRun(
  app: AppContext,
  runId: string,
  version: string,
): Promise<LoadedTrainingData> {
  const warehouse = await app.warehouse();
  const held = runTrainingData;
  if (held && held.runId === runId && held.warehouse === warehouse && held.version === version)
    return held.loaded;
  const loaded = loadTrainingData(warehouse, DATASET);
  runTrainingData = { runId, warehouse, version, loaded };
  // A failed load is not kept: the next step asks the warehouse again.
  loaded.catch(() => {
    if (runTrainingData?.loaded === loaded) runTrainingData = undefined;
  });
  return loaded;
}

/** What trainingDataOfRun holds for this run, if anything (for steps that do not name the version). */
async function heldTrainingDataOfRun(
  app: AppContext,
  runId: string,
): Promise<LoadedTrainingData | undefined> {
  const held = runTrainingData;
  if (!held || held.runId !== runId || held.warehouse !== (await app.warehouse())) return undefined;
  return held.loaded.catch(() => undefined);
}

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, "utf8")) as T;
}

function writeJson(path: string, value: unknown): void {
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** Fingerprint of a delivery folder: its manifest when present, else names, sizes and mtimes. */
function deliveryFingerprint(dir: string): string {
  const hash = createHash("sha256");
  const manifest = join(dir, "manifest.json");
  if (existsSync(manifest)) return hash.update(readFileSync(manifest)).digest("hex");
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true }).sort((a, b) =>
    join(a.parentPath, a.name).localeCompare(join(b.parentPath, b.name)),
  )) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const st = statSync(path);
    hash.update(`${path}\0${st.size}\0${st.mtimeMs}\n`);
  }
  return hash.digest("hex");
}

const locateDelivery = defineStep({
  name: "locate-delivery",
  version: "1",
  description:
    "find the synthetic delivery to ingest and fingerprint it (never cached: it looks at the files)",
  inputs: { path: param.string({ default: "" }) },
  outputs: { delivery: artifact.dataset() },
  cache: false,
  async run({ path }, ctx) {
    const dir = path ? resolve(path) : newestSyntheticDelivery(ctx.app().paths.home);
    if (!existsSync(dir)) throw new ValidationError("delivery", `${dir} does not exist`);
    // The populations the warehouse holds are part of the key: a population merged in outside
    // the pipeline (another seed or size, --allow-mixed) must not leave every later step cached.
    const manifest = join(dir, "manifest.json");
    const own = existsSync(manifest) ? [deliveryIdentity(manifest).population] : [];
    const ingested = await ingestedState(await ctx.app().warehouse(), own);
    writeJson(ctx.outputs.delivery.path, { path: dir, fingerprint: deliveryFingerprint(dir), ingested });
    ctx.outputs.delivery.metadata.path = dir;
    return {};
  },
});

interface IngestArtifact {
  tables: { table: string; version: string; rows: number }[];
  rows: number;
  rejects: number;
  warnings: string[];
  files: { file: string; table: string; rows: number; rejects: number }[];
}

const ingest = defineStep({
  name: "ingest",
  version: "1",
  description: "raw → bronze → silver for the delivery (rejects kept with file, line and reason)",
  inputs: { delivery: artifact.dataset() },
  outputs: { silver: artifact.dataset(), rows: param.int(), rejects: param.int() },
  async run({ delivery }, ctx) {
    const { path } = readJson<{ path: string }>(delivery.path);
    const report = await ingestSynthetic(ctx.app(), path);
    const out: IngestArtifact = {
      tables: report.tables,
      rows: report.rows,
      rejects: report.rejects,
      warnings: report.warnings,
      files: report.files.map((f) => ({ file: f.file, table: f.table, rows: f.rows, rejects: f.rejects })),
    };
    writeJson(ctx.outputs.silver.path, out);
    ctx.log(`ingested ${report.rows} rows, ${report.rejects} rejects`);
    return { rows: report.rows, rejects: report.rejects };
  },
});

/** One data-quality check of the validate step. */
export interface QualityCheck {
  check: string;
  passed: boolean;
  detail: string;
  severity: "error" | "warning";
}

/**
 * Data contract and quality checks on the silver layer: every table present and non-empty,
 * reject rate bounded, no nulls in non-nullable columns, contract ranges and enums hold after
 * silver transformations, a plausible churn (cancellation) share, and schema drift reported.
 */
export async function validateSilver(
  app: AppContext,
  ingested: IngestArtifact,
  limits: { maxRejectRate: number; minRows: number; minChurnShare: number; maxChurnShare: number },
): Promise<QualityCheck[]> {
  const wh = await app.warehouse();
  const checks: QualityCheck[] = [];
  for (const f of ingested.files) {
    const total = f.rows + f.rejects;
    const rate = total === 0 ? 0 : f.rejects / total;
    checks.push({
      check: `reject-rate:${f.table}`,
      passed: rate <= limits.maxRejectRate,
      detail: `${f.rejects} of ${total} rows rejected (${(rate * 100).toFixed(2)}%, limit ${(limits.maxRejectRate * 100).toFixed(1)}%)`,
      severity: "error",
    });
  }
  for (const contract of loadSyntheticContracts().values()) {
    const table = `silver.${contract.name}`;
    const [{ n }] = await wh.query<{ n: number }>(`select count(*) as n from ${table}`);
    checks.push({
      check: `rows:${table}`,
      // An optional source (crm_interactions) may be empty until the systems export it.
      passed: contract.optional || Number(n) >= Math.min(limits.minRows, 1),
      detail: `${n} rows`,
      severity: "error",
    });
    // Conditional counts as count(case …) and numbered aliases: the same query runs on DuckDB and
    // BigQuery (no FILTER clause there, and "…" is a string, not a name).
    const quote = wh.dialect === "bigquery" ? (n: string) => `\`${n}\`` : (n: string) => `"${n}"`;
    const rules: { label: string; when: string }[] = [];
    for (const c of contract.columns) {
      const col = quote(c.name);
      if (!c.nullable) rules.push({ label: `${c.name}:null`, when: `${col} is null` });
      if (c.min !== undefined) rules.push({ label: `${c.name}:below_min`, when: `${col} < ${c.min}` });
      if (c.max !== undefined) rules.push({ label: `${c.name}:above_max`, when: `${col} > ${c.max}` });
      if (c.enum && c.type === "string") {
        const values = c.enum.map((v) => `'${v.replace(/'/g, "''")}'`).join(", ");
        rules.push({ label: `${c.name}:enum`, when: `${col} is not null and ${col} not in (${values})` });
      }
    }
    if (rules.length === 0) continue;
    const [counts] = await wh.query<Record<string, number>>(
      `select ${rules.map((r, i) => `count(case when ${r.when} then 1 end) as rule_${i}`).join(", ")} from ${table}`,
    );
    const violations = rules
      .map((r, i) => [r.label, counts[`rule_${i}`]] as const)
      .filter(([, v]) => Number(v) > 0);
    checks.push({
      check: `contract:${table}`,
      passed: violations.length === 0,
      detail:
        violations.length === 0
          ? `${rules.length} column rules hold`
          : violations.map(([k, v]) => `${k}=${v}`).join(", "),
      severity: "error",
    });
  }
  const [{ share }] = await wh.query<{ share: number }>(
    "select avg(case when status = 'cancelled' then 1.0 else 0.0 end) as share from silver.crm_contracts",
  );
  checks.push({
    check: "label-balance",
    passed: share >= limits.minChurnShare && share <= limits.maxChurnShare,
    detail: `${(Number(share) * 100).toFixed(2)}% of contracts cancelled (expected ${limits.minChurnShare * 100}%–${limits.maxChurnShare * 100}%)`,
    severity: "error",
  });
  const drift = ingested.warnings.filter((w) => /column/i.test(w));
  checks.push({
    check: "schema-drift",
    passed: drift.length === 0,
    detail: drift.length === 0 ? "no unexpected columns" : drift.join("; "),
    severity: "warning",
  });
  return checks;
}

const validate = defineStep({
  name: "validate",
  version: "1",
  description: "data contract and quality checks on silver; a failing check stops the run with a report",
  inputs: {
    silver: artifact.dataset(),
    max_reject_rate: param.double({ default: 0.05 }),
    min_churn_share: param.double({ default: 0.001 }),
    max_churn_share: param.double({ default: 0.6 }),
  },
  outputs: { report: artifact.metrics(), checks_failed: param.int() },
  async run({ silver, max_reject_rate, min_churn_share, max_churn_share }, ctx) {
    const checks = await validateSilver(ctx.app(), readJson<IngestArtifact>(silver.path), {
      maxRejectRate: max_reject_rate,
      minRows: 1,
      minChurnShare: min_churn_share,
      maxChurnShare: max_churn_share,
    });
    writeJson(ctx.outputs.report.path, { checks });
    const failed = checks.filter((c) => !c.passed && c.severity === "error");
    for (const w of checks.filter((c) => !c.passed && c.severity === "warning"))
      ctx.log(`warning: ${w.check}: ${w.detail}`);
    if (failed.length > 0) {
      const reportPath = join(ctx.app().paths.pipelines, "reports", `${ctx.runId}-validate.json`);
      const { mkdirSync } = await import("node:fs");
      mkdirSync(join(ctx.app().paths.pipelines, "reports"), { recursive: true });
      writeJson(reportPath, { checks });
      throw new TelcoError(
        "data_quality",
        `data quality checks failed: ${failed.map((c) => `${c.check} (${c.detail})`).join("; ")}`,
        {
          hint: `Full report: ${reportPath}. Fix the delivery or relax the step parameters (--param max_reject_rate=…).`,
        },
      );
    }
    return { checks_failed: 0 };
  },
});

const features = defineStep({
  name: "features",
  version: "1",
  description: "point-in-time training set gold.churn_training (no feature uses data after its cutoff)",
  inputs: { report: artifact.metrics(), as_of: param.string({ default: "" }) },
  outputs: { training_set: artifact.dataset(), rows: param.int() },
  async run({ as_of }, ctx) {
    const app = ctx.app();
    const summary = await buildTrainingSet(await app.warehouse(), app.config.features, {
      asOf: as_of || undefined,
    });
    writeJson(ctx.outputs.training_set.path, {
      view: summary.view,
      version: summary.datasetVersion,
      rows: summary.rows,
      positives: summary.positives,
      as_of: summary.asOf,
      feature_version: summary.featureVersion,
    });
    ctx.log(`training set: ${summary.rows} rows, ${summary.positives} positives, as of ${summary.asOf}`);
    return { rows: summary.rows };
  },
});

const train = defineStep({
  name: "train",
  // 2: the auto preset chooses from a portfolio by validation; one-vs-rest categorical splits.
  version: "2",
  description: "train the churn model (GBDT by default) and record the run",
  inputs: {
    training_set: artifact.dataset(),
    learner: param.string({ default: "gbdt" }),
    preset: param.string({ default: "" }),
    seed: param.int({ default: 42 }),
  },
  outputs: { model: artifact.model(), run: artifact.metrics(), run_id: param.string() },
  async run({ training_set, learner: model, preset, seed }, ctx) {
    if (model !== "gbdt" && model !== "logreg")
      throw new ValidationError("model", `must be gbdt or logreg, got "${model}"`);
    const set = readJson<{ version: string }>(training_set.path);
    const summary = await trainChurnModel(ctx.app(), {
      dataset: DATASET,
      model,
      seed,
      preset: preset || undefined,
      loaded: await trainingDataOfRun(ctx.app(), ctx.runId, set.version),
      onStep: (m) => ctx.log(m),
    });
    writeFileSync(ctx.outputs.model.path, readFileSync(join(summary.run_dir, "model.json")));
    writeJson(ctx.outputs.run.path, {
      run_id: summary.run_id,
      metrics: summary.metrics,
      params: summary.params,
      selection: summary.selection ?? null,
      model,
    });
    ctx.log(`run ${summary.run_id}: test AUC ${summary.metrics.auc.toFixed(4)}`);
    return { run_id: summary.run_id };
  },
});

interface EvaluationRows {
  rows: TabularDataset;
  dataset: { name: string; version: string };
}

/** The held-out rows the training run used (same seed, same grouping by customer) and their identity. */
async function evaluationRows(
  app: AppContext,
  runId: string,
  trainingSetVersion: string,
  seed: number,
): Promise<EvaluationRows> {
  const loaded = await trainingDataOfRun(app, runId, trainingSetVersion);
  const fraction = app.config.training.testFraction;
  const split = stratifiedSplit(loaded.data.label as Uint8Array, fraction, seed, loaded.groups);
  return {
    rows: takeRows(loaded.data, split.test),
    dataset: evaluationSetRef(DATASET, trainingSetVersion, seed, fraction),
  };
}

const evaluate = defineStep({
  name: "evaluate",
  // 2: the card's params carry the auto preset's choice. 3: the card carries risk bands.
  version: "3",
  description:
    "score the new model on the held-out rows (headline, CI, per-segment) and write its model card",
  inputs: {
    model: artifact.model(),
    run: artifact.metrics(),
    training_set: artifact.dataset(),
    seed: param.int({ default: 42 }),
  },
  outputs: { card: artifact.metrics(), format: param.string() },
  async run({ model, run, training_set, seed }, ctx) {
    const app = ctx.app();
    const set = readJson<{ version: string }>(training_set.path);
    const runInfo = readJson<{ params: Record<string, unknown>; selection?: unknown }>(run.path);
    const evaluation = await evaluationRows(app, ctx.runId, set.version, seed);
    const challenger = await loadChurnModel(readJson(model.path));
    const card: ModelCard = {
      ...evaluateOn(challenger, evaluation.rows, seed),
      evaluationDataset: evaluation.dataset,
      trainingDataset: { name: DATASET, version: set.version },
      // Bands from the held-out score distribution (top 5% high, next 15% medium by default).
      riskBands: riskBandsFromScores(
        challenger.predictProba(evaluation.rows),
        app.config.serving.riskBandShares,
      ),
      features: challenger.features.map((f) => ({ name: f.name, version: featureVersion() })),
      // The auto preset's choice (candidates' validation AUC, cost) travels with the hyper-parameters.
      params: runInfo.selection ? { ...runInfo.params, auto_preset: runInfo.selection } : runInfo.params,
      codeVersion: codeVersion() ?? undefined,
      intendedUse:
        "Rank active Aurora Telecom customers by 30-day churn risk to prioritise retention offers; decisions about a customer stay with a person.",
      limitations:
        "Trained on simulated operator data; monthly cutoffs; probabilities are calibrated on a validation split and drift with prices, network quality and competition — monitor before trusting them.",
    };
    writeJson(ctx.outputs.card.path, card);
    ctx.log(`test AUC ${card.metrics.auc.value.toFixed(4)} on ${evaluation.rows.nRows} held-out rows`);
    return { format: challenger.kind === "logreg" ? "telco-logreg" : "telco-gbdt" };
  },
});

const referenceProfile = defineStep({
  name: "reference-profile",
  version: "1",
  description: "store the monitoring reference profile (training features and scores) with the version",
  inputs: { version: param.int() },
  outputs: { rows: param.int() },
  async run({ version }, ctx) {
    const app = ctx.app();
    const stored = await storeReferenceProfile(app, `${MODEL_NAME}@${version}`, {
      dataset: DATASET,
      // The rows train and evaluate loaded earlier in this run (the same table, unchanged since).
      training: await heldTrainingDataOfRun(app, ctx.runId),
    });
    ctx.log(`reference profile: ${stored.rows} rows → ${stored.path}`);
    return { rows: stored.rows };
  },
});

const promotionGate = defineStep({
  name: "promotion-gate",
  version: "1",
  description:
    "re-score the current champion on the new model's evaluation rows, then promote the new version only if it wins (registry policy)",
  inputs: {
    version: param.int(),
    training_set: artifact.dataset(),
    seed: param.int({ default: 42 }),
    profile_rows: param.int(),
  },
  outputs: { promoted: param.bool(), champion_version: param.int(), decision: param.struct() },
  cache: false, // depends on the registry's current champion, not only on inputs
  async run({ version, training_set, seed }, ctx) {
    const app = ctx.app();
    const registry = openRegistry(app);
    const championVersion = (await registry.aliases(MODEL_NAME))[CHAMPION];
    let championReevaluation: { version: number; card: ModelCard } | undefined;
    if (championVersion !== undefined && championVersion !== version) {
      // Cards of different runs were computed on different rows: score the champion on ours.
      const set = readJson<{ version: string }>(training_set.path);
      const evaluation = await evaluationRows(app, ctx.runId, set.version, seed);
      try {
        const champion = await loadModelVersion(
          registry,
          await registry.getVersion(MODEL_NAME, championVersion),
        );
        championReevaluation = {
          version: championVersion,
          card: {
            ...evaluateOn(champion.model, evaluation.rows, seed),
            evaluationDataset: evaluation.dataset,
          },
        };
        ctx.log(
          `champion v${championVersion} on the same rows: AUC ${championReevaluation.card.metrics.auc.value.toFixed(4)}`,
        );
      } catch (err) {
        ctx.log(
          `could not re-score champion v${championVersion} (${(err as Error).message}); the gate compares cards`,
        );
      }
    }
    const decision = await promoteIfBetter(registry, {
      name: MODEL_NAME,
      version,
      alias: CHAMPION,
      policy: app.config.registry.promotion,
      ...(championReevaluation ? { championReevaluation } : {}),
    });
    ctx.log(decision.applied ? `champion → v${version}` : `champion kept: ${decision.reasons.join("; ")}`);
    const holder = (await registry.aliases(MODEL_NAME))[CHAMPION] ?? -1;
    return {
      promoted: decision.applied,
      champion_version: holder,
      decision: decision as unknown as Record<string, unknown>,
    };
  },
});

const onlineStore = defineStep({
  name: "materialize",
  version: "1",
  description: "refresh gold.customer_features and the online store the API reads",
  // Runs last: materialisation streams from the warehouse, which must not interleave with other steps' queries.
  inputs: { training_set: artifact.dataset(), champion_version: param.int() },
  outputs: { rows: param.int() },
  async run(_inputs, ctx) {
    const app = ctx.app();
    const store = openOnlineStore(app);
    try {
      const summary = await materialize(await app.warehouse(), store, app.config.features);
      ctx.log(`online store: ${summary.rows} customers as of ${summary.asOf}`);
      return { rows: summary.rows };
    } finally {
      await store.close();
    }
  },
});

/** The churn-training pipeline definition (name "churn-training"). */
export function churnTrainingPipeline(): Pipeline {
  return definePipeline({
    name: "churn-training",
    description: "ingest → validate → features → train → evaluate vs champion → register → promotion gate",
    params: {
      delivery: param.string({ default: "" }),
      as_of: param.string({ default: "" }),
      model: param.string({ default: "gbdt" }),
      preset: param.string({ default: "" }),
      seed: param.int({ default: 42 }),
      max_reject_rate: param.double({ default: 0.05 }),
    },
    tasks: {
      "locate-delivery": task(locateDelivery, { path: fromParam("delivery") }),
      ingest: task(ingest, { delivery: fromTask("locate-delivery", "delivery") }),
      validate: task(validate, {
        silver: fromTask("ingest", "silver"),
        max_reject_rate: fromParam("max_reject_rate"),
      }),
      features: task(features, { report: fromTask("validate", "report"), as_of: fromParam("as_of") }),
      train: task(train, {
        training_set: fromTask("features", "training_set"),
        learner: fromParam("model"),
        preset: fromParam("preset"),
        seed: fromParam("seed"),
      }),
      evaluate: task(evaluate, {
        model: fromTask("train", "model"),
        run: fromTask("train", "run"),
        training_set: fromTask("features", "training_set"),
        seed: fromParam("seed"),
      }),
      register: task(registerModelStep, {
        model: fromTask("train", "model"),
        card: fromTask("evaluate", "card"),
        model_name: constant(MODEL_NAME),
        format: fromTask("evaluate", "format"),
        training_run_id: fromTask("train", "run_id"),
      }),
      "reference-profile": task(referenceProfile, { version: fromTask("register", "version") }),
      "promotion-gate": task(promotionGate, {
        version: fromTask("register", "version"),
        training_set: fromTask("features", "training_set"),
        seed: fromParam("seed"),
        profile_rows: fromTask("reference-profile", "rows"),
      }),
      materialize: task(onlineStore, {
        training_set: fromTask("features", "training_set"),
        champion_version: fromTask("promotion-gate", "champion_version"),
      }),
    },
  });
}

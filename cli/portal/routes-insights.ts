import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import type { FastifyInstance } from "fastify";
import { listPrompts, PROMPTS_DIR, parsePrompt } from "../../llmops/prompts/loader.ts";
import { ARCHIVE_DIR, archivedVersions } from "../../llmops/prompts/lock.ts";
import { type FeatureDistribution, featureDistributions } from "../../mlops/monitoring/distributions.ts";
import { lastMonitorRunPath, monitorRunsPath } from "../../mlops/monitoring/last-run.ts";
import { windowDays } from "../../mlops/monitoring/monitor.ts";
import {
  PREDICTION_LOG_PREFIX,
  type PredictionRecord,
  readPredictionLog,
} from "../../mlops/monitoring/prediction-log.ts";
import type { ReferenceProfile } from "../../mlops/monitoring/reference-profile.ts";
import { loadReferenceProfile } from "../../mlops/monitoring/reference-store.ts";
import { openRegistry } from "../../mlops/registry/store.ts";
import { createChurnRiskService } from "../../mlops/serving/churn-risk.ts";
import { datasetFromRows } from "../../mlops/training/dataset.ts";
import type { AppContext } from "../../platform/context.ts";
import { NotFoundError, ValidationError } from "../../platform/errors.ts";
import { errorSchema } from "../../platform/http/errors.ts";
import type { ChurnRiskService } from "../../platform/ports/churn-risk.ts";
import type { Lake } from "../../platform/ports/lake.ts";
import type { ModelRegistry } from "../../platform/ports/registry.ts";
import type { ConsoleRoutes } from "./routes.ts";

const run = promisify(execFile);

/** What the console's charts read beyond the 360 and last-run documents (built by insightsDeps). */
export interface InsightsDeps {
  /** Churn scores with every feature's contribution (topReasons at its maximum). */
  churn: ChurnRiskService;
  lake: () => Lake;
  registry: ModelRegistry;
  /** The served model's name (the prediction log holds every model's scores). */
  modelName: string;
  /** monitoring.window: the window a snapshot without one was taken over. */
  monitoringWindow: string;
  lastRunFile: string;
  /** One JSON line per monitor run (`telco monitor run` appends its snapshot). */
  runsFile: string;
  /**
   * Prompt templates, the archive of every locked version (llmops/prompts/archive, written by the
   * lock tool), and the git checkout holding their history (null: none, e.g. in the container image).
   */
  promptsDir: string;
  promptsArchive: string;
  promptsRepo: string | null;
  close(): Promise<void>;
}

/** The insights' dependencies from the app context (the composition root's job). */
export function insightsDeps(app: AppContext, over: Partial<InsightsDeps> = {}): InsightsDeps {
  const repo = join(PROMPTS_DIR, "../../..");
  const churn =
    over.churn === undefined ? createChurnRiskService(app, { config: { topReasons: 50 } }) : undefined;
  return {
    churn: over.churn ?? (churn as ChurnRiskService),
    lake: () => app.lake(),
    registry: openRegistry(app),
    modelName: app.config.serving.modelName,
    monitoringWindow: app.config.monitoring.window,
    lastRunFile: lastMonitorRunPath(app.paths),
    runsFile: monitorRunsPath(app.paths),
    promptsDir: PROMPTS_DIR,
    promptsArchive: ARCHIVE_DIR,
    promptsRepo: existsSync(join(repo, ".git")) ? repo : null,
    close: async () => churn?.close(),
    ...over,
  };
}

// ---- churn: latest score as a SHAP waterfall, and the score history from the prediction log ----

function logit(p: number): number {
  const q = Math.min(1 - 1e-12, Math.max(1e-12, p));
  return Math.log(q / (1 - q));
}

/** Days with prediction-log parts, sorted (the log is partitioned by day). */
async function logDays(lake: Lake): Promise<string[]> {
  const days = new Set<string>();
  for (const key of await lake.list(PREDICTION_LOG_PREFIX)) {
    const m = /dt=(\d{4}-\d{2}-\d{2})\//.exec(key);
    if (m) days.add(m[1]);
  }
  return [...days].sort();
}

function addDays(iso: string, days: number): string {
  const d = new Date(`${iso}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

export async function churnInsight(
  deps: InsightsDeps,
  id: string,
  days: number,
  language: "pt-BR" | "en" = "en",
) {
  const risk = await deps.churn.risk(id, { language });
  const latest = risk
    ? (() => {
        const contributions = risk.reasons.map((r) => ({
          feature: r.feature,
          label: r.label,
          value: (r as { value?: unknown }).value ?? null,
          contribution: r.contribution,
        }));
        const margin = logit(risk.probability);
        // TreeSHAP is additive in log-odds: base + Σ contributions = the model's margin.
        const base = margin - contributions.reduce((s, c) => s + c.contribution, 0);
        return {
          probability: risk.probability,
          band: risk.band,
          model_name: risk.model_name,
          model_version: risk.model_version,
          as_of: risk.as_of,
          base,
          margin,
          contributions,
        };
      })()
    : null;
  const lake = deps.lake();
  const all = await logDays(lake);
  const last = all[all.length - 1];
  const history = last
    ? (await readPredictionLog(lake, { from: addDays(last, -(days - 1)), to: last }))
        .filter((r) => r.customer_id === id && !r.shadow && r.model_name === deps.modelName)
        .sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0))
        .slice(-500)
        .map((r) => ({
          ts: r.ts,
          probability: r.probability,
          band: r.risk_band,
          model_version: r.model_version,
          source: r.source,
        }))
    : [];
  return { customer_id: id, latest, history };
}

// ---- monitoring: reference vs current distributions, runs over time ----

type Snapshot = Record<string, unknown> & {
  at?: string;
  model?: string;
  model_version?: string;
  window?: { from: string; to: string };
  features?: { name: string; score: number; threshold: number; drift: boolean; test?: string }[];
  distributions?: FeatureDistribution[];
};

function readJson(file: string): Snapshot | null {
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, "utf8")) as Snapshot;
  } catch (err) {
    throw new ValidationError(file, `not a readable monitor snapshot: ${(err as Error).message}`);
  }
}

/** Monitor runs, oldest first: the history file, or the last snapshot alone when there is none. */
export function monitorRuns(deps: InsightsDeps): Snapshot[] {
  if (existsSync(deps.runsFile)) {
    const out: Snapshot[] = [];
    readFileSync(deps.runsFile, "utf8")
      .split("\n")
      .forEach((line, i) => {
        if (!line.trim()) return;
        try {
          out.push(JSON.parse(line) as Snapshot);
        } catch {
          throw new ValidationError(`${deps.runsFile}:${i + 1}`, "not a JSON line");
        }
      });
    return out;
  }
  const last = readJson(deps.lastRunFile);
  return last ? [last] : [];
}

/**
 * The last run's distributions: from its snapshot when the run recorded them; otherwise the
 * reference profile of the version it monitored against the logged predictions of its window
 * (the snapshot's, or monitoring.window ending on the log's last day, as `monitor run` defaults).
 */
export async function monitoringDistributions(deps: InsightsDeps) {
  const snap = readJson(deps.lastRunFile);
  if (!snap?.model_version) return { run: null, source: "none", features: [] };
  const drift = new Map((snap.features ?? []).map((f) => [f.name, f]));
  const withDrift = (list: FeatureDistribution[]) =>
    list.map((d) => {
      const f = drift.get(d.name);
      return {
        ...d,
        test: f?.test ?? null,
        score: f?.score ?? null,
        threshold: f?.threshold ?? null,
        drift: f?.drift ?? false,
      };
    });
  const run = { at: snap.at ?? null, model: snap.model ?? deps.modelName, model_version: snap.model_version };
  if (snap.distributions)
    return {
      run: { ...run, window: snap.window ?? null },
      source: "snapshot",
      features: withDrift(snap.distributions),
    };
  const model = String(run.model);
  let profile: ReferenceProfile;
  try {
    profile = await loadReferenceProfile(deps.registry, model, Number(snap.model_version));
  } catch (err) {
    if (err instanceof NotFoundError) return { run, source: "none", features: [] };
    throw err;
  }
  const lake = deps.lake();
  const days = await logDays(lake);
  const to = snap.window?.to ?? days[days.length - 1];
  const window = to
    ? (snap.window ?? { from: addDays(to, -(windowDays(deps.monitoringWindow) - 1)), to })
    : null;
  const records: PredictionRecord[] = window
    ? (await readPredictionLog(lake, window)).filter(
        (r) => r.model_name === model && !r.shadow && r.model_version === String(snap.model_version),
      )
    : [];
  const data = datasetFromRows(
    records.map((r) => r.features),
    profile.features.map((f) => ({ name: f.name, kind: f.kind })),
  );
  const scores = Float64Array.from(records, (r) => r.probability);
  return {
    run: { ...run, window },
    source: "computed",
    features: withDrift(featureDistributions(profile, data, scores)),
  };
}

// ---- prompts: versions of a template from its git history ----

interface PromptVersion {
  version: string;
  hash: string | null;
  source: "archive" | "git" | "working-tree";
  commit: string | null;
  at: string | null;
  text: string;
}

function versionOf(text: string, file: string): { version: string; hash: string | null } {
  try {
    const p = parsePrompt(text, file);
    return { version: p.version, hash: p.hash };
  } catch {
    return { version: "?", hash: null };
  }
}

/**
 * A template's distinct versions, oldest first: the lock tool's archive (one file per locked version)
 * when it holds any, else each commit that changed the template; then the working tree when it differs.
 */
export async function promptVersions(deps: InsightsDeps, name: string): Promise<PromptVersion[]> {
  if (!listPrompts(deps.promptsDir).includes(name)) throw new NotFoundError(`prompt ${name}`);
  const file = join(deps.promptsDir, `${name}.md`);
  const out: PromptVersion[] = archivedVersions(name, deps.promptsArchive).map((v) => ({
    ...versionOf(v.text, `${name}@${v.version}.md`),
    source: "archive",
    commit: null,
    at: null,
    text: v.text,
  }));
  if (out.length === 0 && deps.promptsRepo) {
    const rel = relative(deps.promptsRepo, file).split("\\").join("/");
    const git = (args: string[]) =>
      run("git", ["-C", deps.promptsRepo as string, ...args], { timeout: 5000, maxBuffer: 8 << 20 });
    try {
      const log = (await git(["log", "--format=%H %cI", "-n", "50", "--", rel])).stdout.trim();
      for (const line of log ? log.split("\n").reverse() : []) {
        const [commit, at] = line.split(" ");
        const text = (await git(["show", `${commit}:${rel}`])).stdout;
        out.push({ ...versionOf(text, rel), source: "git", commit, at, text });
      }
    } catch {
      // Not a checkout, git missing, or the file renamed away: the current text is still shown.
    }
  }
  const current = readFileSync(file, "utf8");
  if (out[out.length - 1]?.text !== current)
    out.push({ ...versionOf(current, file), source: "working-tree", commit: null, at: null, text: current });
  // Consecutive commits with the same text (e.g. a revert of a revert) are one version.
  return out.filter((v, i) => i === 0 || v.text !== out[i - 1].text);
}

// ---- the routes ----

const looseObject = { type: "object", additionalProperties: true } as const;
const looseArray = { type: "array", items: looseObject } as const;
const ID = "^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$";

/**
 * The console's chart data: a customer's churn score history and SHAP waterfall, the monitoring
 * view's reference-vs-current distributions and runs over time, prompt versions for diffs. Reads
 * only, for every console role; registered in the console scope (role check, audit) by routes.ts.
 */
export function insightsRoutes(deps: InsightsDeps): ConsoleRoutes {
  return (api: FastifyInstance, { secured }) => {
    const resp = (ok: object) => ({ 200: ok, "4xx": errorSchema, "5xx": errorSchema });
    api.addHook("onClose", async () => deps.close());

    api.get<{ Params: { id: string }; Querystring: { days?: string; language?: "pt-BR" | "en" } }>(
      "/v1/portal/customers/:id/churn",
      {
        schema: {
          ...secured,
          description:
            "A customer's churn score now as a SHAP waterfall (base log-odds, each feature's contribution, margin and probability) and the scores the prediction log holds for them over the last `days` days of the log.",
          params: { type: "object", properties: { id: { type: "string", pattern: ID } }, required: ["id"] },
          querystring: {
            type: "object",
            additionalProperties: false,
            properties: {
              days: { type: "string", pattern: "^[1-9][0-9]{0,2}$", description: "1–999 (default 365)" },
              language: { type: "string", enum: ["pt-BR", "en"], description: "of the feature labels" },
            },
          },
          response: resp({
            type: "object",
            properties: {
              customer_id: { type: "string" },
              latest: { anyOf: [looseObject, { type: "null" }] },
              history: looseArray,
            },
          }),
        },
      },
      async (req) => churnInsight(deps, req.params.id, Number(req.query.days ?? 365), req.query.language),
    );

    api.get(
      "/v1/portal/monitoring/distributions",
      {
        schema: {
          ...secured,
          description:
            "Reference-vs-current distribution of each feature (and of the score) for the last monitor run, as shares per reference bin, with the run's drift score and threshold per feature.",
          response: resp({
            type: "object",
            properties: {
              run: { anyOf: [looseObject, { type: "null" }] },
              source: { type: "string", enum: ["snapshot", "computed", "none"] },
              features: looseArray,
            },
          }),
        },
      },
      async () => monitoringDistributions(deps),
    );

    api.get<{ Querystring: { limit?: string } }>(
      "/v1/portal/monitoring/runs",
      {
        schema: {
          ...secured,
          description:
            "Monitor runs over time, oldest first: drift score per feature, prediction drift, alerts, and model performance per period (AUC, calibration) once labels arrived.",
          querystring: {
            type: "object",
            additionalProperties: false,
            properties: { limit: { type: "string", pattern: "^[1-9][0-9]{0,2}$", description: "1–999" } },
          },
          response: resp({ type: "object", properties: { runs: looseArray, performance: looseArray } }),
        },
      },
      async (req) => {
        const runs = monitorRuns(deps).slice(-Number(req.query.limit ?? 50));
        // Performance per period: a later run's figure for a period replaces an earlier one's (more labels).
        const perf = new Map<string, Record<string, unknown>>();
        for (const r of runs)
          for (const p of (r.performance as Record<string, unknown>[] | undefined) ?? [])
            perf.set(String(p.period), {
              ...p,
              run_at: r.at ?? null,
              model_version: r.model_version ?? null,
            });
        return {
          runs: runs.map((r) => ({
            at: r.at ?? null,
            model: r.model ?? null,
            model_version: r.model_version ?? null,
            drift: r.drift ?? null,
            window: r.window ?? null,
            n_predictions: r.n_predictions ?? null,
            features: (r.features ?? []).map((f) => ({
              name: f.name,
              score: f.score,
              threshold: f.threshold,
              drift: f.drift,
            })),
            prediction_drift: r.prediction_drift ?? null,
            alerts: r.alerts ?? [],
          })),
          performance: [...perf.values()].sort((a, b) => (String(a.period) < String(b.period) ? -1 : 1)),
        };
      },
    );

    api.get<{ Params: { name: string } }>(
      "/v1/portal/assistant/prompts/:name/versions",
      {
        schema: {
          ...secured,
          description:
            "A prompt template's distinct versions, oldest first (its git history, then the working tree when it differs): version, content hash, commit and text, for diffs.",
          params: {
            type: "object",
            properties: { name: { type: "string", pattern: "^[a-z0-9][a-z0-9-]{0,63}$" } },
            required: ["name"],
          },
          response: resp({ type: "object", properties: { name: { type: "string" }, versions: looseArray } }),
        },
      },
      async (req) => ({ name: req.params.name, versions: await promptVersions(deps, req.params.name) }),
    );
  };
}

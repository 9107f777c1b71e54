import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { z } from "zod";
import type { EvalsConfig } from "../../../platform/config/sections/evals.ts";
import { NotFoundError, ValidationError } from "../../../platform/errors.ts";
import type { EngineName, EvalRun, SuiteResult } from "../suites/types.ts";

/**
 * Where runs and the baseline live. Runs: `<workspace>/assistant/evals/<run_id>.json` (and the HTML
 * report beside it), the newest `evals.keepRuns` kept. The baseline: a JSON file in the repository
 * (`evals.baseline`), one entry per engine with the accepted run's metrics and which cases passed.
 */

export function runsDir(assistantDir: string): string {
  return join(assistantDir, "evals");
}

function writeAtomic(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

const RUN_ID = /^ev-\d{8}-\d{6}-[0-9a-f]{4}$/;

export function saveRun(dir: string, run: EvalRun, keep: number): string {
  const file = join(dir, `${run.run_id}.json`);
  writeAtomic(file, `${JSON.stringify(run, null, 1)}\n`);
  const ids = listRunIds(dir);
  for (const old of ids.slice(0, Math.max(0, ids.length - keep))) {
    rmSync(join(dir, `${old}.json`), { force: true });
    rmSync(join(dir, `${old}.html`), { force: true });
  }
  return file;
}

/** Run ids, oldest first (the id starts with its UTC time). */
export function listRunIds(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json") && RUN_ID.test(f.slice(0, -5)))
    .map((f) => f.slice(0, -5))
    .sort();
}

/** A run by id, unique prefix, or `latest`; a bad file is reported naming it. */
export function loadRun(dir: string, id = "latest"): EvalRun {
  const ids = listRunIds(dir);
  let found: string | undefined;
  if (id === "latest") found = ids.at(-1);
  else {
    const hits = ids.filter((x) => x === id || x.startsWith(id));
    if (hits.length > 1)
      throw new ValidationError("run", `"${id}" matches ${hits.length} runs: give more of the id`);
    found = hits[0];
  }
  if (!found)
    throw new NotFoundError(id === "latest" ? "eval run (none yet)" : `eval run ${id}`, {
      hint: "Run `telco eval run` first; `telco eval list` shows the stored runs.",
    });
  const file = join(dir, `${found}.json`);
  try {
    return JSON.parse(readFileSync(file, "utf8")) as EvalRun;
  } catch (err) {
    throw new ValidationError(
      file,
      `not a readable eval run: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

export function loadRuns(dir: string): EvalRun[] {
  const out: EvalRun[] = [];
  for (const id of listRunIds(dir)) {
    try {
      out.push(JSON.parse(readFileSync(join(dir, `${id}.json`), "utf8")) as EvalRun);
    } catch {
      // A half-written or foreign file is not a run.
    }
  }
  return out;
}

// ---- baseline --------------------------------------------------------------------------------------

const baselineSuiteSchema = z.object({
  metrics: z.record(z.string(), z.number().nullable()),
  /** case id → passed. */
  cases: z.record(z.string(), z.boolean()),
});

const baselineEngineSchema = z.object({
  run_id: z.string(),
  accepted_at: z.string(),
  git_commit: z.string().nullable(),
  k: z.number().int().min(1),
  llm: z.string(),
  suites: z.record(z.string(), baselineSuiteSchema),
});

export const baselineSchema = z.object({
  version: z.literal(1),
  engines: z.record(z.string(), baselineEngineSchema),
});

export type Baseline = z.infer<typeof baselineSchema>;
export type BaselineEngine = z.infer<typeof baselineEngineSchema>;

export function baselinePath(cfg: EvalsConfig, repoRoot: string, override?: string): string {
  const p = override ?? cfg.baseline;
  return isAbsolute(p) ? p : resolve(repoRoot, p);
}

/** The baseline file, or an empty one when it does not exist yet; a bad file names the field. */
export function readBaseline(file: string): Baseline {
  if (!existsSync(file)) return { version: 1, engines: {} };
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new ValidationError(file, `not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  const parsed = baselineSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ValidationError(`${file}: ${issue.path.join(".") || "(root)"}`, issue.message);
  }
  return parsed.data;
}

function suiteEntry(s: SuiteResult): z.infer<typeof baselineSuiteSchema> {
  return {
    metrics: Object.fromEntries(s.metrics.map((m) => [m.name, m.value])),
    cases: Object.fromEntries(s.cases.map((c) => [c.id, c.passed])),
  };
}

/** The baseline with `run` accepted for its engine (suites that did not run keep their old entry). */
export function acceptRun(baseline: Baseline, run: EvalRun, now = new Date()): Baseline {
  const previous = baseline.engines[run.engine];
  const suites: BaselineEngine["suites"] = { ...(previous?.suites ?? {}) };
  for (const s of run.suites) if (s.status === "ran") suites[s.suite] = suiteEntry(s);
  return {
    version: 1,
    engines: {
      ...baseline.engines,
      [run.engine]: {
        run_id: run.run_id,
        accepted_at: now.toISOString(),
        git_commit: run.git.commit,
        k: run.k,
        llm: run.llm,
        suites,
      },
    },
  };
}

export function writeBaseline(file: string, b: Baseline): void {
  // Stable key order so a re-accepted run with the same results leaves the file byte-identical.
  const sorted = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sorted)
      : v && typeof v === "object"
        ? Object.fromEntries(
            Object.keys(v as object)
              .sort()
              .map((k) => [k, sorted((v as Record<string, unknown>)[k])]),
          )
        : v;
  writeAtomic(file, `${JSON.stringify(sorted(b), null, 1)}\n`);
}

export function baselineFor(b: Baseline, engine: EngineName): BaselineEngine | null {
  return b.engines[engine] ?? null;
}

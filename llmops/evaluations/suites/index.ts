import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { resolve } from "node:path";
import { EVAL_SUITES, type EvalSuiteName } from "../../../platform/config/sections/evals.ts";
import type { AppContext } from "../../../platform/context.ts";
import { UsageError } from "../../../platform/errors.ts";
import { type LlmProvider, llmRef } from "../../../platform/ports/llm.ts";
import type { Phraser } from "../../agent/engine.ts";
import { createPhraser } from "../../agent/phrasing.ts";
import { LlmUnderstanding } from "../../agent/understanding/llm.ts";
import { LocalUnderstanding } from "../../agent/understanding/local.ts";
import type { UnderstandingEngine } from "../../conversation/commands.ts";
import { observerFor } from "../../observability/open.ts";
import { ingestBuiltinKnowledgeBase } from "../../rag/api.ts";
import { createSandboxFixture, type SandboxFixture } from "../../testing/sandbox-fixture.ts";
import type { EvalContext, GoldenData } from "./context.ts";
import { collectGolden, goldenSuite } from "./golden.ts";
import { groundednessSuite } from "./groundedness.ts";
import { judgeSuite } from "./judge.ts";
import { costSuite, latencySuite } from "./latency-cost.ts";
import { nluSuite } from "./nlu.ts";
import { retrievalSuite } from "./retrieval.ts";
import { benignSuite, redteamSuite } from "./safety.ts";
import type { EngineName, EvalRun, SuiteResult } from "./types.ts";

/**
 * `telco eval run`: every selected suite on one operator sandbox, in an order that lets the suites
 * built on the golden conversations (groundedness, latency, cost, judge) share one set of trials.
 * The result is not yet gated (report/gate.ts compares it with the thresholds and the baseline).
 */

export const REPO_ROOT = resolve(import.meta.dirname, "..", "..", "..");

/** Suites that read the golden conversations' turns. */
const ON_GOLDEN: ReadonlySet<EvalSuiteName> = new Set(["golden", "groundedness", "latency", "cost", "judge"]);

export interface EvalOptions {
  /** The caller's context: thresholds, guardrails, retrieval settings and the LLM come from its config. */
  app: AppContext;
  /** Default: every suite (judge only with a generative model). */
  suites?: readonly EvalSuiteName[];
  engine: EngineName;
  /** Trials per case; default 1 for local, `evals.k` for llm. */
  k?: number;
  /** A sandbox to run on (tests share one); default: a new one, removed afterwards. */
  fixture?: SandboxFixture;
  /** The generative model (tests pass a mock); default `app.llm()`. */
  llm?: LlmProvider;
  /** Only these golden conversation ids or prefixes (quick runs). */
  only?: string[];
  progress?: (message: string) => void;
  repoRoot?: string;
}

export function parseSuites(value: string | readonly string[] | undefined): EvalSuiteName[] | undefined {
  if (value === undefined) return undefined;
  const names = (Array.isArray(value) ? value : [value])
    .flatMap((v) => String(v).split(","))
    .map((s) => s.trim())
    .filter(Boolean);
  for (const n of names)
    if (!(EVAL_SUITES as readonly string[]).includes(n))
      throw new UsageError(`--suite: unknown suite "${n}" (suites: ${EVAL_SUITES.join(", ")})`);
  return [...new Set(names)] as EvalSuiteName[];
}

export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  return `ev-${stamp}-${randomBytes(2).toString("hex")}`;
}

function gitState(root: string): EvalRun["git"] {
  try {
    const commit = execFileSync("git", ["rev-parse", "HEAD"], {
      cwd: root,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
    const dirty =
      execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], {
        cwd: root,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      }).trim() !== "";
    return { commit, dirty };
  } catch {
    return { commit: null, dirty: null };
  }
}

async function timed(
  suite: EvalSuiteName,
  fn: () => Promise<SuiteResult> | SuiteResult,
): Promise<SuiteResult> {
  const t0 = performance.now();
  try {
    const r = await fn();
    return r.ms ? r : { ...r, ms: Math.round(performance.now() - t0) };
  } catch (err) {
    return {
      suite,
      status: "error",
      summary: `error: ${err instanceof Error ? err.message : String(err)}`,
      metrics: [],
      cases: [],
      notes: [],
      ms: Math.round(performance.now() - t0),
      error: err instanceof Error ? (err.stack ?? err.message) : String(err),
    };
  }
}

export async function runEvals(o: EvalOptions): Promise<EvalRun> {
  const t0 = performance.now();
  const created = new Date();
  const cfg = o.app.config.evals;
  const repoRoot = o.repoRoot ?? REPO_ROOT;
  const progress = o.progress ?? (() => {});
  const configured = o.llm ?? (await o.app.llm());
  const generative = configured.model ? configured : null;
  if (o.engine === "llm" && !generative)
    throw new UsageError(
      "--engine llm needs a generative model: set llm.provider to vertex or openai-compatible",
      {
        hint: "docs/llmops/llm-providers.md; the local engine runs with --engine local.",
      },
    );
  const requested = o.suites ?? EVAL_SUITES.filter((s) => s !== "judge" || generative);
  if (requested.includes("judge") && !generative)
    throw new UsageError("--suite judge needs a generative model (llm.provider vertex or openai-compatible)");
  const trials = o.k ?? (o.engine === "llm" ? cfg.k : 1);
  if (!Number.isInteger(trials) || trials < 1 || trials > 20)
    throw new UsageError(`--k must be 1 to 20, got ${trials}`);

  const fixture = o.fixture ?? (await createSandboxFixture());
  const own = !o.fixture;
  try {
    const observer = await observerFor(fixture.app);
    const llm = generative ? observer.llm(generative) : null;
    const understanding = (): UnderstandingEngine => {
      const local = new LocalUnderstanding({ businessDate: () => fixture.systems.businessDate() });
      if (o.engine === "local" || !llm) return local;
      return new LlmUnderstanding({ llm, local, businessDate: () => fixture.systems.businessDate() });
    };
    const phraser = (): Phraser | null =>
      o.engine === "llm" && llm ? createPhraser(llm, o.app.config.assistant) : null;
    const ctx: EvalContext = {
      app: o.app,
      fixture,
      engine: o.engine,
      trials,
      llm,
      observer,
      understanding,
      phraser,
      repoRoot,
      progress,
    };
    await ingestBuiltinKnowledgeBase(fixture.app);
    // The local classifier is built on first use (seconds): built here, so no timed turn pays for it.
    new LocalUnderstanding({ businessDate: () => fixture.systems.businessDate() }).warmUp();
    const results: SuiteResult[] = [];
    let golden: GoldenData | null = null;
    let goldenError: unknown = null;
    if (requested.some((s) => ON_GOLDEN.has(s))) {
      progress(`golden conversations (${o.engine} engine, ${trials} trial${trials > 1 ? "s" : ""})`);
      try {
        golden = await collectGolden(ctx, o.only ? { only: o.only } : {});
      } catch (err) {
        goldenError = err;
      }
    }
    const onGolden = (suite: EvalSuiteName, fn: (g: GoldenData) => SuiteResult | Promise<SuiteResult>) =>
      timed(suite, () => {
        if (!golden) throw goldenError ?? new Error("the golden conversations did not run");
        return fn(golden);
      });
    const th = cfg.thresholds;
    for (const suite of EVAL_SUITES) {
      if (!requested.includes(suite)) continue;
      progress(`suite ${suite}`);
      switch (suite) {
        case "golden":
          results.push(await onGolden(suite, (g) => goldenSuite(g, th.golden)));
          break;
        case "nlu":
          results.push(await timed(suite, () => nluSuite(th.nlu)));
          break;
        case "retrieval":
          results.push(await timed(suite, () => retrievalSuite(ctx)));
          break;
        case "groundedness":
          results.push(await onGolden(suite, (g) => groundednessSuite(g, th.groundedness)));
          break;
        case "redteam":
          results.push(await timed(suite, () => redteamSuite(ctx)));
          break;
        case "benign":
          results.push(await timed(suite, () => benignSuite(ctx)));
          break;
        case "latency":
          results.push(await onGolden(suite, (g) => latencySuite(g, th.latency)));
          break;
        case "cost":
          results.push(await onGolden(suite, (g) => costSuite(g, th.cost)));
          break;
        case "judge":
          results.push(
            await onGolden(suite, (g) => judgeSuite(llm as LlmProvider, g, th.judge, repoRoot, progress)),
          );
          break;
      }
    }
    await observer.flush();
    return {
      run_id: newRunId(created),
      created_at: created.toISOString(),
      engine: o.engine,
      k: trials,
      git: gitState(repoRoot),
      llm: generative ? llmRef(generative) : "local:offline",
      suites: results,
      gate: {
        passed: true,
        threshold_misses: [],
        regressions: [],
        newly_failing: [],
        baseline: null,
        notes: [],
      },
      duration_ms: Math.round(performance.now() - t0),
    };
  } finally {
    if (own) await fixture.cleanup();
  }
}

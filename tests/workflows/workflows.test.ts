import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { buildProgram } from "../../cli/main.ts";

/**
 * Static checks of .github/workflows/*.yml (GitHub parses them only when they run; a typo in a
 * `needs:` or a script name shows up at deploy time). What is checked, and only that:
 * - each file is valid YAML with `on` and at least one job, each job with `runs-on` and `steps`;
 * - every `uses:` of a remote action is pinned to a full 40-hex commit SHA;
 * - every `needs:` names a job of the same workflow, and `needs.X.outputs.Y` names a declared output of a needed job;
 * - every `npm run NAME` is a script in package.json; every `npm run telco -- CMD …` is a real `telco`
 *   command path whose `--flags` that command (or the program) declares;
 * - every repository path a `run:` names (bash/node FILE, `-chdir=`/dirs like infra/terraform/envs/*) and
 *   every `on.*.paths` filter prefix exists.
 * Not checked: expression semantics beyond `needs.*`, action inputs, shell syntax.
 */

const ROOT = join(import.meta.dirname, "..", "..");
const DIR = join(ROOT, ".github", "workflows");
const FILES = readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f));
/** Workflows whose owner has not pinned them yet (ci.yml belongs to another change); see the report. */

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}
interface Job {
  "runs-on"?: unknown;
  needs?: string | string[];
  steps?: Step[];
  outputs?: Record<string, string>;
  environment?: string | { name: string };
}
interface Workflow {
  on?: unknown;
  jobs?: Record<string, Job>;
}

function load(file: string): Workflow {
  return parse(readFileSync(join(DIR, file), "utf8")) as Workflow;
}
const needsOf = (job: Job): string[] => (job.needs === undefined ? [] : [job.needs].flat());

/** `npm run telco -- ARGS` commands in a run script (one per line, `&&`-separated parts too). */
function telcoCommands(run: string): string[][] {
  const out: string[][] = [];
  for (const part of run.split(/\n|&&|\|\|/)) {
    const m = /npm run telco -- (.+)$/.exec(part.trim());
    if (m) out.push(m[1].trim().split(/\s+/));
  }
  return out;
}

/** Resolves `args` against the CLI: the command path, and the flags it does not declare. */
function resolveCommand(program: Command, args: string[]): { path: string[]; unknown: string[] } {
  let cmd = program;
  const path: string[] = [];
  const unknown: string[] = [];
  const options: Command[] = [program];
  for (const a of args) {
    if (a.startsWith("-")) {
      const flag = a.split("=")[0];
      const known = options.some((c) => c.options.some((o) => o.long === flag || o.short === flag));
      if (!known) unknown.push(flag);
      continue;
    }
    const sub = cmd.commands.find((c) => c.name() === a || c.aliases().includes(a));
    if (sub) {
      cmd = sub;
      path.push(a);
      options.push(sub);
    }
  }
  return { path, unknown };
}

/** Repository paths a run script names: script files run by bash/node, and dirs/globs under top-level folders. */
function referencedPaths(run: string): string[] {
  const top = new Set(readdirSync(ROOT));
  const paths = new Set<string>();
  for (const m of run.matchAll(/(?:^|[\s="'])((?:\.?[\w-]+)(?:\/[\w.*-]+)+)/g)) {
    const p = m[1];
    if (!top.has(p.split("/")[0]) || p.includes("${")) continue;
    paths.add(p);
  }
  for (const m of run.matchAll(/\b(?:bash|node|sh)\s+([\w./-]+)/g))
    if (!m[1].startsWith("-")) paths.add(m[1]);
  return [...paths];
}

/** owner/repo[/path]@SHA with a full 40-hex commit SHA (a tag or a short SHA can move or collide). */
const isPinned = (uses: string) => /^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/.test(uses);

/** The fixed part of a path or glob (before the first wildcard segment). */
const fixedPrefix = (p: string) =>
  p
    .split("/")
    .filter((_, i, a) => !a.slice(0, i + 1).some((s) => s.includes("*")))
    .join("/");

describe("GitHub workflows", () => {
  let program: Command;
  let scripts: Record<string, string>;
  beforeAll(async () => {
    program = await buildProgram();
    scripts = (
      JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }
    ).scripts;
  });

  it("finds the workflows", () => {
    expect(FILES).toEqual(expect.arrayContaining(["cd-llm.yml", "cd-ml.yml", "ci.yml", "security.yml"]));
  });

  for (const file of FILES) {
    describe(file, () => {
      const wf = load(file);
      const jobs = Object.entries(wf.jobs ?? {});

      it("has triggers and jobs, each with runs-on and steps", () => {
        expect(wf.on, "on:").toBeDefined();
        expect(jobs.length).toBeGreaterThan(0);
        for (const [name, job] of jobs) {
          expect(job["runs-on"], `${name}.runs-on`).toBeDefined();
          expect(Array.isArray(job.steps) && job.steps.length > 0, `${name}.steps`).toBe(true);
        }
      });

      it("pins every remote action to a full commit SHA", () => {
        const unpinned = jobs.flatMap(([name, job]) =>
          (job.steps ?? [])
            .filter((s) => s.uses && !s.uses.startsWith("./") && !s.uses.startsWith("docker://"))
            .filter((s) => !isPinned(s.uses as string))
            .map((s) => `${name}: ${s.uses}`),
        );
        expect(unpinned).toEqual([]);
      });

      it("needs: only existing jobs, and needs.X.outputs.Y only declared outputs of needed jobs", () => {
        const names = new Set(jobs.map(([n]) => n));
        for (const [name, job] of jobs) {
          for (const n of needsOf(job)) expect(names.has(n), `${name} needs ${n}`).toBe(true);
          const text = JSON.stringify(job);
          for (const m of text.matchAll(/needs\.([\w-]+)\.outputs\.([\w-]+)/g)) {
            expect(needsOf(job), `${name} uses needs.${m[1]} without needing it`).toContain(m[1]);
            expect(Object.keys(wf.jobs?.[m[1]]?.outputs ?? {}), `${m[1]} declares output ${m[2]}`).toContain(
              m[2],
            );
          }
        }
      });

      it("runs only existing npm scripts and telco commands with flags they declare", () => {
        for (const [name, job] of jobs)
          for (const step of job.steps ?? []) {
            if (!step.run) continue;
            for (const m of step.run.matchAll(/npm run ([\w:.-]+)/g))
              expect(Object.keys(scripts), `${name}: npm run ${m[1]}`).toContain(m[1]);
            for (const args of telcoCommands(step.run)) {
              const { path, unknown } = resolveCommand(program, args);
              expect(path.length, `${name}: telco ${args.join(" ")} is not a command`).toBeGreaterThan(0);
              expect(unknown, `${name}: telco ${args.join(" ")}`).toEqual([]);
            }
          }
      });

      it("names only repository paths that exist", () => {
        const missing: string[] = [];
        for (const [name, job] of jobs)
          for (const step of job.steps ?? [])
            for (const p of step.run ? referencedPaths(step.run) : [])
              if (!existsSync(join(ROOT, fixedPrefix(p)))) missing.push(`${name}: ${p}`);
        const on = (wf.on ?? {}) as Record<string, { paths?: string[] } | null>;
        for (const [event, spec] of Object.entries(on))
          for (const p of spec?.paths ?? [])
            if (!existsSync(join(ROOT, fixedPrefix(p)))) missing.push(`on.${event}.paths: ${p}`);
        expect(missing).toEqual([]);
      });
    });
  }

  it("cd-llm: production waits for approval after the eval gate, the staging deploy and its load test", () => {
    const jobs = load("cd-llm.yml").jobs ?? {};
    const upstream = (name: string): Set<string> => {
      const seen = new Set<string>();
      const visit = (n: string) => {
        for (const d of needsOf(jobs[n] ?? {})) if (!seen.has(d)) seen.add(d) && visit(d);
      };
      visit(name);
      return seen;
    };
    const [prod] = Object.entries(jobs).filter(([, j]) => j.environment === "production");
    expect(prod, "a job in environment production").toBeDefined();
    const before = upstream(prod[0]);
    expect(before).toEqual(new Set(["eval-gate", "build", "deploy-staging", "load-test-staging"]));
    expect(JSON.stringify(jobs["eval-gate"].steps)).toContain("npm run telco -- eval run");
    expect(JSON.stringify(jobs["load-test-staging"].steps)).toMatch(/autocannon/);
    expect(jobs["deploy-staging"].environment).toBe("staging");
    // Every deploy job deploys the image the build job pushed (by digest), never a rebuilt one.
    for (const n of ["deploy-staging", "deploy-production"])
      expect(JSON.stringify(jobs[n].steps)).toContain("needs.build.outputs.image");
  });
});

describe("the checks themselves", () => {
  it("catch an unknown telco command or flag, a missing path and a bad pin", async () => {
    const program = await buildProgram();
    expect(resolveCommand(program, ["eval", "run", "--no-report"])).toEqual({
      path: ["eval", "run"],
      unknown: [],
    });
    expect(resolveCommand(program, ["eval", "run", "--no-such-flag"]).unknown).toEqual(["--no-such-flag"]);
    expect(resolveCommand(program, ["nosuchcommand"]).path).toEqual([]);
    expect(
      referencedPaths('bash .ci/run && terraform -chdir="infra/terraform/envs/dev" init').sort(),
    ).toEqual([".ci/run", "infra/terraform/envs/dev"]);
    expect(isPinned("actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683")).toBe(true);
    expect(isPinned("actions/checkout@v4")).toBe(false);
    expect(isPinned("actions/checkout@11bd719")).toBe(false);
    expect(fixedPrefix("infra/terraform/envs/*")).toBe("infra/terraform/envs");
    expect(existsSync(join(ROOT, fixedPrefix("infra/nowhere/*")))).toBe(false);
  });
});

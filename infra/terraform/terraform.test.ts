import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../platform/config/load.ts";

/**
 * Checks of infra/terraform that run without providers or network (`terraform validate` needs the
 * google provider downloaded; the security workflow runs it in CI). What is checked, and only that:
 * - when a `terraform` binary is on PATH: `terraform fmt -check -recursive` (Terraform's own HCL
 *   parser: a syntax error fails it) — skipped, and said so, when there is none;
 * - always, with a light scanner here (comments and strings aware, not a full HCL parser): balanced
 *   braces/brackets/parentheses; every `var.X` is a declared variable of its module; every `local.X`
 *   is declared in a locals block; every `google_*.NAME` reference is a resource of the same module;
 *   every `module.M.OUT` names a module block of the env and an output of that module's source;
 *   every module argument is a variable of the called module, and every variable without a default
 *   is passed. Resource arguments and types are NOT checked (that needs the provider schema).
 */

const ROOT = import.meta.dirname;
const MODULES = join(ROOT, "modules");
const ENVS = join(ROOT, "envs");

/** Source with comments removed and string contents kept (interpolations matter). */
function stripComments(src: string): string {
  let out = "";
  let inString = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (inString) {
      out += c;
      if (c === "\\") {
        out += src[++i] ?? "";
        continue;
      }
      if (c === '"') inString = false;
      continue;
    }
    if (c === '"') {
      inString = true;
      out += c;
      continue;
    }
    if (c === "#" || (c === "/" && src[i + 1] === "/")) {
      while (i < src.length && src[i] !== "\n") i++;
      out += "\n";
      continue;
    }
    out += c;
  }
  if (inString) throw new Error("unterminated string");
  return out;
}

/** Bracket balance outside strings; the first problem, or undefined. */
function bracketProblem(src: string): string | undefined {
  const pairs: Record<string, string> = { "}": "{", "]": "[", ")": "(" };
  const stack: { ch: string; line: number }[] = [];
  let inString = false;
  let line = 1;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === "\n") line++;
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
      else if (c === "$" && src[i + 1] === "{") {
        // an interpolation's braces balance on their own; skip to its end
        let depth = 0;
        for (i++; i < src.length; i++) {
          if (src[i] === "{") depth++;
          else if (src[i] === "}" && --depth === 0) break;
        }
      }
      continue;
    }
    if (c === '"') inString = true;
    else if ("{[(".includes(c)) stack.push({ ch: c, line });
    else if (c in pairs) {
      const open = stack.pop();
      if (!open || open.ch !== pairs[c]) return `unbalanced "${c}" on line ${line}`;
    }
  }
  return stack.length
    ? `unclosed "${stack[stack.length - 1].ch}" from line ${stack[stack.length - 1].line}`
    : undefined;
}

interface Unit {
  dir: string;
  src: string;
  variables: Map<string, { hasDefault: boolean }>;
  outputs: Set<string>;
  locals: Set<string>;
  resources: Set<string>;
  modules: Map<string, { source: string; args: Set<string> }>;
}

/** The body of the block whose header ends at `open` (index of its "{"). */
function blockBody(src: string, open: number): string {
  let depth = 0;
  for (let i = open; i < src.length; i++) {
    if (src[i] === "{") depth++;
    else if (src[i] === "}" && --depth === 0) return src.slice(open + 1, i);
  }
  throw new Error("unclosed block");
}

/** Top-level attribute names of a block body (depth 0 lines `name = …`). */
function topLevelAttributes(body: string): Set<string> {
  const names = new Set<string>();
  let depth = 0;
  for (const line of body.split("\n")) {
    const m = /^\s*([A-Za-z_][\w-]*)\s*=(?!=)/.exec(line);
    if (m && depth === 0) names.add(m[1]);
    for (const c of line.replace(/"(?:[^"\\]|\\.)*"/g, "")) {
      if ("{[(".includes(c)) depth++;
      else if ("}])".includes(c)) depth--;
    }
  }
  return names;
}

function loadUnit(dir: string): Unit {
  const src = readdirSync(dir)
    .filter((f) => f.endsWith(".tf"))
    .map((f) => stripComments(readFileSync(join(dir, f), "utf8")))
    .join("\n");
  const unit: Unit = {
    dir,
    src,
    variables: new Map(),
    outputs: new Set(),
    locals: new Set(),
    resources: new Set(),
    modules: new Map(),
  };
  for (const m of src.matchAll(/^variable\s+"([\w-]+)"\s*\{/gm)) {
    const body = blockBody(src, (m.index ?? 0) + m[0].length - 1);
    unit.variables.set(m[1], { hasDefault: topLevelAttributes(body).has("default") });
  }
  for (const m of src.matchAll(/^output\s+"([\w-]+)"/gm)) unit.outputs.add(m[1]);
  for (const m of src.matchAll(/^(?:resource|data)\s+"([\w-]+)"\s+"([\w-]+)"/gm))
    unit.resources.add(`${m[1]}.${m[2]}`);
  for (const m of src.matchAll(/^locals\s*\{/gm))
    for (const name of topLevelAttributes(blockBody(src, (m.index ?? 0) + m[0].length - 1)))
      unit.locals.add(name);
  for (const m of src.matchAll(/^module\s+"([\w-]+)"\s*\{/gm)) {
    const body = blockBody(src, (m.index ?? 0) + m[0].length - 1);
    const source = /^\s*source\s*=\s*"([^"]+)"/m.exec(body)?.[1] ?? "";
    const args = topLevelAttributes(body);
    for (const meta of ["source", "version", "providers", "depends_on", "count", "for_each"])
      args.delete(meta);
    unit.modules.set(m[1], { source, args });
  }
  return unit;
}

/** Problems in one module or env directory (empty when every reference resolves). */
function referenceProblems(unit: Unit): string[] {
  const problems: string[] = [];
  const where = unit.dir.slice(ROOT.length + 1);
  const bracket = bracketProblem(unit.src);
  if (bracket) problems.push(`${where}: ${bracket}`);
  for (const m of unit.src.matchAll(/\bvar\.([\w-]+)/g))
    if (!unit.variables.has(m[1])) problems.push(`${where}: var.${m[1]} is not declared`);
  for (const m of unit.src.matchAll(/\blocal\.([\w-]+)/g))
    if (!unit.locals.has(m[1])) problems.push(`${where}: local.${m[1]} is not declared`);
  for (const m of unit.src.matchAll(/(?<![\w."/-])(google_[\w]+)\.([\w-]+)(?=[.\s[,)}\]])/g))
    if (!unit.resources.has(`${m[1]}.${m[2]}`))
      problems.push(`${where}: ${m[1]}.${m[2]} is not a resource here`);
  for (const m of unit.src.matchAll(/\bmodule\.([\w-]+)\.([\w-]+)/g)) {
    const mod = unit.modules.get(m[1]);
    if (!mod) {
      problems.push(`${where}: module.${m[1]} is not declared`);
      continue;
    }
    const callee = loadUnit(resolve(unit.dir, mod.source));
    if (!callee.outputs.has(m[2])) problems.push(`${where}: module ${m[1]} has no output ${m[2]}`);
  }
  for (const [name, mod] of unit.modules) {
    const callee = loadUnit(resolve(unit.dir, mod.source));
    for (const a of mod.args)
      if (!callee.variables.has(a))
        problems.push(`${where}: module ${name} passes ${a}, not a variable of ${mod.source}`);
    for (const [v, { hasDefault }] of callee.variables)
      if (!hasDefault && !mod.args.has(v))
        problems.push(`${where}: module ${name} does not pass required ${v}`);
  }
  return problems;
}

const dirs = [
  ...readdirSync(MODULES).map((d) => join(MODULES, d)),
  ...readdirSync(ENVS).map((d) => join(ENVS, d)),
];
const terraform = spawnSync("terraform", ["version"], { encoding: "utf8" });
const hasTerraform = terraform.status === 0;

describe("infra/terraform", () => {
  it.skipIf(!hasTerraform)("is formatted and parses (terraform fmt -check -recursive)", () => {
    const r = spawnSync("terraform", ["fmt", "-check", "-recursive", "-diff", ROOT], { encoding: "utf8" });
    // fmt prints the files it would change (and a parse error) and exits non-zero.
    expect(r.stdout).toBe("");
    expect(r.status, r.stderr).toBe(0);
  });

  for (const dir of dirs)
    it(`${dir.slice(ROOT.length + 1)}: every variable, local, resource, module and output reference resolves`, () => {
      expect(referenceProblems(loadUnit(dir))).toEqual([]);
    });

  it("every env composes the same modules, the assistant's included", () => {
    const sets = readdirSync(ENVS).map((e) => [...loadUnit(join(ENVS, e)).modules.keys()].sort().join(","));
    expect(new Set(sets).size).toBe(1);
    expect(sets[0].split(",")).toEqual([
      "assistant",
      "data_platform",
      "github_wif",
      "ml_platform",
      "runtime",
    ]);
  });

  it("the assistant's alerts and dashboard query the series llmops/observability/metrics.ts emits", () => {
    const tf = readFileSync(join(MODULES, "assistant", "main.tf"), "utf8");
    const code = readFileSync(join(ROOT, "..", "..", "llmops", "observability", "metrics.ts"), "utf8");
    const emitted = new Set([...code.matchAll(/name: "(assistant_\w+)"/g)].map((m) => m[1]));
    const queried = new Set([...tf.matchAll(/\b(assistant_\w+?)(?:_bucket)?\[/g)].map((m) => m[1]));
    expect(queried.size).toBeGreaterThanOrEqual(6);
    for (const q of queried) expect(emitted, `${q} is not a series the code emits`).toContain(q);
    for (const needed of [
      "assistant_turn_duration_seconds",
      "assistant_tool_errors_total",
      "assistant_guardrail_triggers_total",
      "assistant_llm_cost_total",
    ])
      expect(queried).toContain(needed);
  });
});

describe("the env the Cloud Run services and jobs set", () => {
  // The config loader rejects unknown TELCO_* keys at start, so a misspelt name in Terraform would stop
  // the container; each name must load, with a value of the type the Terraform expression gives.
  const sample = (expr: string) => (/^tostring\(/.test(expr) ? "90" : /^"(.*)"$/.exec(expr)?.[1] || "x-1");
  for (const dir of readdirSync(MODULES)) {
    const tf = readFileSync(join(MODULES, dir, "main.tf"), "utf8");
    const envs = [...tf.matchAll(/name\s*=\s*"(TELCO_[A-Z0-9_]+)"\s*\n\s*value\s*=\s*(.+)/g)].map((m) => [
      m[1],
      m[2].trim(),
    ]);
    if (envs.length === 0) continue;
    it(`${dir}: every TELCO_* variable is a config key the loader accepts`, () => {
      const env: NodeJS.ProcessEnv = {};
      for (const [name, expr] of envs) env[name] = name === "TELCO_PROFILE" ? "gcp" : sample(expr);
      expect(() => loadConfig({ env, cwd: MODULES })).not.toThrow();
    });
  }
  it("the check catches a misspelt name", () => {
    expect(() => loadConfig({ env: { TELCO_GCP__ASSISTANT_DB: "x" }, cwd: MODULES })).toThrow(/ASSISTANT_DB/);
  });
});

describe("the reference scanner itself", () => {
  it("reports an undeclared variable, a missing resource, a bad module argument and a stray brace", () => {
    const unit = (src: string): Unit => ({
      dir: join(ROOT, "inline"),
      src: stripComments(src),
      variables: new Map([["a", { hasDefault: false }]]),
      outputs: new Set(),
      locals: new Set(),
      resources: new Set(["google_x.one"]),
      modules: new Map(),
    });
    expect(referenceProblems(unit("x = var.a\ny = google_x.one.id # var.zzz in a comment"))).toEqual([]);
    expect(referenceProblems(unit("x = var.b"))).toEqual(["inline: var.b is not declared"]);
    expect(referenceProblems(unit("x = google_x.two.id"))).toEqual([
      "inline: google_x.two is not a resource here",
    ]);
    expect(referenceProblems(unit('x = { a = "}" }\n}'))).toEqual(['inline: unbalanced "}" on line 2']);
    const env = loadUnit(join(ENVS, "dev"));
    env.modules.get("assistant")?.args.add("no_such_input");
    env.modules.get("assistant")?.args.delete("image");
    const problems = referenceProblems(env);
    expect(problems).toContain(
      "envs/dev: module assistant passes no_such_input, not a variable of ../../modules/assistant",
    );
    expect(problems).toContain("envs/dev: module assistant does not pass required image");
  });
});

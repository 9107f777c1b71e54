import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { type ImportEdge, importCycles, importGraph, packageOf, parseImports } from "./import-graph.ts";

/**
 * The dependency rules of docs/architecture/README.md, checked over the static import graph of every
 * .ts/.tsx file in the repository.
 */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const { files, edges } = importGraph(ROOT);

/** Domain code: the churn and assistant halves. */
const isDomain = (f: string) => /^(mlops|llmops)\//.test(f);
/** Tests and test fixtures may build adapters (they are composition roots of their own). */
const isTestCode = (f: string) =>
  /\.test\.tsx?$/.test(f) ||
  /\/testing\//.test(f) ||
  /(^|\/)test-helpers\.ts$/.test(f) ||
  /\.e2e-helpers\.ts$/.test(f);

/**
 * Folders of adapters: platform/adapters, and the operator sandbox (the offline stand-in for the
 * operator's systems; domain code reaches it through ports, e.g. SystemsSeeder).
 */
const ADAPTER_FOLDERS = ["platform/adapters/", "platform/sandbox/"];

/** Packages only adapters may import: cloud SDKs, DuckDB, SQLite. */
const ADAPTER_ONLY_PACKAGES = [
  /^@google-cloud\//,
  /^@ai-sdk\/google-vertex$/,
  /^google-auth-library$/,
  /^@google\//,
  /^@duckdb\//,
  /^node:sqlite$/,
];

/**
 * Domain imports of adapters that other work in progress still holds, each with its owner. The test
 * fails when one disappears (remove it here) and for every import not listed.
 */
const KNOWN_DOMAIN_VIOLATIONS: Array<{ from: string; to: string; why: string }> = [];

function domainViolations(all: readonly ImportEdge[]): Array<{ from: string; to: string; line: number }> {
  const out: Array<{ from: string; to: string; line: number }> = [];
  for (const e of all) {
    if (!isDomain(e.from) || isTestCode(e.from)) continue;
    if (e.to && ADAPTER_FOLDERS.some((d) => e.to?.startsWith(d)))
      out.push({ from: e.from, to: e.to, line: e.line });
    else if (!e.to && ADAPTER_ONLY_PACKAGES.some((re) => re.test(packageOf(e.specifier))))
      out.push({ from: e.from, to: packageOf(e.specifier), line: e.line });
  }
  return out;
}

/**
 * Import cycles that work in progress elsewhere still holds. A cycle is allowed only when all its
 * files match one entry; an entry that no longer matches any cycle fails the test (remove it).
 */
const KNOWN_CYCLES: Array<{ files: RegExp; why: string; runtime?: true }> = [];

/** `mlops/registry/evaluation.ts` → `mlops/registry` (files directly under mlops/ are their own node). */
const folderOf = (f: string) => f.split("/").slice(0, 2).join("/");

/**
 * Cycles between the folders under `top` (`mlops/`, `llmops/`, `platform/`, `cli/`), over non-test
 * imports: each cycle as its folders and the file imports that cross between them. Folders are the
 * units a reader and a change see (training, registry, monitoring, …), so they must layer one way even
 * when no two files cycle.
 */
function folderCycles(all: readonly ImportEdge[], top: string): Array<{ folders: string[]; via: string[] }> {
  const inside = all.filter(
    (e) => e.to?.startsWith(top) && e.from.startsWith(top) && !isTestCode(e.from) && !isTestCode(e.to),
  );
  const folders = [...new Set(inside.flatMap((e) => [folderOf(e.from), folderOf(e.to ?? "")]))].sort();
  const crossing = inside.filter((e) => folderOf(e.from) !== folderOf(e.to ?? ""));
  const folderEdges = crossing.map((e) => ({ ...e, from: folderOf(e.from), to: folderOf(e.to ?? "") }));
  return importCycles(folders, folderEdges).map((c) => ({
    folders: c,
    via: crossing
      .filter((e) => c.includes(folderOf(e.from)) && c.includes(folderOf(e.to ?? "")))
      .map((e) => `${e.from}:${e.line} → ${e.to}`),
  }));
}

/**
 * The layers of `llmops/`, lowest first (llmops/README.md): a folder imports only folders of lower
 * layers (tests and `testing/` fixtures excepted). Folders of one layer do not import each other.
 */
const LLMOPS_LAYERS: readonly (readonly string[])[] = [
  // The vocabulary every part shares, and two leaves: the command language and citation types,
  // the versioned prompts, the offers rules engine.
  ["llmops/conversation", "llmops/prompts", "llmops/rules"],
  // Checks over text: input, retrieved-content and output guardrails, the grounding check.
  ["llmops/guardrails"],
  // The knowledge base (its ingest report uses the planted-instruction check).
  ["llmops/rag"],
  // One tool per file over the operator systems, the rules and the knowledge base.
  ["llmops/tools"],
  // The dialogue engine, flows, understanding, sessions, the Assistant (wrapped by a TurnObserver).
  ["llmops/agent"],
  // The tracing observer: wraps the agent's parts, reads guardrail triggers.
  ["llmops/observability"],
  // The composition: the agent behind its guardrails and observer, `telco chat`.
  ["llmops/assistant"],
  // What uses the assembled assistant: customer channels, and the evaluations of everything.
  ["llmops/channels", "llmops/evaluations"],
];

/**
 * Imports between the folders under `top` that do not go to a lower layer of `layers` (non-test code),
 * and folders under `top` no layer declares.
 */
function layerViolations(
  all: readonly ImportEdge[],
  top: string,
  layers: readonly (readonly string[])[],
): string[] {
  const layerOf = (folder: string) => layers.findIndex((l) => l.includes(folder));
  const out: string[] = [];
  for (const e of all) {
    if (!e.to?.startsWith(top) || !e.from.startsWith(top) || isTestCode(e.from) || isTestCode(e.to)) continue;
    const from = folderOf(e.from);
    const to = folderOf(e.to);
    if (from === to) continue;
    for (const f of [from, to])
      if (layerOf(f) < 0 && !out.includes(`${f} is in no layer`)) out.push(`${f} is in no layer`);
    if (layerOf(from) >= 0 && layerOf(to) >= 0 && layerOf(to) >= layerOf(from))
      out.push(`${e.from}:${e.line} → ${e.to} (${from} may not import ${to})`);
  }
  return out;
}

describe("import graph scanner", () => {
  it("finds static, re-exported, side-effect and dynamic imports, and which are type-only", () => {
    const src = [
      'import { a } from "./a.ts";',
      'import type { B } from "./b.ts";',
      'import { type C } from "./c.ts";',
      'export { d } from "./d.ts";',
      'export type { E } from "./e.ts";',
      'export * from "./f.ts";',
      'import "./g.ts";',
      'const h = await import("./h.ts");',
      "import {\n  x,\n  y,\n} from './i.ts';",
    ].join("\n");
    expect(parseImports(src).map((i) => [i.specifier, i.typeOnly, i.dynamic])).toEqual([
      ["./a.ts", false, false],
      ["./b.ts", true, false],
      ["./c.ts", false, false], // `import { type C }` still loads the module at run time
      ["./d.ts", false, false],
      ["./e.ts", true, false],
      ["./f.ts", false, false],
      ["./g.ts", false, false],
      ["./h.ts", false, true],
      ["./i.ts", false, false],
    ]);
  });

  it("ignores imports inside comments, strings, templates and regex literals", () => {
    const src = [
      '// import { a } from "./a.ts";',
      '/* import("./b.ts") */',
      "const s = 'import { c } from \"./c.ts\"';",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the source under test holds a template literal
      'const t = `import("./d.ts") ${1 + 1} import { e } from "./e.ts"`;',
      'const r = /import\\("x"\\)/;',
      "obj.import('./f.ts');",
      'const u = import.meta.url; import { g } from "./g.ts";',
    ].join("\n");
    expect(parseImports(src).map((i) => i.specifier)).toEqual(["./g.ts"]);
  });

  it("finds a cycle and only the files on it", () => {
    const e = (from: string, to: string): ImportEdge => ({
      from,
      to,
      specifier: to,
      typeOnly: false,
      dynamic: false,
      line: 1,
    });
    const cycles = importCycles(
      ["a", "b", "c", "d"],
      [e("a", "b"), e("b", "c"), e("c", "a"), e("c", "d"), e("d", "d")],
    );
    expect(cycles).toEqual([["d"], ["a", "b", "c"]]);
  });

  it("reads the repository (sanity: the graph is not empty and resolves relative imports)", () => {
    expect(files.length).toBeGreaterThan(300);
    expect(files).toContain("platform/context.ts");
    const unresolved = edges.filter(
      (e) => e.to && !files.includes(e.to) && !/\.(json|css|sql|svg|png)$/.test(e.to),
    );
    expect(unresolved).toEqual([]);
  });
});

describe("dependency rules", () => {
  it("domain code (mlops/, llmops/) imports no adapter (nor the sandbox), cloud SDK, DuckDB or node:sqlite", () => {
    const found = domainViolations(edges);
    const unknown = found.filter(
      (v) => !KNOWN_DOMAIN_VIOLATIONS.some((k) => k.from === v.from && k.to === v.to),
    );
    expect(unknown.map((v) => `${v.from}:${v.line} imports ${v.to}`)).toEqual([]);
    const stale = KNOWN_DOMAIN_VIOLATIONS.filter(
      (k) => !found.some((v) => v.from === k.from && v.to === k.to),
    );
    expect(stale.map((k) => `${k.from} → ${k.to} is fixed: remove it from KNOWN_DOMAIN_VIOLATIONS`)).toEqual(
      [],
    );
  });

  it("the rule catches what it should (an adapter, the sandbox, a cloud SDK, DuckDB, node:sqlite) and spares tests", () => {
    const e = (from: string, specifier: string, to?: string): ImportEdge => ({
      from,
      specifier,
      to,
      typeOnly: false,
      dynamic: false,
      line: 1,
    });
    const found = domainViolations([
      e("mlops/x.ts", "../platform/adapters/local/fs-lake.ts", "platform/adapters/local/fs-lake.ts"),
      e("mlops/x.ts", "@google-cloud/bigquery"),
      e("llmops/x.ts", "@ai-sdk/google-vertex/edge"),
      e("llmops/x.ts", "@duckdb/node-api"),
      e("mlops/x.ts", "node:sqlite"),
      e("mlops/x.ts", "node:fs"),
      e("mlops/x.ts", "zod"),
      e("mlops/x.ts", "../platform/ports/lake.ts", "platform/ports/lake.ts"),
      e("mlops/x.ts", "../platform/sandbox/seed.ts", "platform/sandbox/seed.ts"),
      e("mlops/x.test.ts", "node:sqlite"),
      e("mlops/serving/testing/fixture.ts", "@duckdb/node-api"),
      e("platform/context.ts", "@google-cloud/bigquery"),
      e("cli/up.ts", "../platform/adapters/local/fs-lake.ts", "platform/adapters/local/fs-lake.ts"),
    ]);
    expect(found.map((v) => v.to)).toEqual([
      "platform/adapters/local/fs-lake.ts",
      "@google-cloud/bigquery",
      "@ai-sdk/google-vertex",
      "@duckdb/node-api",
      "node:sqlite",
      "platform/sandbox/seed.ts",
    ]);
  });

  it("platform/ imports no domain code and no CLI", () => {
    const bad = edges.filter(
      (e) => e.from.startsWith("platform/") && /^(mlops|llmops|cli)\//.test(e.to ?? ""),
    );
    expect(bad.map((e) => `${e.from}:${e.line} imports ${e.to}`)).toEqual([]);
  });

  it("inside platform/, only adapters (and the sandbox, a simulated external system) import DuckDB, node:sqlite or a cloud SDK", () => {
    const bad = edges.filter(
      (e) =>
        !e.to &&
        e.from.startsWith("platform/") &&
        ADAPTER_ONLY_PACKAGES.some((re) => re.test(packageOf(e.specifier))) &&
        !e.from.startsWith("platform/adapters/") &&
        !e.from.startsWith("platform/sandbox/") &&
        !isTestCode(e.from),
    );
    expect(bad.map((e) => `${e.from}:${e.line} imports ${e.specifier}`)).toEqual([]);
  });

  // Type-only imports count: `import type` is erased at run time, but a type cycle still ties two
  // modules together (neither can change or move alone), which is what the rule is about.
  it("no import cycle across the repository's files (type-only imports included)", () => {
    const cycles = importCycles(files, edges);
    const allowed = (c: string[]) => KNOWN_CYCLES.find((k) => c.every((f) => k.files.test(f)));
    expect(cycles.filter((c) => !allowed(c)).map((c) => c.join(" ↔ "))).toEqual([]);
    const stale = KNOWN_CYCLES.filter((k) => !cycles.some((c) => c.every((f) => k.files.test(f))));
    expect(stale.map((k) => `${k.files} no longer cycles: remove it from KNOWN_CYCLES`)).toEqual([]);
  });

  it("a known cycle that loads modules at run time is marked so (the others are type-only)", () => {
    const runtime = importCycles(
      files,
      edges.filter((e) => !e.typeOnly),
    );
    const unmarked = runtime.filter(
      (c) => !KNOWN_CYCLES.some((k) => k.runtime && c.every((f) => k.files.test(f))),
    );
    expect(unmarked.map((c) => c.join(" ↔ "))).toEqual([]);
  });

  it("the cycles issue #17 named stay broken (file and folder level)", () => {
    const crosses = (a: string, b: string) =>
      edges.filter((e) => e.to && folderOf(e.from) === a && folderOf(e.to) === b && !isTestCode(e.from));
    // monitoring receives retraining and model loading; it imports neither the pipelines nor serving.
    expect(crosses("mlops/monitoring", "mlops/pipelines").map((e) => e.from)).toEqual([]);
    expect(crosses("mlops/monitoring", "mlops/serving").map((e) => e.from)).toEqual([]);
    // The registry no longer reaches into the pipelines for card metrics.
    expect(crosses("mlops/registry", "mlops/pipelines").map((e) => e.from)).toEqual([]);
    // The GBDT exporters read the state, never the model class.
    const gbdt = edges.filter(
      (e) =>
        /^mlops\/training\/gbdt\/(json|onnx|state)\.ts$/.test(e.from) &&
        e.to === "mlops/training/gbdt/model.ts",
    );
    expect(gbdt.map((e) => e.from)).toEqual([]);
    // registerRun receives the reference-profile writer, and `train --register` receives registerRun
    // (both wired in cli/main.ts): the registry imports no monitoring, training no registry.
    expect(crosses("mlops/registry", "mlops/monitoring").map((e) => e.from)).toEqual([]);
    expect(crosses("mlops/training", "mlops/registry").map((e) => e.from)).toEqual([]);
  });

  it("no import cycle between the folders of mlops/ (training, registry, monitoring, serving, pipelines, …)", () => {
    const cycles = folderCycles(edges, "mlops/");
    expect(cycles.map((c) => `${c.folders.join(" ↔ ")} via ${c.via.join(", ")}`)).toEqual([]);
  });

  it("no import cycle between the folders of llmops/ (conversation, guardrails, rag, tools, agent, observability, assistant, …)", () => {
    const cycles = folderCycles(edges, "llmops/");
    expect(cycles.map((c) => `${c.folders.join(" ↔ ")} via ${c.via.join(", ")}`)).toEqual([]);
  });

  it("llmops/ folders import only lower layers (the layering of llmops/README.md)", () => {
    expect(layerViolations(edges, "llmops/", LLMOPS_LAYERS)).toEqual([]);
  });

  it.each(["platform/", "cli/"])("no import cycle between the folders of %s", (top) => {
    const cycles = folderCycles(edges, top);
    expect(cycles.map((c) => `${c.folders.join(" ↔ ")} via ${c.via.join(", ")}`)).toEqual([]);
  });

  it("the layer check flags an upward import and an undeclared folder, and ignores tests", () => {
    const e = (from: string, to: string): ImportEdge => ({
      from,
      to,
      specifier: to,
      typeOnly: false,
      dynamic: false,
      line: 1,
    });
    const layers = [["llmops/conversation"], ["llmops/agent"], ["llmops/assistant"]];
    expect(
      layerViolations(
        [
          e("llmops/agent/engine.ts", "llmops/conversation/commands.ts"),
          e("llmops/assistant/compose.ts", "llmops/agent/engine.ts"),
          e("llmops/agent/flows/flow.ts", "llmops/agent/engine.ts"),
          e("llmops/agent/engine.test.ts", "llmops/assistant/compose.ts"),
          e("llmops/agent/testing/fixture.ts", "llmops/assistant/compose.ts"),
          e("mlops/x/y.ts", "llmops/assistant/compose.ts"),
        ],
        "llmops/",
        layers,
      ),
    ).toEqual([]);
    expect(
      layerViolations(
        [
          e("llmops/agent/assistant.ts", "llmops/assistant/compose.ts"),
          e("llmops/conversation/commands.ts", "llmops/agent/engine.ts"),
          e("llmops/agent/x.ts", "llmops/newcomer/y.ts"),
        ],
        "llmops/",
        layers,
      ),
    ).toEqual([
      "llmops/agent/assistant.ts:1 → llmops/assistant/compose.ts (llmops/agent may not import llmops/assistant)",
      "llmops/conversation/commands.ts:1 → llmops/agent/engine.ts (llmops/conversation may not import llmops/agent)",
      "llmops/newcomer is in no layer",
    ]);
  });

  it("the folder check finds a cycle made of acyclic files, names its imports, and ignores tests", () => {
    const e = (from: string, to: string): ImportEdge => ({
      from,
      to,
      specifier: to,
      typeOnly: false,
      dynamic: false,
      line: 1,
    });
    const graph = [
      // registry/evaluation → monitoring/store → registry/store: no file cycle, a folder cycle.
      e("mlops/registry/evaluation.ts", "mlops/monitoring/store.ts"),
      e("mlops/monitoring/store.ts", "mlops/registry/store.ts"),
      e("mlops/registry/store.ts", "mlops/training/load.ts"),
      // A test importing upwards ties nothing (tests are composition roots of their own).
      e("mlops/training/load.test.ts", "mlops/registry/store.ts"),
      e("mlops/training/testing/fixture.ts", "mlops/registry/store.ts"),
      e("llmops/a/x.ts", "llmops/b/y.ts"),
      e("llmops/b/y.ts", "llmops/a/z.ts"),
    ];
    expect(importCycles(["mlops/registry/evaluation.ts", "mlops/monitoring/store.ts"], graph)).toEqual([]);
    expect(folderCycles(graph, "mlops/")).toEqual([
      {
        folders: ["mlops/monitoring", "mlops/registry"],
        via: [
          "mlops/registry/evaluation.ts:1 → mlops/monitoring/store.ts",
          "mlops/monitoring/store.ts:1 → mlops/registry/store.ts",
        ],
      },
    ]);
    expect(folderCycles(graph.slice(1), "mlops/")).toEqual([]);
  });
});

/**
 * The repository's static import graph, for the architecture tests (tests/architecture/imports.test.ts).
 *
 * Written by hand because the pinned TypeScript 7 ships no stable JS compiler API and no listed
 * dependency parses imports: a small lexer skips comments, string bodies, template text and regex
 * literals, so `import` inside a string or a comment is never taken for an import.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";

export interface ImportEdge {
  /** Repo-relative path of the importing file ('/'-separated). */
  from: string;
  /** The specifier as written. */
  specifier: string;
  /** Repo-relative path of the imported file for relative specifiers, else undefined. */
  to?: string;
  /** `import type …` / `export type … from`: erased at run time. */
  typeOnly: boolean;
  /** `import("…")`. */
  dynamic: boolean;
  line: number;
}

type Token =
  | { kind: "id"; value: string; line: number }
  | { kind: "str"; value: string; line: number }
  | { kind: "punct"; value: string; line: number };

const REGEX_PRECEDING_KEYWORDS = new Set([
  "return",
  "typeof",
  "instanceof",
  "in",
  "of",
  "new",
  "delete",
  "void",
  "throw",
  "case",
  "do",
  "else",
  "yield",
  "await",
]);

/** Tokens that matter for imports: identifiers, string literals and punctuation (template text skipped). */
export function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  let line = 1;
  const n = src.length;
  // Brace depth stack for template literal `${ … }` nesting: each entry is the brace depth at which
  // the template resumes.
  const templateStack: number[] = [];
  let braceDepth = 0;
  const prevAllowsRegex = () => {
    const p = out[out.length - 1];
    if (!p) return true;
    if (p.kind === "str") return false;
    if (p.kind === "id") return REGEX_PRECEDING_KEYWORDS.has(p.value);
    return !(p.value === ")" || p.value === "]" || p.value === "}");
  };
  const skipTemplate = () => {
    // i is just after a backtick or a closing `}` of `${`; scan to the closing backtick or `${`.
    while (i < n) {
      const c = src[i];
      if (c === "\\") {
        i += 2;
        continue;
      }
      if (c === "\n") line++;
      if (c === "`") {
        i++;
        out.push({ kind: "str", value: "", line });
        return;
      }
      if (c === "$" && src[i + 1] === "{") {
        i += 2;
        templateStack.push(braceDepth);
        braceDepth++;
        out.push({ kind: "punct", value: "(", line });
        return;
      }
      i++;
    }
  };
  while (i < n) {
    const c = src[i];
    if (c === "\n") {
      line++;
      i++;
      continue;
    }
    if (c === " " || c === "\t" || c === "\r") {
      i++;
      continue;
    }
    if (c === "/" && src[i + 1] === "/") {
      while (i < n && src[i] !== "\n") i++;
      continue;
    }
    if (c === "/" && src[i + 1] === "*") {
      const end = src.indexOf("*/", i + 2);
      const stop = end < 0 ? n : end + 2;
      for (let k = i; k < stop; k++) if (src[k] === "\n") line++;
      i = stop;
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      let value = "";
      while (j < n && src[j] !== c && src[j] !== "\n") {
        if (src[j] === "\\") {
          value += src[j + 1] ?? "";
          j += 2;
          continue;
        }
        value += src[j];
        j++;
      }
      out.push({ kind: "str", value, line });
      i = j + 1;
      continue;
    }
    if (c === "`") {
      i++;
      skipTemplate();
      continue;
    }
    if (c === "/" && prevAllowsRegex()) {
      let j = i + 1;
      let inClass = false;
      while (j < n && src[j] !== "\n") {
        const d = src[j];
        if (d === "\\") {
          j += 2;
          continue;
        }
        if (d === "[") inClass = true;
        else if (d === "]") inClass = false;
        else if (d === "/" && !inClass) break;
        j++;
      }
      i = j + 1;
      while (i < n && /[a-z]/i.test(src[i])) i++;
      out.push({ kind: "str", value: "", line });
      continue;
    }
    if (/[A-Za-z_$]/.test(c)) {
      let j = i + 1;
      while (j < n && /[\w$]/.test(src[j])) j++;
      out.push({ kind: "id", value: src.slice(i, j), line });
      i = j;
      continue;
    }
    if (/[0-9]/.test(c)) {
      let j = i + 1;
      while (j < n && /[\w.]/.test(src[j])) j++;
      out.push({ kind: "id", value: src.slice(i, j), line });
      i = j;
      continue;
    }
    if (c === "{") braceDepth++;
    if (c === "}") {
      if (templateStack.length > 0 && templateStack[templateStack.length - 1] === braceDepth - 1) {
        templateStack.pop();
        braceDepth--;
        i++;
        out.push({ kind: "punct", value: ")", line });
        skipTemplate();
        continue;
      }
      braceDepth--;
    }
    out.push({ kind: "punct", value: c, line });
    i++;
  }
  return out;
}

/** The imports and re-exports of one source text. */
export function parseImports(src: string): Array<Omit<ImportEdge, "from" | "to">> {
  const t = tokenize(src);
  const out: Array<Omit<ImportEdge, "from" | "to">> = [];
  const isPunct = (k: number, v: string) => t[k]?.kind === "punct" && t[k].value === v;
  const isId = (k: number, v: string) => t[k]?.kind === "id" && t[k].value === v;
  for (let k = 0; k < t.length; k++) {
    const tok = t[k];
    if (tok.kind !== "id") continue;
    // `x.import` / `obj.export` are property names, not keywords.
    if (isPunct(k - 1, ".")) continue;
    if (tok.value === "import") {
      if (isPunct(k + 1, ".")) continue; // import.meta
      if (isPunct(k + 1, "(")) {
        const s = t[k + 2];
        if (s?.kind === "str" && (isPunct(k + 3, ")") || isPunct(k + 3, ",")) && s.value)
          out.push({ specifier: s.value, typeOnly: false, dynamic: true, line: tok.line });
        continue;
      }
      if (t[k + 1]?.kind === "str") {
        out.push({ specifier: t[k + 1].value, typeOnly: false, dynamic: false, line: tok.line });
        continue;
      }
      // `import type X = require(…)` does not occur (ESM only); `import x = …` neither.
      const typeOnly = isId(k + 1, "type") && !isPunct(k + 2, ",") && !isId(k + 2, "from");
      const spec = findFrom(t, k + 1);
      if (spec) out.push({ specifier: spec.value, typeOnly, dynamic: false, line: tok.line });
      continue;
    }
    if (tok.value === "export") {
      let m = k + 1;
      const typeOnly = isId(m, "type") && (isPunct(m + 1, "{") || isPunct(m + 1, "*"));
      if (typeOnly) m++;
      if (!(isPunct(m, "{") || isPunct(m, "*"))) continue;
      if (isPunct(m, "{")) {
        while (m < t.length && !isPunct(m, "}")) m++;
        if (isId(m + 1, "from") && t[m + 2]?.kind === "str")
          out.push({ specifier: t[m + 2].value, typeOnly, dynamic: false, line: tok.line });
        continue;
      }
      const spec = findFrom(t, m);
      if (spec) out.push({ specifier: spec.value, typeOnly, dynamic: false, line: tok.line });
    }
  }
  return out;
}

/** The string after `from`, scanning an import clause (stops at `;` or a keyword that cannot occur). */
function findFrom(t: Token[], start: number): Token | undefined {
  let depth = 0;
  for (let m = start; m < t.length && m < start + 400; m++) {
    const x = t[m];
    if (x.kind === "punct") {
      if (x.value === "{") depth++;
      else if (x.value === "}") depth--;
      else if (x.value === ";" || x.value === "(" || x.value === "=") return undefined;
      continue;
    }
    if (depth === 0 && x.kind === "id" && x.value === "from" && t[m + 1]?.kind === "str") return t[m + 1];
    if (depth === 0 && x.kind === "str") return undefined;
  }
  return undefined;
}

const SKIP_DIRS = new Set(["node_modules", ".telco", ".git", "dist", "fixtures", "tmp", "coverage"]);

/** Every .ts/.tsx file under the repository (skips node_modules, build output, fixtures and scratch). */
export function sourceFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name) && !e.name.startsWith(".")) walk(join(dir, e.name));
      } else if (/\.(ts|tsx|mts)$/.test(e.name) && !e.name.endsWith(".d.ts")) {
        out.push(relative(root, join(dir, e.name)).split(sep).join("/"));
      }
    }
  };
  walk(root);
  return out.sort();
}

/** All import edges of the repository; relative specifiers are resolved to repo-relative files. */
export function importGraph(root: string): { files: string[]; edges: ImportEdge[] } {
  const files = sourceFiles(root);
  const known = new Set(files);
  const edges: ImportEdge[] = [];
  for (const from of files) {
    const src = readFileSync(join(root, from), "utf8");
    for (const imp of parseImports(src)) {
      let to: string | undefined;
      if (imp.specifier.startsWith(".")) {
        const abs = resolve(root, dirname(from), imp.specifier);
        const rel = relative(root, abs).split(sep).join("/");
        to = [rel, `${rel}.ts`, `${rel}.tsx`, `${rel}/index.ts`].find((c) => known.has(c)) ?? rel;
      }
      edges.push({ from, to, ...imp });
    }
  }
  return { files, edges };
}

/** Strongly connected components with more than one file (or a file importing itself): Tarjan's algorithm. */
export function importCycles(files: readonly string[], edges: readonly ImportEdge[]): string[][] {
  const adj = new Map<string, string[]>();
  for (const f of files) adj.set(f, []);
  for (const e of edges) if (e.to && adj.has(e.to)) adj.get(e.from)?.push(e.to);
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const sccs: string[][] = [];
  // Iterative, so a deep import chain cannot overflow the call stack.
  for (const root of files) {
    if (idx.has(root)) continue;
    const work: Array<{ v: string; i: number }> = [{ v: root, i: 0 }];
    idx.set(root, index);
    low.set(root, index++);
    stack.push(root);
    onStack.add(root);
    while (work.length > 0) {
      const frame = work[work.length - 1];
      const next = adj.get(frame.v) ?? [];
      if (frame.i < next.length) {
        const w = next[frame.i++];
        if (!idx.has(w)) {
          idx.set(w, index);
          low.set(w, index++);
          stack.push(w);
          onStack.add(w);
          work.push({ v: w, i: 0 });
        } else if (onStack.has(w)) low.set(frame.v, Math.min(low.get(frame.v) ?? 0, idx.get(w) ?? 0));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.v, Math.min(low.get(parent.v) ?? 0, low.get(frame.v) ?? 0));
      if (low.get(frame.v) === idx.get(frame.v)) {
        const scc: string[] = [];
        let w: string | undefined;
        do {
          w = stack.pop();
          if (w === undefined) break;
          onStack.delete(w);
          scc.push(w);
        } while (w !== frame.v);
        const selfLoop = scc.length === 1 && (adj.get(scc[0]) ?? []).includes(scc[0]);
        if (scc.length > 1 || selfLoop) sccs.push(scc.sort());
      }
    }
  }
  return sccs;
}

/** The npm package an import specifier names (`@scope/pkg/sub` → `@scope/pkg`), or the node: builtin. */
export function packageOf(specifier: string): string {
  if (specifier.startsWith("node:")) return specifier;
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { TelcoError, ValidationError } from "../../platform/errors.ts";

/**
 * Versioned prompts: one Markdown file per prompt in ./templates with YAML front matter (name,
 * version, description, variables) and a template body. The body's sha256 identifies exactly what a
 * model was sent; every turn records `name@version#hash` (see docs/llmops/prompts.md).
 *
 * Template syntax (a small Mustache subset, written here because no template library is a
 * dependency and the prompts need only this):
 * - `{{name}}` — a variable; strings and numbers as is, objects and arrays as indented JSON;
 * - `{{#name}} … {{/name}}` — a list: the block once per item, item fields visible as `{{field}}`;
 *   a non-empty string / true / object: the block once; empty, false, null: nothing;
 * - `{{^name}} … {{/name}}` — the block only when `name` is empty, false or null.
 * A line holding only a section tag leaves no blank line. Sections of the same name do not nest.
 */

export const PROMPTS_DIR = join(import.meta.dirname, "templates");

export type PromptVars = Record<string, unknown>;

export interface PromptRef {
  name: string;
  version: string;
  /** sha256 (hex) of the template body, line endings normalised to \n. */
  hash: string;
}

export interface LoadedPrompt extends PromptRef {
  description: string;
  /** Declared variables and what each holds. */
  variables: Record<string, string>;
  /** The template body (without front matter). */
  template: string;
  /** `name@version#hash12`, what a turn records. */
  ref: string;
  /** Fills the template; throws naming any missing or undeclared variable. */
  render(vars?: PromptVars): string;
}

const SEMVER = /^\d+\.\d+\.\d+$/;

const frontMatterSchema = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9-]*$/, "lower-case letters, digits and dashes"),
    version: z.string({ error: "MAJOR.MINOR.PATCH as a quoted string" }).regex(SEMVER, "MAJOR.MINOR.PATCH"),
    description: z.string().min(1),
    variables: z.record(z.string().regex(/^[a-z_][a-z0-9_]*$/), z.string()).default({}),
  })
  .strict();

export function promptHash(template: string): string {
  return createHash("sha256").update(template, "utf8").digest("hex");
}

export function promptRef(p: PromptRef): string {
  return `${p.name}@${p.version}#${p.hash.slice(0, 12)}`;
}

/** Parses a prompt file's text; `file` names it in errors. */
export function parsePrompt(text: string, file: string): LoadedPrompt {
  const normalised = text.replace(/\r\n?/g, "\n");
  const m = /^---\n([\s\S]*?)\n---\n?([\s\S]*)$/.exec(normalised);
  if (!m) throw new ValidationError(file, "a prompt file starts with YAML front matter between --- lines");
  let raw: unknown;
  try {
    raw = parseYaml(m[1]);
  } catch (err) {
    throw new ValidationError(file, `front matter is not valid YAML: ${(err as Error).message}`);
  }
  const parsed = frontMatterSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ValidationError(`${file}: ${issue.path.join(".") || "front matter"}`, issue.message);
  }
  const fm = parsed.data;
  const template = m[2];
  const used = topLevelNames(template);
  const undeclared = [...used].filter((v) => !(v in fm.variables));
  if (undeclared.length)
    throw new ValidationError(file, `template uses undeclared variable(s) ${undeclared.join(", ")}`, {
      hint: "Declare every variable under `variables:` in the front matter.",
    });
  const unused = Object.keys(fm.variables).filter((v) => !used.has(v));
  if (unused.length)
    throw new ValidationError(file, `declared variable(s) ${unused.join(", ")} not used in the template`);
  const hash = promptHash(template);
  const prompt: LoadedPrompt = {
    name: fm.name,
    version: fm.version,
    hash,
    description: fm.description,
    variables: fm.variables,
    template,
    ref: promptRef({ name: fm.name, version: fm.version, hash }),
    render(vars = {}) {
      const missing = Object.keys(fm.variables).filter((v) => vars[v] === undefined);
      const extra = Object.keys(vars).filter((v) => !(v in fm.variables));
      if (missing.length || extra.length)
        throw new TelcoError(
          "prompt_variables",
          `prompt ${prompt.ref}: ${[
            missing.length ? `missing variable(s) ${missing.join(", ")}` : "",
            extra.length ? `unknown variable(s) ${extra.join(", ")}` : "",
          ]
            .filter(Boolean)
            .join("; ")}`,
          { hint: `Declared: ${Object.keys(fm.variables).join(", ") || "none"}.` },
        );
      return renderTemplate(template, [vars], prompt.ref);
    },
  };
  return prompt;
}

// Parsed prompts by file and content: the file is read on every load (a few small files per turn),
// so an edited prompt is picked up, and recorded, with its new hash.
const cache = new Map<string, LoadedPrompt>();

/** Loads `templates/<name>.md` from `dir`. */
export function loadPrompt(name: string, dir: string = PROMPTS_DIR): LoadedPrompt {
  const file = join(dir, `${name}.md`);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new TelcoError("prompt_not_found", `prompt "${name}" not found (${file})`, {
      hint: `Available: ${listPrompts(dir).join(", ") || "none"}.`,
    });
  }
  const key = `${file}\0${text}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const prompt = parsePrompt(text, file);
  if (prompt.name !== name)
    throw new ValidationError(file, `front matter name "${prompt.name}" must be "${name}"`);
  if (cache.size > 256) cache.clear();
  cache.set(key, prompt);
  return prompt;
}

export function listPrompts(dir: string = PROMPTS_DIR): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith(".md"))
      .map((f) => basename(f, ".md"))
      .sort();
  } catch {
    return [];
  }
}

export interface PromptPart {
  /** A prompt name (loaded from the templates folder) or an already loaded prompt. */
  prompt: string | LoadedPrompt;
  vars?: PromptVars;
}

export interface ComposedPrompt {
  text: string;
  /** `name@version#hash12` of each part, in order: what the turn's trace records. */
  refs: string[];
  prompts: PromptRef[];
}

/** Renders the parts and joins them with a blank line, keeping which versions were used. */
export function composePrompts(...parts: PromptPart[]): ComposedPrompt {
  const rendered = parts.map((part) => {
    const p = typeof part.prompt === "string" ? loadPrompt(part.prompt) : part.prompt;
    return { p, text: p.render(part.vars ?? {}).trim() };
  });
  return {
    text: rendered
      .map((r) => r.text)
      .filter(Boolean)
      .join("\n\n"),
    refs: rendered.map((r) => r.p.ref),
    prompts: rendered.map(({ p }) => ({ name: p.name, version: p.version, hash: p.hash })),
  };
}

// --- the template engine ---

// One pass over the template, sections and variables alike: values inserted are never scanned
// again, so a passage or a customer message containing "{{x}}" stays as written.
const TOKEN = /\{\{([#^])([a-z_][a-z0-9_]*)\}\}\n?([\s\S]*?)\{\{\/\2\}\}\n?|\{\{([a-z_][a-z0-9_]*)\}\}/g;

/** Names a template needs from its caller: variables and sections outside any section. */
function topLevelNames(template: string): Set<string> {
  const names = new Set<string>();
  for (const m of template.matchAll(TOKEN)) names.add(m[2] ?? m[4]);
  return names;
}

function lookup(scopes: PromptVars[], name: string): unknown {
  for (let i = scopes.length - 1; i >= 0; i--) if (name in scopes[i]) return scopes[i][name];
  return undefined;
}

function truthy(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  return v !== undefined && v !== null && v !== false && v !== "";
}

function renderTemplate(template: string, scopes: PromptVars[], ref: string): string {
  return template.replace(
    TOKEN,
    (
      _m,
      kind: string | undefined,
      section: string | undefined,
      body: string | undefined,
      name: string | undefined,
    ) => {
      if (section !== undefined && body !== undefined) {
        const value = lookup(scopes, section);
        if (kind === "^") return truthy(value) ? "" : renderTemplate(body, scopes, ref);
        if (!truthy(value)) return "";
        const items = Array.isArray(value) ? value : [value];
        return items
          .map((item) =>
            renderTemplate(
              body,
              typeof item === "object" && item !== null ? [...scopes, item as PromptVars] : scopes,
              ref,
            ),
          )
          .join("");
      }
      const value = lookup(scopes, name as string);
      if (value === undefined || value === null)
        throw new TelcoError("prompt_variables", `prompt ${ref}: no value for {{${name}}}`, {
          hint: "Inside a {{#list}} block every item needs the fields the block uses.",
        });
      return typeof value === "object" ? JSON.stringify(value, null, 2) : String(value);
    },
  );
}

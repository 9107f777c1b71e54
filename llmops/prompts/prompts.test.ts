import { createHash } from "node:crypto";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { commandSchema, FLOW_NAMES, SLOT_NAMES } from "../conversation/commands.ts";
import { composePrompts, listPrompts, loadPrompt, PROMPTS_DIR, parsePrompt } from "./loader.ts";
import {
  ARCHIVE_DIR,
  archivedVersions,
  checkArchive,
  checkLock,
  compareVersions,
  currentLock,
  LOCK_FILE,
  readLock,
  writeLock,
} from "./lock.ts";

const FILE = "test.md";
const prompt = (front: string, body: string) => parsePrompt(`---\n${front}\n---\n${body}`, FILE);

describe("prompt files", () => {
  it("the six prompts load with name, semver version, and the sha256 of their body", () => {
    expect(listPrompts()).toEqual([
      "command-generation",
      "judge",
      "phrasing",
      "rag-context",
      "rules",
      "system",
    ]);
    for (const name of listPrompts()) {
      const p = loadPrompt(name);
      const text = readFileSync(join(PROMPTS_DIR, `${name}.md`), "utf8");
      const body = text.slice(text.indexOf("\n---\n", 4) + 5);
      expect(p.name).toBe(name);
      expect(p.version).toMatch(/^\d+\.\d+\.\d+$/);
      expect(p.hash).toBe(createHash("sha256").update(body).digest("hex"));
      expect(p.ref).toBe(`${name}@${p.version}#${p.hash.slice(0, 12)}`);
    }
  });

  it("PROMPT LOCK: no prompt changed without a version bump (fix: bump `version`, run `node llmops/prompts/lock.ts`)", () => {
    const problems = [...checkLock(currentLock(), readLock()), ...checkArchive()];
    expect(problems.map((p) => p.message)).toEqual([]);
  });

  it("command-generation describes every flow, slot and command type of the command language", () => {
    const text = loadPrompt("command-generation").template;
    for (const flow of FLOW_NAMES) expect(text).toContain(`${flow}:`);
    for (const slot of SLOT_NAMES) expect(text).toMatch(new RegExp(`\\b${slot}\\b`));
    for (const option of commandSchema.options) expect(text).toContain(option.shape.type.value);
  });

  it("rules carry the non-negotiable business policies", () => {
    const rules = loadPrompt("rules").template;
    expect(rules).toMatch(/Never invent offers, prices/);
    expect(rules).toMatch(/Never obstruct a cancellation/);
    expect(rules).toMatch(/only from this conversation's tool results/);
    expect(rules).toMatch(/cite it with its id in square brackets/);
  });
});

describe("rendering", () => {
  it("fills variables and fails clearly on missing or unknown ones", () => {
    const system = loadPrompt("system");
    const text = system.render({ language: "en", customer_first_name: "Ana" });
    expect(text).toContain("Reply in en.");
    expect(text).toContain("first name is Ana");
    expect(system.render({ language: "pt-BR", customer_first_name: "" })).not.toContain("first name is");
    expect(() => system.render({ language: "en" })).toThrow(
      /prompt system@1\.\d+\.\d+#[0-9a-f]{12}: missing variable\(s\) customer_first_name/,
    );
    expect(() => system.render({ language: "en", customer_first_name: "", tone: "x" })).toThrow(
      /unknown variable\(s\) tone/,
    );
  });

  it("lists repeat per item; the inverted block renders only for an empty list", () => {
    const rag = loadPrompt("rag-context");
    const two = rag.render({
      question: "quanto custa a multa?",
      passages: [
        {
          id: "faq-fidelidade-multa",
          title: "Fidelidade e multa",
          section: "Multa",
          text: "A multa é proporcional.",
        },
        { id: "policy-elegibilidade", title: "Elegibilidade", section: "Regras", text: "Regra X." },
      ],
    });
    expect(two).toContain("[faq-fidelidade-multa] Fidelidade e multa — Multa\nA multa é proporcional.");
    expect(two).toContain("[policy-elegibilidade] Elegibilidade — Regras\nRegra X.");
    expect(two).not.toContain("No passage was found");
    const none = rag.render({ question: "q", passages: [] });
    expect(none).toContain("No passage was found");
    expect(none).not.toContain("[");
    expect(() => rag.render({ question: "q", passages: [{ id: "a", title: "t", text: "x" }] })).toThrow(
      /no value for \{\{section\}\}/,
    );
  });

  it("inserted values are never expanded again (a passage holding {{question}} stays as written)", () => {
    const out = loadPrompt("rag-context").render({
      question: "Q",
      passages: [{ id: "d", title: "t", section: "s", text: "ignore {{question}} and {{#x}}y{{/x}}" }],
    });
    expect(out).toContain("ignore {{question}} and {{#x}}y{{/x}}");
  });

  it("objects render as indented JSON", () => {
    const out = loadPrompt("phrasing").render({
      language: "pt-BR",
      customer_message: "quanto deu?",
      template_answer: "Sua fatura é de R$ 119,99.",
      tool_results: { get_invoice: { total_brl: 119.99 } },
    });
    expect(out).toContain('{\n  "get_invoice": {\n    "total_brl": 119.99\n  }\n}');
  });

  it("rejects malformed prompt files, naming the file and the problem", () => {
    expect(() => parsePrompt("no front matter", FILE)).toThrow(/test\.md: a prompt file starts with YAML/);
    expect(() => prompt("name: x\nversion: 1.0\ndescription: d", "b")).toThrow(
      /version: MAJOR\.MINOR\.PATCH as a quoted string/,
    );
    expect(() => prompt("name: x\nversion: 1.0.0\ndescription: d", "{{who}}")).toThrow(
      /undeclared variable\(s\) who/,
    );
    expect(() => prompt("name: x\nversion: 1.0.0\ndescription: d\nvariables:\n  who: w", "hi")).toThrow(
      /declared variable\(s\) who not used/,
    );
    expect(() => prompt("name: x\nversion: 1.0.0\ndescription: d\nextra: 1", "hi")).toThrow(/extra/);
    expect(() => loadPrompt("nope")).toThrow(/prompt "nope" not found.*\n?/);
  });
});

describe("composePrompts", () => {
  it("joins the parts in order and lists name@version#hash of each", () => {
    const c = composePrompts(
      { prompt: "system", vars: { language: "pt-BR", customer_first_name: "" } },
      { prompt: "rules" },
      { prompt: "rag-context", vars: { question: "q", passages: [] } },
    );
    const [system, rules, rag] = ["system", "rules", "rag-context"].map((n) => loadPrompt(n));
    expect(c.refs).toEqual([system.ref, rules.ref, rag.ref]);
    expect(c.prompts.map((p) => `${p.name}@${p.version}`)).toEqual([
      `system@${system.version}`,
      `rules@${rules.version}`,
      `rag-context@${rag.version}`,
    ]);
    expect(c.text.indexOf("You are Aurora")).toBe(0);
    expect(c.text.indexOf("Rules you must always follow")).toBeGreaterThan(c.text.indexOf("You are Aurora"));
    expect(c.text.indexOf("No passage was found")).toBeGreaterThan(c.text.indexOf("Rules you must"));
    expect(c.text).toContain("\n\nRules you must always follow");
  });
});

describe("prompt lock", () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  function copyPrompts() {
    dir = mkdtempSync(join(tmpdir(), "telco-prompts-"));
    const templates = join(dir, "templates");
    cpSync(PROMPTS_DIR, templates, { recursive: true });
    const lockFile = join(dir, "prompts.lock.json");
    cpSync(LOCK_FILE, lockFile);
    const archive = join(dir, "archive");
    cpSync(ARCHIVE_DIR, archive, { recursive: true });
    return { templates, lockFile, archive };
  }

  function edit(file: string, change: (s: string) => string) {
    writeFileSync(file, change(readFileSync(file, "utf8")));
  }

  it("a content change without a bump fails with how to fix it; the writer refuses to launder it", () => {
    const { templates, lockFile, archive } = copyPrompts();
    const rules = join(templates, "rules.md");
    edit(rules, (s) => s.replace("Never invent offers", "Do not invent offers"));
    const problems = checkLock(currentLock(templates), readLock(lockFile));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ prompt: "rules", kind: "changed_without_bump" });
    expect(problems[0].message).toMatch(/bump `version` in templates\/rules\.md/);
    expect(problems[0].message).toMatch(/node llmops\/prompts\/lock\.ts/);
    expect(writeLock(templates, lockFile, archive).map((p) => p.kind)).toEqual(["changed_without_bump"]);
    // The archive keeps the version's locked text; the edit is reported as not archived.
    expect(checkArchive(templates, archive).map((p) => p.prompt)).toEqual(["rules"]);
    expect(readLock(lockFile)).toEqual(readLock(LOCK_FILE));
  });

  it("after a bump the lock is stale until written; then it passes", () => {
    const { templates, lockFile, archive } = copyPrompts();
    const rules = join(templates, "rules.md");
    const old = loadPrompt("rules", templates).version;
    const [major, minor] = old.split(".").map(Number);
    const bumped = `${major}.${minor + 1}.0`;
    edit(rules, (s) =>
      s.replace(`version: ${old}`, `version: ${bumped}`).replace("Never invent", "Do not invent"),
    );
    expect(checkLock(currentLock(templates), readLock(lockFile)).map((p) => p.kind)).toEqual(["stale_lock"]);
    expect(checkArchive(templates, archive).map((p) => p.kind)).toEqual(["not_archived"]);
    expect(writeLock(templates, lockFile, archive)).toEqual([]);
    expect(readLock(lockFile).rules.version).toBe(bumped);
    expect(checkLock(currentLock(templates), readLock(lockFile))).toEqual([]);
    expect(checkArchive(templates, archive)).toEqual([]);
    // Both versions stay readable, oldest first: the old text and the new one.
    const versions = archivedVersions("rules", archive);
    expect(versions.map((v) => v.version)).toEqual([old, bumped]);
    expect(versions[0].text).toContain("Never invent");
    expect(versions[1].text).toBe(readFileSync(rules, "utf8"));
  });

  it("versions never go backwards; new and removed prompts need a lock update", () => {
    const { templates } = copyPrompts();
    const now = currentLock(templates);
    const locked = { ...now };
    expect(
      checkLock({ ...now, rules: { ...now.rules, version: "0.0.1", hash: "x" } }, locked).map((p) => p.kind),
    ).toEqual(["version_backwards"]);
    const { rules: _dropped, ...withoutRules } = now;
    expect(checkLock(withoutRules, locked).map((p) => p.kind)).toEqual(["removed"]);
    expect(
      checkLock({ ...now, greeting: { version: "1.0.0", hash: "h" } }, locked).map((p) => p.kind),
    ).toEqual(["not_locked"]);
    expect(compareVersions("1.10.0", "1.9.9")).toBe(1);
    expect(compareVersions("2.0.0", "2.0.0")).toBe(0);
  });
});

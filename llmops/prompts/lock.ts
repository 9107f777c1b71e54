import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { listPrompts, loadPrompt, PROMPTS_DIR } from "./loader.ts";

/**
 * prompts.lock.json pins each prompt's version to its content hash, so a content change without a
 * version bump fails the tests. After editing a prompt: bump `version` in its front matter, then run
 *   node llmops/prompts/lock.ts          (writes the lock; refuses while a change lacks a bump)
 *   node llmops/prompts/lock.ts --check  (exit 1 on any problem, what CI runs through the test)
 * Writing the lock also archives each version's text as archive/NAME@VERSION.md, so every version a
 * turn may have recorded stays readable (and diffable in the portal) where there is no git history,
 * e.g. in the container image.
 */

export const LOCK_FILE = join(import.meta.dirname, "prompts.lock.json");
export const ARCHIVE_DIR = join(import.meta.dirname, "archive");

export type PromptLock = Record<string, { version: string; hash: string }>;

export interface LockProblem {
  prompt: string;
  kind:
    | "changed_without_bump"
    | "version_backwards"
    | "not_locked"
    | "stale_lock"
    | "removed"
    | "not_archived";
  message: string;
}

const UPDATE = "run `node llmops/prompts/lock.ts` to update prompts.lock.json";

export function readLock(file = LOCK_FILE): PromptLock {
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as PromptLock) : {};
}

/** The prompts as they are on disk, in lock form. */
export function currentLock(dir = PROMPTS_DIR): PromptLock {
  const lock: PromptLock = {};
  for (const name of listPrompts(dir)) {
    const p = loadPrompt(name, dir);
    lock[name] = { version: p.version, hash: p.hash };
  }
  return lock;
}

/** -1, 0, 1 for MAJOR.MINOR.PATCH strings (validated by the loader). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pa[i] < pb[i] ? -1 : 1;
  return 0;
}

export function checkLock(current: PromptLock, locked: PromptLock): LockProblem[] {
  const problems: LockProblem[] = [];
  for (const [name, now] of Object.entries(current)) {
    const was = locked[name];
    if (!was) {
      problems.push({
        prompt: name,
        kind: "not_locked",
        message: `prompt ${name}@${now.version} is new: ${UPDATE}`,
      });
      continue;
    }
    const order = compareVersions(now.version, was.version);
    if (now.hash !== was.hash && order === 0)
      problems.push({
        prompt: name,
        kind: "changed_without_bump",
        message: `prompt ${name} changed but its version is still ${was.version}: bump \`version\` in templates/${name}.md (patch: wording only; minor: instructions added or changed; major: variables or the expected output changed), then ${UPDATE}`,
      });
    else if (order < 0)
      problems.push({
        prompt: name,
        kind: "version_backwards",
        message: `prompt ${name} went from ${was.version} back to ${now.version}: versions only increase`,
      });
    else if (order > 0 || now.hash !== was.hash)
      problems.push({
        prompt: name,
        kind: "stale_lock",
        message: `prompt ${name} is ${now.version} but the lock says ${was.version}: ${UPDATE}`,
      });
  }
  for (const name of Object.keys(locked))
    if (!current[name])
      problems.push({
        prompt: name,
        kind: "removed",
        message: `prompt ${name} is locked but has no file: ${UPDATE}`,
      });
  return problems;
}

const archiveFile = (archiveDir: string, name: string, version: string) =>
  join(archiveDir, `${name}@${version}.md`);

/** Archived versions of one prompt, oldest first: `{ version, text }`. */
export function archivedVersions(
  name: string,
  archiveDir = ARCHIVE_DIR,
): { version: string; text: string }[] {
  if (!existsSync(archiveDir)) return [];
  const prefix = `${name}@`;
  return readdirSync(archiveDir)
    .filter((f) => f.startsWith(prefix) && f.endsWith(".md"))
    .map((f) => ({ version: f.slice(prefix.length, -3), text: readFileSync(join(archiveDir, f), "utf8") }))
    .filter((v) => /^\d+\.\d+\.\d+$/.test(v.version))
    .sort((a, b) => compareVersions(a.version, b.version));
}

/** Every current prompt version must be archived with exactly the template's text. */
export function checkArchive(dir = PROMPTS_DIR, archiveDir = ARCHIVE_DIR): LockProblem[] {
  const problems: LockProblem[] = [];
  for (const name of listPrompts(dir)) {
    const p = loadPrompt(name, dir);
    const file = archiveFile(archiveDir, name, p.version);
    const text = readFileSync(join(dir, `${name}.md`), "utf8");
    if (!existsSync(file) || readFileSync(file, "utf8") !== text)
      problems.push({
        prompt: name,
        kind: "not_archived",
        message: `prompt ${name}@${p.version} is not in the archive (or differs from it): ${UPDATE}`,
      });
  }
  return problems;
}

/**
 * Writes the lock from the files and archives each current version; refuses (returns the blocking
 * problems) while a change lacks a bump.
 */
export function writeLock(dir = PROMPTS_DIR, file = LOCK_FILE, archiveDir = ARCHIVE_DIR): LockProblem[] {
  const current = currentLock(dir);
  const blocking = checkLock(current, readLock(file)).filter(
    (p) => p.kind === "changed_without_bump" || p.kind === "version_backwards",
  );
  if (blocking.length) return blocking;
  const sorted = Object.fromEntries(Object.entries(current).sort(([a], [b]) => a.localeCompare(b)));
  writeFileSync(file, `${JSON.stringify(sorted, null, 2)}\n`);
  mkdirSync(archiveDir, { recursive: true });
  for (const [name, { version }] of Object.entries(current))
    writeFileSync(archiveFile(archiveDir, name, version), readFileSync(join(dir, `${name}.md`), "utf8"));
  return [];
}

if (import.meta.main) {
  const check = process.argv.includes("--check");
  const problems = check ? [...checkLock(currentLock(), readLock()), ...checkArchive()] : writeLock();
  for (const p of problems) console.error(p.message);
  if (problems.length) process.exit(1);
  if (!check) console.log(`wrote ${LOCK_FILE}`);
}

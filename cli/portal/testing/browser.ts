/**
 * What the portal's browser tests share: Debian's Chromium (playwright never downloads one), a
 * headless persistent context in a throw-away profile, and the axe-core check.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";
/**
 * The browser tests skip (and say so in their title) where the package is not installed, except under
 * CI: `.ci/run` installs it, so there a missing Chromium fails them instead of hiding them.
 */
export const HAS_CHROMIUM = existsSync(CHROMIUM) || Boolean(process.env.CI);
/** Where the tests save the screenshots docs/portal.md shows. */
export const SHOTS = join(import.meta.dirname, "../../../docs/portal");

/** Headless Chromium in a fresh profile; `close` also removes the profile. */
export async function launchBrowser(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profileDir = mkdtempSync(join(tmpdir(), "telco-chromium-"));
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: { width: 1280, height: 900 },
    locale: "pt-BR",
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profileDir, { recursive: true, force: true });
    },
  };
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/** Serious or critical axe-core violations on the page as it is now (rule id, impact, first nodes). */
export async function axeViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ content: axeSource });
  const result = (await page.evaluate(() =>
    (globalThis as unknown as { axe: { run(): Promise<unknown> } }).axe.run(),
  )) as { violations: { id: string; impact: string; nodes: unknown[] }[] };
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map(
      (v) =>
        `${v.id} (${v.impact}): ${JSON.stringify(v.nodes.map((n) => (n as { html: string }).html).slice(0, 3))}`,
    );
}

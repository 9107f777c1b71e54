import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The portal's sources (portal/) and where Vite writes the build (portal/dist, not committed). */
export const PORTAL_DIR = fileURLToPath(new URL("../../portal/", import.meta.url));
export const PORTAL_DIST = join(PORTAL_DIR, "dist");
const STAMP = ".source-hash";

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]))
    .sort();
}

/** Content hash of everything the build reads: the app sources, index.html, the Vite config. */
export function portalSourceHash(): string {
  const h = createHash("sha256");
  for (const f of [
    join(PORTAL_DIR, "index.html"),
    join(PORTAL_DIR, "vite.config.ts"),
    ...files(join(PORTAL_DIR, "src")),
  ]) {
    h.update(f.slice(PORTAL_DIR.length));
    h.update("\0");
    h.update(readFileSync(f));
  }
  return h.digest("hex").slice(0, 32);
}

export function portalBuildIsFresh(): boolean {
  const stamp = join(PORTAL_DIST, STAMP);
  return (
    existsSync(join(PORTAL_DIST, "index.html")) &&
    existsSync(stamp) &&
    readFileSync(stamp, "utf8").trim() === portalSourceHash()
  );
}

/**
 * Builds the portal with Vite when the build is missing or older than the sources (a content-hash
 * stamp in the build folder); `force` always builds. Returns whether it built.
 */
export async function ensurePortalBuilt(
  opts: { force?: boolean } = {},
): Promise<{ built: boolean; ms: number }> {
  const started = performance.now();
  if (!opts.force && portalBuildIsFresh()) return { built: false, ms: 0 };
  const hash = portalSourceHash();
  // Vite is a dev dependency: an install without it serves the last build (or the "not built" page).
  const vite = await import("vite");
  await vite.build({ configFile: join(PORTAL_DIR, "vite.config.ts"), logLevel: "warn" });
  writeFileSync(join(PORTAL_DIST, STAMP), `${hash}\n`);
  return { built: true, ms: Math.round(performance.now() - started) };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const r = await ensurePortalBuilt({ force: process.argv.includes("--force") });
  console.log(
    r.built
      ? `portal built into ${PORTAL_DIST} in ${r.ms} ms`
      : `portal build is up to date (${PORTAL_DIST})`,
  );
}

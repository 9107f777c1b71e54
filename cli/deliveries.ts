import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { runLabel } from "../mlops/simulator/generate.ts";
import type { AppContext } from "../platform/context.ts";

/** The synthetic delivery `telco up` builds from config defaults (data.generate). */
export function defaultDeliveryDir(app: AppContext): string {
  const g = app.config.data.generate;
  return join(
    app.paths.home,
    "deliveries",
    "synthetic",
    runLabel({ customers: g.customers, months: g.months, seed: g.seed, dirtyRate: g.dirtyRate }),
  );
}

/**
 * The delivery the systems are seeded from by default: the config's default delivery when it was
 * generated, else the most recently generated synthetic delivery of the workspace, else undefined.
 */
export function latestSyntheticDelivery(app: AppContext): string | undefined {
  const preferred = defaultDeliveryDir(app);
  if (existsSync(join(preferred, "manifest.json"))) return preferred;
  const root = join(app.paths.home, "deliveries", "synthetic");
  if (!existsSync(root)) return undefined;
  let best: { dir: string; mtime: number } | undefined;
  for (const name of readdirSync(root)) {
    const manifest = join(root, name, "manifest.json");
    if (!existsSync(manifest)) continue;
    const mtime = statSync(manifest).mtimeMs;
    if (!best || mtime > best.mtime) best = { dir: join(root, name), mtime };
  }
  return best?.dir;
}

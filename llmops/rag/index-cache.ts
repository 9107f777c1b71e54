import { statSync } from "node:fs";
import { join } from "node:path";
import { currentVersion } from "./store.ts";

/** How often (ms) a cached index re-checks its CURRENT pointer with one stat call. */
export const INDEX_RECHECK_MS = 1000;

interface Entry<T> {
  value: T;
  version: string | undefined;
  /** inode, size and mtime of CURRENT when it was last read ("" when absent). */
  stamp: string;
  checkedAt: number;
}

/** inode + size + mtime: the atomic rename of a new CURRENT always yields a new inode. */
function pointerStamp(dir: string): string {
  const st = statSync(join(dir, "CURRENT"), { throwIfNoEntry: false });
  return st ? `${st.ino}:${st.size}:${st.mtimeMs}` : "";
}

/**
 * One opened index per index folder, kept while its CURRENT pointer does not move. Searches within
 * `recheckMs` of the last check use the cached index with no file I/O; after that one `stat` of
 * CURRENT decides, and only a changed pointer is read and the new version opened. Concurrent callers
 * share one open. Readers see the old version or the new one, never a mix (an index is loaded whole).
 */
export class IndexCache<T> {
  readonly #entries = new Map<string, Entry<T>>();
  readonly #opening = new Map<string, Promise<Entry<T>>>();
  readonly #recheckMs: number;
  readonly #now: () => number;
  readonly #versionOf: ((value: T) => string | undefined) | undefined;

  /** `versionOf`: the version an opened value actually holds (the pointer may move while opening). */
  constructor(
    opts: { recheckMs?: number; now?: () => number; versionOf?: (value: T) => string | undefined } = {},
  ) {
    this.#recheckMs = opts.recheckMs ?? INDEX_RECHECK_MS;
    this.#now = opts.now ?? Date.now;
    this.#versionOf = opts.versionOf;
  }

  async get(dir: string, open: (version: string | undefined) => Promise<T>): Promise<T> {
    const now = this.#now();
    const hit = this.#entries.get(dir);
    if (hit && now - hit.checkedAt < this.#recheckMs) return hit.value;
    const stamp = pointerStamp(dir);
    if (hit && stamp === hit.stamp) {
      hit.checkedAt = now;
      return hit.value;
    }
    const pending = this.#opening.get(dir);
    if (pending) return (await pending).value;
    const p = (async (): Promise<Entry<T>> => {
      const version = await currentVersion(dir);
      // The pointer file was replaced but names the same version (e.g. rewritten): keep the index.
      const value = hit && version === hit.version ? hit.value : await open(version);
      const entry = { value, version: this.#versionOf?.(value) ?? version, stamp, checkedAt: this.#now() };
      this.#entries.set(dir, entry);
      return entry;
    })();
    this.#opening.set(dir, p);
    try {
      return (await p).value;
    } finally {
      this.#opening.delete(dir);
    }
  }

  /**
   * The next get of this folder re-reads its pointer now (e.g. after this process flipped it); the
   * cached index is kept only if the pointer still names its version.
   */
  invalidate(dir: string): void {
    const e = this.#entries.get(dir);
    if (e) {
      e.checkedAt = Number.NEGATIVE_INFINITY;
      e.stamp = "\u0000stale";
    }
  }

  /** Forces the next get of every folder to stat its pointer now. */
  expire(): void {
    for (const e of this.#entries.values()) e.checkedAt = Number.NEGATIVE_INFINITY;
  }
}

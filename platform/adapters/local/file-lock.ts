import { randomUUID } from "node:crypto";
import { linkSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { TelcoError } from "../../errors.ts";
import { processAlive } from "../../process.ts";

interface LockOwner {
  pid: number;
  host: string;
  token: string;
  at: string;
}

/** In-process queue per lock path: the file lock alone cannot order two callers of one process. */
const localQueues = new Map<string, Promise<unknown>>();

function readOwner(path: string): LockOwner | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as LockOwner;
  } catch {
    return undefined;
  }
}

/**
 * Runs `fn` while holding an exclusive lock file created with O_EXCL (`wx`), so promotions and
 * version publication are serialised across processes. A lock whose owner pid is dead (same
 * host) is stale: it is moved aside atomically (rename) and the wait continues.
 */
export async function withFileLock<T>(
  path: string,
  fn: () => Promise<T>,
  opts: { timeoutMs?: number } = {},
): Promise<T> {
  const previous = localQueues.get(path) ?? Promise.resolve();
  const run = previous.catch(() => undefined).then(() => withCrossProcessLock(path, fn, opts));
  const tail = run.catch(() => undefined);
  localQueues.set(path, tail);
  try {
    return await run;
  } finally {
    if (localQueues.get(path) === tail) localQueues.delete(path);
  }
}

async function withCrossProcessLock<T>(
  path: string,
  fn: () => Promise<T>,
  opts: { timeoutMs?: number },
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const me: LockOwner = {
    pid: process.pid,
    host: hostname(),
    token: randomUUID(),
    at: new Date().toISOString(),
  };
  const deadline = Date.now() + timeoutMs;
  let delay = 5;
  for (;;) {
    if (tryCreateLock(path, me)) break;
    const owner = readOwner(path);
    if (owner && owner.host === me.host && !processAlive(owner.pid)) {
      breakStaleLock(path, owner);
      continue;
    }
    if (!owner && unreadableFor(path) > UNREADABLE_GRACE_MS) {
      // An empty or torn lock file (a crash of an older version between creating and writing it):
      // its holder is unknowable, and a lock is never unreadable for long, so it is broken.
      breakStaleLock(path, undefined);
      continue;
    }
    if (Date.now() > deadline) {
      throw new TelcoError("lock_timeout", `could not take the lock ${path} within ${timeoutMs} ms`, {
        hint: owner
          ? `Held by pid ${owner.pid} on ${owner.host} since ${owner.at}; wait for it or remove the file if that process is gone.`
          : "Another process holds it; try again.",
      });
    }
    await sleep(delay);
    delay = Math.min(delay * 2, 100);
  }
  try {
    return await fn();
  } finally {
    // Only remove the lock if it is still ours (it may have been broken as stale by mistake).
    if (readOwner(path)?.token === me.token) {
      try {
        unlinkSync(path);
      } catch {
        // already gone
      }
    }
  }
}

/** A lock file that cannot be parsed is broken after this long (a live writer fills it at creation). */
const UNREADABLE_GRACE_MS = 2000;

/**
 * Creates the lock with its owner already inside: the owner is written to a private file that is then
 * hard-linked to the lock path. link() fails if the path exists and never exposes an empty lock, so a
 * crash at any point leaves either no lock or a complete one (plus a stray private file, removed here).
 */
function tryCreateLock(path: string, me: LockOwner): boolean {
  const mine = `${path}.${me.token}.tmp`;
  writeFileSync(mine, JSON.stringify(me), { mode: 0o600 });
  try {
    linkSync(mine, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    return false;
  } finally {
    unlinkQuietly(mine);
  }
}

/** How long the lock file has existed without a readable owner (0 if it is gone or readable). */
function unreadableFor(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

/** Moves a dead owner's lock aside; if the moved file turns out to be a fresh lock, nothing is lost but its name. */
function breakStaleLock(path: string, stale: LockOwner | undefined): void {
  const aside = `${path}.stale-${process.pid}-${randomUUID()}`;
  try {
    renameSync(path, aside);
  } catch {
    return; // someone else broke or released it first
  }
  const moved = readOwner(aside);
  if (moved && moved.token !== stale?.token) {
    // A live process took the lock between our read and rename: give it back.
    try {
      linkSync(aside, path); // link, unlike rename, never replaces a lock taken meanwhile
    } catch {
      // ignore: the owner's release checks its token
    }
    unlinkQuietly(aside);
    return;
  }
  unlinkQuietly(aside);
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

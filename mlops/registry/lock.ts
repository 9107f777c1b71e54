import { randomUUID } from "node:crypto";
import { closeSync, linkSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { TelcoError } from "../../platform/errors.ts";

interface LockOwner {
  pid: number;
  host: string;
  token: string;
  at: string;
}

/** In-process queue per lock path: the file lock alone cannot order two callers of one process. */
const localQueues = new Map<string, Promise<unknown>>();

/** True when `pid` names a live process on this machine (EPERM means alive but not ours). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

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
    try {
      const fd = openSync(path, "wx");
      try {
        writeSync(fd, JSON.stringify(me));
      } finally {
        closeSync(fd);
      }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const owner = readOwner(path);
    if (owner && owner.host === me.host && !processAlive(owner.pid)) {
      breakStaleLock(path, owner);
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

/** Moves a dead owner's lock aside; if the moved file turns out to be a fresh lock, nothing is lost but its name. */
function breakStaleLock(path: string, stale: LockOwner): void {
  const aside = `${path}.stale-${process.pid}-${randomUUID()}`;
  try {
    renameSync(path, aside);
  } catch {
    return; // someone else broke or released it first
  }
  const moved = readOwner(aside);
  if (moved && moved.token !== stale.token) {
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

import { Cron } from "croner";
import { UsageError } from "../../platform/errors.ts";

/** Validates a cron expression (5 fields, or 6 with seconds) and returns the next run time. */
export function nextRun(cron: string, timezone?: string): Date {
  let job: Cron;
  try {
    job = new Cron(cron, { paused: true, timezone });
  } catch (err) {
    throw new UsageError(
      `--cron "${cron}" is not a valid cron expression (${err instanceof Error ? err.message : String(err)})`,
      {
        hint: 'Example: --cron "0 3 * * 1" (Mondays 03:00).',
      },
    );
  }
  const next = job.nextRun();
  job.stop();
  if (!next) throw new UsageError(`--cron "${cron}" never fires`);
  return next;
}

/**
 * Runs `fire` on a cron while this process lives (local scheduler). Overlapping runs are
 * skipped (croner `protect`). Resolves after `maxRuns` runs, or when `signal` aborts.
 */
export function scheduleLocal(
  cron: string,
  fire: () => Promise<void>,
  opts: { maxRuns?: number; timezone?: string; signal?: AbortSignal } = {},
): Promise<number> {
  nextRun(cron, opts.timezone);
  return new Promise((resolve) => {
    let runs = 0;
    const job = new Cron(cron, { protect: true, timezone: opts.timezone }, async () => {
      try {
        await fire();
      } finally {
        runs++;
        if (opts.maxRuns !== undefined && runs >= opts.maxRuns) {
          job.stop();
          resolve(runs);
        }
      }
    });
    opts.signal?.addEventListener("abort", () => {
      job.stop();
      resolve(runs);
    });
  });
}

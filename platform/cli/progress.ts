import cliProgress from "cli-progress";

/** Progress for long work: a bar on a TTY, occasional lines elsewhere, nothing when disabled. */
export interface Progress {
  /** Advance by n units (default 1). */
  tick(n?: number): void;
  /** Set the absolute position (and optionally a new total). */
  update(value: number, total?: number): void;
  /** A named step finished (for step lists). */
  step(message: string): void;
  done(message?: string): void;
}

export function createProgress(
  label: string,
  total: number | undefined,
  opts: { enabled: boolean },
): Progress {
  if (!opts.enabled) return { tick() {}, update() {}, step() {}, done() {} };
  const tty = Boolean(process.stderr.isTTY);
  const started = Date.now();
  if (tty && total !== undefined && total > 0) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} [{bar}] {percentage}% | {value}/{total} | eta {eta_formatted}`,
        stream: process.stderr,
        hideCursor: true,
        clearOnComplete: false,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0);
    let value = 0;
    return {
      tick(n = 1) {
        value += n;
        bar.update(value);
      },
      update(v, t) {
        value = v;
        if (t !== undefined) bar.setTotal(t);
        bar.update(v);
      },
      step(message) {
        bar.stop();
        process.stderr.write(`  ✓ ${message}\n`);
        bar.start(bar.getTotal(), value);
      },
      done(message) {
        bar.update(bar.getTotal());
        bar.stop();
        if (message) process.stderr.write(`${message} (${elapsed(started)})\n`);
      },
    };
  }
  // Not a TTY (CI logs, pipes): a line per step and at most one progress line every 5 s.
  let value = 0;
  let lastLine = Date.now();
  const maybeLine = () => {
    if (Date.now() - lastLine < 5000) return;
    lastLine = Date.now();
    process.stderr.write(`${label}: ${value}${total ? `/${total}` : ""} (${elapsed(started)})\n`);
  };
  return {
    tick(n = 1) {
      value += n;
      maybeLine();
    },
    update(v, t) {
      value = v;
      if (t !== undefined) total = t;
      maybeLine();
    },
    step(message) {
      process.stderr.write(`  ✓ ${message}\n`);
    },
    done(message) {
      if (message) process.stderr.write(`${message} (${elapsed(started)})\n`);
    },
  };
}

function elapsed(since: number): string {
  const ms = Date.now() - since;
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/**
 * What the assistant and tool benchmarks share: percentiles, rounding, CPU time of a process, the
 * sandbox server in a child process, and how contended the machine was while a phase ran (the benches
 * run on small shared machines, where wall times mean little without it).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

/** Linux USER_HZ: /proc CPU times are in 10 ms ticks. */
const CLK_TCK_US = 10_000;
const SERVER_SCRIPT = fileURLToPath(new URL("../platform/sandbox/server.ts", import.meta.url));

/** Nearest-rank percentile (p in 0–100) of unsorted values; NaN when there are none. */
export function pct(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export const r2 = (x: number): number => Math.round(x * 100) / 100;
export const r3 = (x: number): number => Math.round(x * 1000) / 1000;

/** user + system CPU of a process in µs from /proc (10 ms ticks), or null (not Linux, gone). */
export function procCpuUs(pid: number | undefined): number | null {
  if (!pid) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name may hold spaces and parentheses: fields start after the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * CLK_TCK_US;
  } catch {
    return null;
  }
}

/** Busy and total CPU time of the whole machine in µs (/proc/stat), or null. */
function machineCpuUs(): { busy: number; total: number } | null {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0];
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already counted in user).
    const [user, nice, system, idle, iowait, irq, softirq, steal] = f;
    const busy = user + nice + system + irq + softirq + (steal ?? 0);
    return { busy: busy * CLK_TCK_US, total: (busy + idle + (iowait ?? 0)) * CLK_TCK_US };
  } catch {
    return null;
  }
}

/** How contended the machine was over a phase: what other processes took, the load, a spin probe. */
export interface Contention {
  cpus: number;
  loadavg_1m: [number, number];
  /** Cores' worth of CPU other processes used during the phase (0 – cpus); null off Linux. */
  other_processes_cores: number | null;
  /** Of the machine's CPU capacity, the share other processes used (0–1). */
  other_processes_share: number | null;
  /**
   * Wall over CPU time of a fixed 20 ms busy loop run at the start and the end: 1.0 on an idle core,
   * ~2 when this process got half a core.
   */
  spin_wall_over_cpu: [number, number];
}

function spinProbe(): number {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let x = 0;
  while (performance.now() - t0 < 20) x += Math.sqrt(x + 1);
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const cpu = (c.user + c.system) / 1000;
  return x > 0 && cpu > 0 ? r2(wall / cpu) : Number.NaN;
}

/**
 * Starts measuring contention; `stop()` returns it for the span between. `ownPids` are this bench's
 * processes (itself and its children): their CPU is not "other processes".
 */
export function contention(ownPids: () => (number | undefined)[]): { stop(): Contention } {
  const spin0 = spinProbe();
  const load0 = loadavg()[0] ?? 0;
  const m0 = machineCpuUs();
  const own = () => ownPids().reduce<number>((a, pid) => a + (procCpuUs(pid) ?? 0), 0);
  const o0 = own();
  const t0 = performance.now();
  return {
    stop() {
      const wallUs = (performance.now() - t0) * 1000;
      const m1 = machineCpuUs();
      const o1 = own();
      const n = cpus().length;
      let others: number | null = null;
      if (m0 && m1 && wallUs > 0) others = Math.max(0, (m1.busy - m0.busy - (o1 - o0)) / wallUs);
      return {
        cpus: n,
        loadavg_1m: [r2(load0), r2(loadavg()[0] ?? 0)],
        other_processes_cores: others === null ? null : r2(others),
        other_processes_share: others === null ? null : r2(Math.min(1, others / n)),
        spin_wall_over_cpu: [spin0, spinProbe()],
      };
    },
  };
}

/** The operator sandbox server (as `telco systems serve` runs it) in a child process on a free port. */
export async function startSandboxChild(storePath: string): Promise<{ child: ChildProcess; url: string }> {
  const code = `import { startSandboxServer } from ${JSON.stringify(SERVER_SCRIPT)};
const s = await startSandboxServer({ path: ${JSON.stringify(storePath)}, port: 0 });
process.stdout.write(JSON.stringify({ url: s.url }) + "\\n");
process.on("SIGTERM", async () => { await s.close(); process.exit(0); });`;
  const child = spawn(process.execPath, ["--no-memory-reducer", "--input-type=module", "-e", code], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let buf = "";
    child.stdout?.on("data", (d: Buffer) => {
      buf += d.toString();
      if (!buf.includes("\n")) return;
      try {
        resolve((JSON.parse(buf.split("\n")[0]) as { url: string }).url);
      } catch (err) {
        reject(err);
      }
    });
    child.on("exit", (c) => reject(new Error(`sandbox server exited with ${c}`)));
  });
  return { child, url };
}

/** Stops a child started by startSandboxChild (and waits for it). */
export async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
}

type ArgSpec = NonNullable<Parameters<typeof parseArgs>[0]>["options"];

/**
 * `parseArgs` for a bench script: `--help` prints the script's usage (its header comment's first
 * paragraph, passed in) and exits 0; an unknown or malformed option prints the error and the usage and
 * exits 2 instead of a stack trace. Numeric options are checked by `numberArg`.
 */
export function benchArgs<O extends ArgSpec>(options: O, usage: string) {
  try {
    const parsed = parseArgs({ options: { ...options, help: { type: "boolean" } }, strict: true });
    if ((parsed.values as { help?: boolean }).help) {
      process.stdout.write(`${usage.trim()}\n`);
      process.exit(0);
    }
    return parsed.values as ReturnType<typeof parseArgs<{ options: O }>>["values"];
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n\n${usage.trim()}\n`);
    process.exit(2);
  }
}

/** A positive number option, or exit 2 naming it. */
export function numberArg(name: string, value: string | undefined, min = 1): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < min) {
    process.stderr.write(`--${name} must be a number ≥ ${min} (got ${JSON.stringify(value)})\n`);
    process.exit(2);
  }
  return n;
}

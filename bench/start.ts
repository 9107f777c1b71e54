/**
 * Fresh bring-up benchmark: `telco up` (what `npm start` runs) on an empty workspace, from process start
 * to the first answered churn prediction. Reports each phase's wall time as `telco up` prints it, the
 * time until the API listens, until /readyz answers 200 and until the first POST /v1/churn/predict
 * answers, next to anchors measured in the same run on the same machine:
 *   - `node -e 0`: bare process start (what any command pays);
 *   - `telco data generate` of the same population (the simulator alone, process start included).
 *
 *   npm run bench:start -- [--customers N] [--months M] [--rounds N] [--bin PATH] [--compare PATH] [--keep]
 *
 * `--bin` runs another checkout's bin/telco.ts. `--compare PATH` also runs that one (e.g. a copy of
 * the tree before a change: `git archive` into a folder, node_modules linked) in A B B A order per
 * pair of rounds, so both see the same machine; the JSON then holds the medians of both and their
 * ratio. Each round has its own anchors. Prints one JSON document; progress lines go to stderr.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { benchArgs, contention, numberArg, r2 } from "./common.ts";

const USAGE = `npm run bench:start -- [--customers N] [--months M] [--rounds N] [--bin PATH] [--compare PATH] [--keep]
Fresh \`telco up\` (npm start) on an empty workspace: seconds per phase, to listening, to ready and to the
first churn prediction, against \`node -e 0\` and \`telco data generate\` measured in the same run.`;

const values = benchArgs(
  {
    customers: { type: "string", default: "5000" },
    months: { type: "string", default: "12" },
    bin: { type: "string", default: fileURLToPath(new URL("../bin/telco.ts", import.meta.url)) },
    compare: { type: "string" },
    rounds: { type: "string", default: "1" },
    keep: { type: "boolean", default: false },
  },
  USAGE,
);
const customers = numberArg("customers", values.customers);
const months = numberArg("months", values.months);
const rounds = numberArg("rounds", values.rounds);
const BIN = values.bin as string;
const COMPARE = values.compare as string | undefined;
const NODE_FLAGS = ["--no-memory-reducer"];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

const seconds = (ms: number): number => r2(ms / 1000);

function timed(args: string[], env: NodeJS.ProcessEnv): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { env, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return performance.now() - t0;
}

const root = mkdtempSync(join(tmpdir(), "telco-bench-start-"));
const baseEnv: NodeJS.ProcessEnv = {
  ...process.env,
  NO_COLOR: "1",
  TELCO_DATA__GENERATE__CUSTOMERS: String(customers),
  TELCO_DATA__GENERATE__MONTHS: String(months),
};
let up: ChildProcess | undefined;

/** One fresh bring-up of `bin` in its own workspace under root/name, with its anchors just before. */
async function bringUp(bin: string, name: string) {
  // Anchors first, on their own workspace (the simulator's output is not reused by `up`).
  const nodeStartMs = timed(["-e", "0"], baseEnv);
  const generateMs = timed(
    [
      ...NODE_FLAGS,
      bin,
      "data",
      "generate",
      "--customers",
      String(customers),
      "--months",
      String(months),
      "--seed",
      "42",
      "--json",
    ],
    { ...baseEnv, TELCO_HOME: join(root, name, "anchor") },
  );
  const home = join(root, name, "home");
  const port = await freePort();
  const env = { ...baseEnv, TELCO_HOME: home, PORT: String(port), TELCO_LOG_LEVEL: "warn" };
  const load0 = loadavg()[0] ?? 0;
  const t0 = performance.now();
  up = spawn(process.execPath, [...NODE_FLAGS, bin, "up"], { env, stdio: ["ignore", "pipe", "pipe"] });
  const child = up;
  const probe = contention(() => [process.pid, child.pid]);
  const phases: { phase: string; at_seconds: number; printed_seconds?: number }[] = [];
  const steps: { step: string; status: string; seconds: number }[] = [];
  let stderr = "";
  let listening = 0;
  const address = await new Promise<string>((resolve, reject) => {
    let pending = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      const text = chunk.toString();
      stderr += text;
      pending += text;
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      const at = performance.now() - t0;
      for (const line of lines) {
        process.stderr.write(`[bench:start ${name} ${seconds(at).toFixed(1)} s] ${line}\n`);
        const started = /^▸ ([\w-]+)/.exec(line);
        if (started) phases.push({ phase: `start ${started[1]}`, at_seconds: seconds(at) });
        // "  ✓ summary (12.3 s)", or "  ✓ name: summary (12.3 s)" for a step of the worker thread.
        const done = /^\s+✓ (?:([\w-]+): )?.*\((\d+(?:\.\d+)?) s\)\s*$/.exec(line);
        if (done) {
          const last = [...phases].reverse().find((p) => p.phase.startsWith("start "));
          const step = done[1] ?? last?.phase.slice(6) ?? "";
          phases.push({ phase: `done ${step}`, at_seconds: seconds(at), printed_seconds: Number(done[2]) });
        }
        const step = /^\s+(succeeded|cached|failed)\s+([\w-]+)\s+(\d+) ms/.exec(line);
        if (step) steps.push({ step: step[2], status: step[1], seconds: seconds(Number(step[3])) });
        const m = /serving churn predictions on (http:\/\/\S+)/.exec(line);
        if (m) {
          listening = at;
          resolve(m[1]);
        }
      }
    });
    child.once("exit", (code) => reject(new Error(`telco up exited ${code}: ${stderr.slice(-2000)}`)));
  });
  // Ready (/readyz 200), then the first answer a user would ask for.
  let readyMs = 0;
  for (;;) {
    const r = await fetch(`${address}/readyz`).catch(() => undefined);
    if (r?.status === 200) {
      readyMs = performance.now() - t0;
      break;
    }
    if (performance.now() - t0 > 600_000) throw new Error("not ready within 10 minutes");
    await new Promise((r) => setTimeout(r, 100));
  }
  const key = readFileSync(join(home, "secrets", "api-key"), "utf8").trim();
  const ids = spawnSync(
    process.execPath,
    [
      ...NODE_FLAGS,
      bin,
      "sql",
      "select customer_id from gold.customer_features order by customer_id limit 1",
      "--json",
    ],
    { env, encoding: "utf8" },
  );
  const customer = String((JSON.parse(ids.stdout) as { customer_id: string }[])[0]?.customer_id);
  const beforeAnswer = performance.now();
  const res = await fetch(`${address}/v1/churn/predict`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ customer_ids: [customer] }),
  });
  const answerMs = readyMs + (performance.now() - beforeAnswer);
  const machine = probe.stop();
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
  up = undefined;
  return {
    bin,
    loadavg_1m_at_start: r2(load0),
    machine,
    anchors: { node_start_seconds: seconds(nodeStartMs), generate_seconds: seconds(generateMs) },
    phases,
    pipeline_steps: steps,
    to_listening_seconds: seconds(listening),
    to_ready_seconds: seconds(readyMs),
    to_first_prediction_seconds: seconds(answerMs),
    first_prediction_status: res.status,
    ratios: {
      to_listening_over_generate: r2(listening / generateMs),
      to_listening_over_node_start: r2(listening / nodeStartMs),
    },
  };
}

type Round = Awaited<ReturnType<typeof bringUp>>;
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const summary = (rs: Round[]) => ({
  rounds: rs.length,
  median_to_listening_seconds: r2(median(rs.map((r) => r.to_listening_seconds))),
  median_to_first_prediction_seconds: r2(median(rs.map((r) => r.to_first_prediction_seconds))),
  median_to_listening_over_generate: r2(median(rs.map((r) => r.ratios.to_listening_over_generate))),
  other_processes_cores: rs.map((r) => r.machine.other_processes_cores),
});

try {
  const mine: Round[] = [];
  const theirs: Round[] = [];
  for (let i = 0; i < rounds; i++) {
    // A B B A: both trees see the machine's drift equally.
    const order = COMPARE ? (i % 2 === 0 ? [BIN, COMPARE] : [COMPARE, BIN]) : [BIN];
    for (const bin of order) {
      const r = await bringUp(bin, `r${i}-${bin === BIN ? "bin" : "compare"}`);
      (bin === BIN ? mine : theirs).push(r);
    }
  }
  const result = {
    bench: "start",
    customers,
    months,
    bin: { bin: BIN, ...summary(mine) },
    ...(COMPARE
      ? {
          compare: { bin: COMPARE, ...summary(theirs) },
          // Below 1: --bin brings the platform up faster than --compare on the same machine.
          ratio_bin_over_compare: {
            to_listening: r2(
              median(mine.map((r) => r.to_listening_seconds)) /
                median(theirs.map((r) => r.to_listening_seconds)),
            ),
            to_listening_over_generate: r2(
              median(mine.map((r) => r.ratios.to_listening_over_generate)) /
                median(theirs.map((r) => r.ratios.to_listening_over_generate)),
            ),
          },
        }
      : {}),
    rounds: { bin: mine, ...(COMPARE ? { compare: theirs } : {}) },
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  if ([...mine, ...theirs].some((r) => r.first_prediction_status !== 200)) process.exitCode = 1;
} finally {
  up?.kill("SIGKILL");
  if (!values.keep) rmSync(root, { recursive: true, force: true });
  else process.stderr.write(`[bench:start] kept ${root}\n`);
}

/**
 * Open-loop, constant-rate HTTP/1.1 load generator (the wrk2 method), run as its own process by
 * bench/serve.ts: `node bench/loadgen.ts < config.json` prints one JSON result on stdout.
 *
 * Why not autocannon for latency: its `overallRate` limiter releases each connection's per-second
 * quota in a burst at the start of every second, and its coordinated-omission correction passes
 * `Math.ceil(1 / rate)` (= 1 ms whatever the rate) as the expected interval, so its p99 "at half
 * load" measures its own bursts (the bare Fastify route read 20 ms). Here request i has the intended
 * send time start + i / rate; it goes out on the first idle keep-alive connection at or after that
 * time, and its latency is measured FROM THE INTENDED TIME to the last byte of the response. A server
 * (or generator) stall therefore counts against every request that should have been sent during it,
 * which is what a client at that rate would see (coordinated-omission correct).
 *
 * Hand-written on raw sockets (no undici here, and node:http's client costs more CPU per request than
 * the server under test on a 2-core machine): requests are pre-encoded buffers; responses are parsed
 * only as far as the status code and Content-Length (Fastify always sends one). Latencies are kept
 * one per request and sorted, so percentiles are exact (no histogram bucketing).
 */
import { connect, type Socket } from "node:net";
import { monitorEventLoopDelay } from "node:perf_hooks";

/** What to send: one URL, fixed headers, bodies rotated over requests, `rate` per second. */
export interface LoadgenConfig {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  bodies: string[];
  /** Requests per second, evenly spaced. */
  rate: number;
  durationSeconds: number;
  /** Keep-alive connections available (only as many are used as the latency × rate needs). */
  connections?: number;
  /** Requests still unanswered this long after the last intended send time count as timeouts. */
  drainTimeoutMs?: number;
}

/** Latencies in ms from intended send time; `send_lag_*`: how late the generator itself sent. */
export interface LoadgenResult {
  rate_target: number;
  rps: number;
  requests: number;
  errors: number;
  non2xx: number;
  timeouts: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  p999_ms: number;
  max_ms: number;
  send_lag_p99_ms: number;
  generator_loop_delay_p99_ms: number;
  /** The generator's own CPU per request (it shares the machine with the server). */
  generator_cpu_us_per_req: number;
}

interface Conn {
  socket: Socket;
  busy: boolean;
  dead: boolean;
  intended: number;
  chunks: Buffer[];
}

const round2 = (v: number) => Math.round(v * 100) / 100;

/** Exact percentile (nearest rank) of sorted values. */
function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** Runs one constant-rate load and resolves with its latency distribution. */
export function runLoad(cfg: LoadgenConfig): Promise<LoadgenResult> {
  const url = new URL(cfg.url);
  const port = Number(url.port || 80);
  const host = url.hostname;
  const head = Object.entries({ "content-type": "application/json", ...(cfg.headers ?? {}) })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("");
  const requests = cfg.bodies.map((b) => {
    const body = Buffer.from(b);
    return Buffer.concat([
      Buffer.from(
        `${cfg.method ?? "POST"} ${url.pathname}${url.search} HTTP/1.1\r\nhost: ${url.host}\r\n${head}content-length: ${body.length}\r\n\r\n`,
      ),
      body,
    ]);
  });
  const total = Math.max(1, Math.round(cfg.rate * cfg.durationSeconds));
  const interval = 1000 / cfg.rate;
  const latencies = new Float64Array(total);
  const sendLag = new Float64Array(total);
  let done = 0;
  let errors = 0;
  let non2xx = 0;
  let scheduled = 0;
  let sent = 0;
  const queue: number[] = []; // intended times waiting for a free connection (FIFO)
  let queueHead = 0;
  const idle: Conn[] = [];
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  let start = 0;
  const cpu0 = process.cpuUsage();
  let finished = false;
  let finish: () => void = () => {};

  const record = (c: Conn, ok: boolean, status2xx: boolean) => {
    const now = performance.now();
    latencies[done] = now - c.intended;
    done++;
    if (!ok) errors++;
    else if (!status2xx) non2xx++;
    c.busy = false;
    if (done === total) finish();
  };

  const send = (c: Conn, intended: number) => {
    c.busy = true;
    c.intended = intended;
    c.chunks = [];
    sendLag[sent] = performance.now() - intended;
    c.socket.write(requests[sent % requests.length]);
    sent++;
  };

  const release = (c: Conn) => {
    if (queueHead < queue.length) send(c, queue[queueHead++]);
    else idle.push(c);
  };

  /** Parses what arrived so far; true when one full response is in. */
  const complete = (c: Conn): { status: number } | undefined => {
    const buf = c.chunks.length === 1 ? c.chunks[0] : Buffer.concat(c.chunks);
    c.chunks = [buf];
    const end = buf.indexOf("\r\n\r\n");
    if (end < 0) return undefined;
    const headText = buf.subarray(0, end).toString("latin1");
    const m = /\r\ncontent-length:\s*(\d+)/i.exec(headText);
    const length = m ? Number(m[1]) : 0;
    if (buf.length < end + 4 + length) return undefined;
    return { status: Number(headText.slice(9, 12)) };
  };

  const conns: Conn[] = [];
  const open = (): Conn => {
    const socket = connect({ host, port, noDelay: true });
    const c: Conn = { socket, busy: false, dead: false, intended: 0, chunks: [] };
    conns.push(c);
    socket.on("data", (chunk: Buffer) => {
      if (!c.busy) return;
      c.chunks.push(chunk);
      const res = complete(c);
      if (!res) return;
      record(c, true, res.status >= 200 && res.status < 300);
      release(c);
    });
    // A reset or closed connection fails its request (counted) and is replaced.
    const fail = () => {
      if (c.dead || finished) return;
      c.dead = true;
      if (c.busy) record(c, false, false);
      const i = idle.indexOf(c);
      if (i >= 0) idle.splice(i, 1);
      if (done < total) release(open());
    };
    socket.on("error", fail);
    socket.on("close", fail);
    return c;
  };

  return new Promise<LoadgenResult>((resolve) => {
    let drainTimer: NodeJS.Timeout | undefined;
    let tickTimer: NodeJS.Timeout | undefined;
    finish = () => {
      if (finished) return;
      finished = true;
      if (drainTimer) clearTimeout(drainTimer);
      if (tickTimer) clearTimeout(tickTimer);
      loop.disable();
      for (const c of conns) c.socket.destroy();
      const timeouts = total - done;
      const measured = latencies.slice(0, done).sort();
      const lags = sendLag.slice(0, sent).sort();
      const elapsed = (performance.now() - start) / 1000;
      resolve({
        rate_target: cfg.rate,
        rps: Math.round(done / Math.max(elapsed, cfg.durationSeconds)),
        requests: done,
        errors,
        non2xx,
        timeouts,
        p50_ms: round2(percentile(measured, 0.5)),
        p90_ms: round2(percentile(measured, 0.9)),
        p99_ms: round2(percentile(measured, 0.99)),
        p999_ms: round2(percentile(measured, 0.999)),
        max_ms: round2(measured.length ? measured[measured.length - 1] : 0),
        send_lag_p99_ms: round2(percentile(lags, 0.99)),
        generator_loop_delay_p99_ms: round2(loop.percentile(99) / 1e6),
        generator_cpu_us_per_req: round2(
          (process.cpuUsage(cpu0).user + process.cpuUsage(cpu0).system) / Math.max(1, done),
        ),
      });
    };
    // Scheduler: queue every request whose intended time has come, hand them to idle connections,
    // sleep until the next intended time (timers have ~1 ms granularity; lateness is measured).
    const tick = () => {
      const now = performance.now();
      while (scheduled < total && start + scheduled * interval <= now) {
        queue.push(start + scheduled * interval);
        scheduled++;
      }
      while (queueHead < queue.length && idle.length > 0) send(idle.pop() as Conn, queue[queueHead++]);
      if (queueHead > 4096) {
        queue.splice(0, queueHead);
        queueHead = 0;
      }
      if (scheduled < total) {
        tickTimer = setTimeout(tick, Math.max(0, start + scheduled * interval - performance.now()));
      } else {
        drainTimer = setTimeout(finish, cfg.drainTimeoutMs ?? 5000);
      }
    };
    const n = Math.max(1, cfg.connections ?? 32);
    let connected = 0;
    for (let i = 0; i < n; i++) {
      const c = open();
      c.socket.once("connect", () => {
        idle.push(c);
        if (++connected === n) {
          start = performance.now();
          tick();
        }
      });
    }
  });
}

if (import.meta.main) {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const cfg = JSON.parse(Buffer.concat(chunks).toString("utf8")) as LoadgenConfig;
  const result = await runLoad(cfg);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}

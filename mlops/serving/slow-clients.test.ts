import { readdirSync } from "node:fs";
import { connect, type Socket } from "node:net";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildServer } from "./server.ts";
import { type ServingFixture, servingFixture } from "./testing/fixture.ts";

// Issue 19, "bounded resources": 20,400 idle connections once used up the server's descriptors and
// /healthz failed. Here, with small limits, a bounded loop of idle sockets (5× the cap), slowloris
// header tricklers and a slow body run against a real server on loopback: /healthz is answered all
// along, the server never holds more sockets than its cap, and every descriptor is released after.

const KEY = "test-key-0123456789abcdef";
const CAP = 40;
const LIMITS = {
  maxConnections: CAP,
  headersTimeoutMs: 400,
  requestTimeoutMs: 800,
  idleTimeoutMs: 1500,
  keepAliveTimeoutMs: 300,
};

const openFds = () => readdirSync("/proc/self/fd").length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Client {
  socket: Socket;
  closed: Promise<number>;
  data: () => string;
}

/** A client socket that records what it receives and when the server closes it (ms since start). */
function client(port: number, t0: number): Client {
  const socket = connect(port, "127.0.0.1");
  let data = "";
  socket.on("data", (c) => {
    data += c.toString("latin1");
  });
  socket.on("error", () => {});
  const closed = new Promise<number>((resolve) => socket.on("close", () => resolve(Date.now() - t0)));
  return { socket, closed, data: () => data };
}

/** GET /healthz on a new connection; the status (0 when refused or reset). */
async function healthz(port: number): Promise<number> {
  const c = client(port, Date.now());
  c.socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  await Promise.race([c.closed, sleep(3000)]);
  c.socket.destroy();
  return Number(/^HTTP\/1\.1 (\d+)/.exec(c.data())?.[1] ?? 0);
}

describe("bounded HTTP server under slow and idle clients", () => {
  let fx: ServingFixture;
  let server: FastifyInstance;
  let port: number;
  let peak = 0;
  let watcher: NodeJS.Timeout;

  beforeAll(async () => {
    fx = await servingFixture({ customers: 5, config: { http: LIMITS } });
    server = await buildServer(fx.app, { apiKeys: [KEY] });
    port = Number(new URL(await server.listen({ host: "127.0.0.1", port: 0 })).port);
    watcher = setInterval(() => {
      server.server.getConnections((_e, n) => {
        peak = Math.max(peak, n);
      });
    }, 5);
  });
  afterAll(async () => {
    clearInterval(watcher);
    await server.close();
    await fx.cleanup();
  });

  it("answers /healthz through idle floods and slowloris, holds at most its cap, and releases every descriptor", async () => {
    const baseline = openFds();
    const t0 = Date.now();
    const clients: Client[] = [];
    const health: number[] = [];
    // Slowloris: a request head trickled one header line every 100 ms, forever.
    const loris = Array.from({ length: 5 }, () => client(port, t0));
    for (const l of loris) l.socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n");
    const trickle = setInterval(() => {
      for (const l of loris) if (!l.socket.destroyed) l.socket.write(`X-Slow-${Date.now()}: 1\r\n`);
    }, 100);
    // Idle sockets that never send a byte: 5× the cap, in bursts of 20, with a probe after each burst.
    for (let burst = 0; burst < 10; burst++) {
      for (let i = 0; i < 20; i++) clients.push(client(port, t0));
      await sleep(20);
      health.push(await healthz(port));
    }
    clearInterval(trickle);
    expect(
      health.every((s) => s === 200),
      `healthz answers: ${health.join(",")}`,
    ).toBe(true);
    expect(peak).toBeLessThanOrEqual(CAP + 2);

    // Every slowloris socket is cut by the header timeout (408) or evicted at the cap.
    const lorisClosed = await Promise.all(loris.map((l) => l.closed));
    for (const l of loris) expect(l.data() === "" || l.data().startsWith("HTTP/1.1 408")).toBe(true);
    expect(Math.max(...lorisClosed)).toBeLessThan(5000);
    // Idle sockets are evicted at the cap or closed by the idle timeout: none outlives it by much.
    const idleClosed = await Promise.all(clients.map((c) => c.closed));
    expect(Math.max(...idleClosed)).toBeLessThan(LIMITS.idleTimeoutMs + 3000);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(
      Number(/http_connections_shed_total\{reason="evicted"\} (\d+)/.exec(metrics)?.[1]),
    ).toBeGreaterThan(100);
    for (const c of [...clients, ...loris]) c.socket.destroy();
    await sleep(LIMITS.keepAliveTimeoutMs + 200); // the metrics fetch's keep-alive socket
    const open = await new Promise<number>((r) => server.server.getConnections((_e, n) => r(n)));
    expect(open).toBe(0);
    expect(openFds()).toBeLessThanOrEqual(baseline + 2);
  }, 60_000);

  it("cuts a request whose body trickles in slower than the request timeout (408)", async () => {
    const t0 = Date.now();
    const c = client(port, t0);
    c.socket.write(
      `POST /v1/churn/predict HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`,
    );
    const drip = setInterval(() => {
      if (!c.socket.destroyed) c.socket.write(" ");
    }, 100);
    const closedAt = await c.closed;
    clearInterval(drip);
    expect(closedAt).toBeLessThan(LIMITS.requestTimeoutMs + 3000);
    expect(c.data()).toMatch(/^HTTP\/1\.1 408/);
    expect(JSON.parse(c.data().split("\r\n\r\n")[1]).error.code).toBe("request_timeout");
  });

  it("closes an idle keep-alive connection after keepAliveTimeoutMs", async () => {
    const t0 = Date.now();
    const c = client(port, t0);
    c.socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    const closedAt = await c.closed;
    expect(c.data()).toMatch(/^HTTP\/1\.1 200/);
    expect(closedAt).toBeGreaterThanOrEqual(LIMITS.keepAliveTimeoutMs - 50);
    expect(closedAt).toBeLessThan(LIMITS.keepAliveTimeoutMs + 2000);
  });
});

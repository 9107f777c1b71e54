import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local HTTP endpoint for alert sinks: keeps each request's path, headers and JSON body, and
 * answers 200 `{}`, or per path prefix: `/fail` → 500, `/silent` → no answer until `release()`.
 */
export interface FakeReceiver {
  url: string;
  received: { path: string; headers: Record<string, string | string[] | undefined>; body: unknown }[];
  release(): void;
  close(): Promise<void>;
}

export async function startFakeReceiver(): Promise<FakeReceiver> {
  const received: FakeReceiver["received"] = [];
  const held: ServerResponse[] = [];
  const server = createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => {
      raw += c;
    });
    req.on("end", () => {
      const path = new URL(req.url ?? "/", "http://x").pathname;
      if (path.startsWith("/silent")) {
        held.push(res);
        return;
      }
      received.push({ path, headers: req.headers, body: raw ? JSON.parse(raw) : undefined });
      const status = path.startsWith("/fail") ? 500 : 200;
      res
        .writeHead(status, { "content-type": "application/json" })
        .end(status === 200 ? "{}" : '{"error":"down"}');
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const release = () => {
    for (const res of held.splice(0)) res.writeHead(200).end("{}");
  };
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    release,
    close: () =>
      new Promise<void>((r) => {
        release();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A URL on 127.0.0.1 where nothing listens (a port just released). */
export async function unreachableUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

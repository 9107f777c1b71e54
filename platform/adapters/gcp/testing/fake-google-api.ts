import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";

/** A hand-written response body from ./recorded (see its README: not captured from Google). */
export function recordedResponse(file: string): unknown {
  return JSON.parse(readFileSync(join(import.meta.dirname, "recorded", file), "utf8"));
}

/**
 * A local HTTP server standing in for one Google REST API: every request (method, path, headers,
 * JSON body) is kept, and `answer` decides the status and body of each (the test's replay script).
 */
export interface FakeGoogleApi {
  url: string;
  requests: {
    method: string;
    path: string;
    headers: Record<string, string | string[] | undefined>;
    body: unknown;
  }[];
  close(): Promise<void>;
}

export async function startFakeGoogleApi(
  answer: (req: { method: string; path: string; body: unknown }) => { status: number; body: unknown },
): Promise<FakeGoogleApi> {
  const requests: FakeGoogleApi["requests"] = [];
  const server: Server = createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => {
      raw += c;
    });
    req.on("end", () => {
      const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
      const body = raw ? JSON.parse(raw) : undefined;
      requests.push({ method: req.method ?? "", path, headers: req.headers, body });
      const a = answer({ method: req.method ?? "", path, body });
      res.writeHead(a.status, { "content-type": "application/json" }).end(JSON.stringify(a.body));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

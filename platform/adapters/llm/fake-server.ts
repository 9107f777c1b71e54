import { readFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";

/**
 * Test double of a hosted LLM API: an HTTP server on 127.0.0.1 (random port) that replays recorded
 * exchanges in order and keeps every request it received, so tests assert both what the provider
 * answered and what our code sent. node:http only (no SDK): tests anywhere may use it.
 */

/** One request/response pair in the provider's exact wire format. */
export interface RecordedExchange {
  /** What the request must contain: path (with query) and a subset of the JSON body. */
  request: { method?: string; path: string; body?: unknown };
  response: {
    status: number;
    headers?: Record<string, string>;
    /** JSON body (non-streaming answers and errors). */
    body?: unknown;
    /** Server-sent events: objects are sent as `data: <json>`, strings verbatim (`[DONE]`). */
    sse?: unknown[];
    /** Never answer (timeouts). */
    hang?: boolean;
  };
}

export interface LlmFixture {
  description: string;
  /** Where the wire format comes from (API reference / server that produced it). */
  source: string;
  exchanges: RecordedExchange[];
}

export interface ReceivedRequest {
  method: string;
  /** Path and query, e.g. /v1/chat/completions. */
  url: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

export interface FakeLlmServer {
  /** http://127.0.0.1:PORT (no trailing slash, no path). */
  baseURL: string;
  requests: ReceivedRequest[];
  close(): Promise<void>;
}

const FIXTURES = join(import.meta.dirname, "fixtures");

export function loadLlmFixture(name: string): LlmFixture {
  return JSON.parse(readFileSync(join(FIXTURES, name), "utf8")) as LlmFixture;
}

/** Serves exchange i to request i; requests past the end get the last exchange again (retries). */
export async function startFakeLlmServer(exchanges: RecordedExchange[]): Promise<FakeLlmServer> {
  if (exchanges.length === 0) throw new Error("startFakeLlmServer needs at least one exchange");
  const requests: ReceivedRequest[] = [];
  const server = createServer((req, res) => {
    let raw = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => {
      raw += c;
    });
    req.on("end", () => {
      let body: unknown = raw;
      try {
        body = raw ? JSON.parse(raw) : undefined;
      } catch {
        // keep the raw text: the test's body assertion will show it
      }
      const index = requests.length;
      requests.push({ method: req.method ?? "GET", url: req.url ?? "", headers: req.headers, body });
      const { response } = exchanges[Math.min(index, exchanges.length - 1)];
      if (response.hang) return;
      if (response.sse) {
        res.writeHead(response.status, {
          "content-type": "text/event-stream",
          "cache-control": "no-cache",
          ...response.headers,
        });
        for (const event of response.sse)
          res.write(`data: ${typeof event === "string" ? event : JSON.stringify(event)}\n\n`);
        res.end();
        return;
      }
      res.writeHead(response.status, { "content-type": "application/json", ...response.headers });
      res.end(response.body === undefined ? "" : JSON.stringify(response.body));
    });
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

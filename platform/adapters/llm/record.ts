import { writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import type { LlmFixture, RecordedExchange } from "./fake-server.ts";

/**
 * Records fixtures from a real server: a proxy on 127.0.0.1 that forwards every request to
 * `upstream`, answers with the upstream's reply, and keeps each exchange in the fake server's format
 * (JSON bodies, or SSE events for streams). Point the provider's baseURL at the proxy, run the calls,
 * then `stop()` writes the fixture. Manual use only (tests never reach a real server):
 *
 *   node platform/adapters/llm/record.ts --upstream http://127.0.0.1:11434 --out fixtures/new.json \
 *     --description "Ollama qwen2.5 tool call" [--port 8799]
 *   # set llm.openaiCompatible.baseURL: http://127.0.0.1:8799/v1 (or llm.vertex.baseURL:
 *   # http://127.0.0.1:8799 with upstream https://us-central1-aiplatform.googleapis.com), run the
 *   # calls, then Ctrl-C
 *
 * Authorization and x-goog-api-key headers are forwarded but never written to the fixture.
 */
export interface Recorder {
  baseURL: string;
  exchanges: RecordedExchange[];
  /** Stops the proxy and, with `out`, writes the fixture there. */
  stop(out?: { file: string; description: string; source: string }): Promise<LlmFixture>;
}

const HOP_BY_HOP = new Set(["host", "connection", "content-length", "transfer-encoding", "accept-encoding"]);

export async function startRecorder(upstream: string, port = 0): Promise<Recorder> {
  const exchanges: RecordedExchange[] = [];
  const base = upstream.replace(/\/+$/, "");
  const server: Server = createServer((req, res) => {
    let raw = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => {
      raw += c;
    });
    req.on("end", async () => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers))
        if (typeof v === "string" && !HOP_BY_HOP.has(k)) headers[k] = v;
      const path = req.url ?? "/";
      let body: unknown;
      try {
        body = raw ? JSON.parse(raw) : undefined;
      } catch {
        body = raw;
      }
      try {
        const upstreamRes = await fetch(`${base}${path}`, {
          method: req.method,
          headers,
          body: raw || undefined,
        });
        const text = await upstreamRes.text();
        const type = upstreamRes.headers.get("content-type") ?? "application/json";
        const response: RecordedExchange["response"] = { status: upstreamRes.status };
        if (type.includes("text/event-stream"))
          response.sse = text
            .split(/\r?\n\r?\n/)
            .map((event) => event.replace(/^data: ?/m, "").trim())
            .filter(Boolean)
            .map((data) => {
              try {
                return JSON.parse(data) as unknown;
              } catch {
                return data;
              }
            });
        else response.body = text ? safeJson(text) : undefined;
        exchanges.push({ request: { method: req.method ?? "POST", path, body }, response });
        res.writeHead(upstreamRes.status, { "content-type": type });
        res.end(text);
      } catch (err) {
        res.writeHead(502, { "content-type": "application/json" });
        res.end(
          JSON.stringify({ error: { message: `recorder: upstream failed: ${(err as Error).message}` } }),
        );
      }
    });
  });
  await new Promise<void>((ok) => server.listen(port, "127.0.0.1", ok));
  const address = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${address.port}`,
    exchanges,
    stop: (out) =>
      new Promise<LlmFixture>((ok) => {
        server.closeAllConnections();
        server.close(() => {
          const fixture: LlmFixture = {
            description: out?.description ?? "",
            source: out?.source ?? `recorded from ${base}`,
            exchanges,
          };
          if (out) writeFileSync(out.file, `${JSON.stringify(fixture, null, 2)}\n`);
          ok(fixture);
        });
      }),
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      upstream: { type: "string" },
      out: { type: "string" },
      description: { type: "string", default: "" },
      port: { type: "string", default: "8799" },
    },
  });
  if (!values.upstream || !values.out) {
    console.error(
      "usage: node platform/adapters/llm/record.ts --upstream URL --out FILE [--description TEXT] [--port 8799]",
    );
    process.exit(2);
  }
  const recorder = await startRecorder(values.upstream, Number(values.port));
  console.log(`recording ${values.upstream} at ${recorder.baseURL}; Ctrl-C writes ${values.out}`);
  process.once("SIGINT", async () => {
    const f = await recorder.stop({
      file: values.out as string,
      description: values.description,
      source: `recorded from ${values.upstream} on ${new Date().toISOString().slice(0, 10)}`,
    });
    console.log(`wrote ${f.exchanges.length} exchange(s) to ${values.out}`);
    process.exit(0);
  });
}

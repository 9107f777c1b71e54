import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * Local HTTP servers standing in for the embedding APIs the adapters call, with bodies written from
 * the API references (not recorded): OpenAI's `POST /v1/embeddings` (`{ model, input[] }` →
 * `{ data: [{ index, embedding }] }`) and Vertex AI's `…/publishers/google/models/M:predict`
 * (`{ instances: [{ content, task_type }], parameters: { outputDimensionality } }` →
 * `{ predictions: [{ embeddings: { values } }] }`, at most 250 instances a request, as Vertex
 * documents). A text's vector is a hash of (task, text), so it is the same in any batch, and is
 * deliberately not unit-length (the adapters normalise). `failing` answers every call with an error
 * body in the API's shape.
 */
export interface FakeEmbeddingApi {
  url: string;
  /** Texts carried by each embedding request, in arrival order. */
  batches: number[];
  close(): Promise<void>;
}

const ERROR_MESSAGE = "request rejected: quota exceeded for the project";

function vectorOf(text: string, task: string, dimension: number): number[] {
  const out: number[] = [];
  for (let i = 0; out.length < dimension; i++) {
    const h = createHash("sha256").update(`${task}\u0000${text}\u0000${i}`).digest();
    for (let j = 0; j + 4 <= h.length && out.length < dimension; j += 4) out.push(h.readInt32BE(j) / 2 ** 28);
  }
  return out;
}

async function serve(
  answer: (path: string, body: unknown) => { status: number; body: unknown; texts?: number },
): Promise<FakeEmbeddingApi> {
  const batches: number[] = [];
  const server: Server = createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => {
      raw += c;
    });
    req.on("end", () => {
      const a = answer(new URL(req.url ?? "/", "http://x").pathname, raw ? JSON.parse(raw) : undefined);
      if (a.texts !== undefined) batches.push(a.texts);
      res.writeHead(a.status, { "content-type": "application/json" }).end(JSON.stringify(a.body));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    batches,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export function startFakeOpenAiEmbeddings(opts: {
  dimension: number;
  failing?: boolean;
}): Promise<FakeEmbeddingApi> {
  return serve((path, body) => {
    if (path !== "/v1/embeddings") return { status: 404, body: { error: { message: `no route ${path}` } } };
    const req = body as { model?: string; input?: string[] };
    if (opts.failing)
      return { status: 400, body: { error: { message: ERROR_MESSAGE, type: "invalid_request_error" } } };
    const input = req.input ?? [];
    return {
      status: 200,
      texts: input.length,
      body: {
        object: "list",
        data: input.map((text, index) => ({
          object: "embedding",
          index,
          embedding: vectorOf(text, "openai", opts.dimension),
        })),
        model: req.model,
        usage: { prompt_tokens: input.length, total_tokens: input.length },
      },
    };
  });
}

export function startFakeVertexEmbeddings(opts: { failing?: boolean }): Promise<FakeEmbeddingApi> {
  return serve((path, body) => {
    if (!/^\/v1\/projects\/[^/]+\/locations\/[^/]+\/publishers\/google\/models\/[^/]+:predict$/.test(path))
      return {
        status: 404,
        body: { error: { code: 404, message: `no route ${path}`, status: "NOT_FOUND" } },
      };
    if (opts.failing)
      return {
        status: 429,
        body: { error: { code: 429, message: ERROR_MESSAGE, status: "RESOURCE_EXHAUSTED" } },
      };
    const req = body as {
      instances?: { content: string; task_type?: string }[];
      parameters?: { outputDimensionality?: number };
    };
    const instances = req.instances ?? [];
    if (instances.length > 250)
      return {
        status: 400,
        texts: instances.length,
        body: {
          error: { code: 400, message: "at most 250 instances per request", status: "INVALID_ARGUMENT" },
        },
      };
    const dimension = req.parameters?.outputDimensionality ?? 768;
    return {
      status: 200,
      texts: instances.length,
      body: {
        predictions: instances.map((i) => ({
          embeddings: {
            statistics: { truncated: false, token_count: i.content.split(/\s+/).length },
            values: vectorOf(i.content, i.task_type ?? "", dimension),
          },
        })),
        metadata: { billableCharacterCount: instances.reduce((s, i) => s + i.content.length, 0) },
      },
    };
  });
}

import { TelcoError } from "../../errors.ts";
import { type EmbeddingProvider, type EmbeddingPurpose, l2normalize } from "../../ports/embeddings.ts";

function checkVectors(
  provider: string,
  vectors: number[][],
  expected: number,
  dimension: number,
): Float32Array[] {
  if (vectors.length !== expected)
    throw new TelcoError(
      "embeddings",
      `${provider} returned ${vectors.length} embeddings for ${expected} texts`,
    );
  return vectors.map((v, i) => {
    if (v.length !== dimension)
      throw new TelcoError(
        "embeddings",
        `${provider} returned a ${v.length}-dimensional vector (text ${i}); configured dimension is ${dimension}`,
        { hint: "Set rag.providers.<provider>.dimension to the model's output size." },
      );
    return l2normalize(Float32Array.from(v));
  });
}

/** Embeds `texts` in calls of at most `maxBatch` texts each, in order (the port's per-call limit). */
async function inBatches(
  texts: string[],
  maxBatch: number,
  embedBatch: (batch: string[]) => Promise<Float32Array[]>,
): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (let i = 0; i < texts.length; i += maxBatch)
    out.push(...(await embedBatch(texts.slice(i, i + maxBatch))));
  return out;
}

/** Settings of an OpenAI-compatible embeddings endpoint (OpenAI, vLLM, Ollama, LiteLLM, TEI …). */
export interface OpenAiCompatibleSettings {
  baseURL: string;
  model: string;
  dimension: number;
  apiKey?: string;
  maxBatch?: number;
}

/** POST {baseURL}/v1/embeddings through the AI SDK's `embedMany` (batching, retries, errors). */
export class OpenAiCompatibleEmbedder implements EmbeddingProvider {
  readonly provider = "openai-compatible";
  readonly model: string;
  readonly dimension: number;
  readonly maxBatch: number;
  readonly #settings: OpenAiCompatibleSettings;

  constructor(settings: OpenAiCompatibleSettings) {
    this.#settings = settings;
    this.model = settings.model;
    this.dimension = settings.dimension;
    this.maxBatch = settings.maxBatch ?? 96;
  }

  async embed(texts: string[]): Promise<Float32Array[]> {
    return inBatches(texts, this.maxBatch, (batch) => this.#embedBatch(batch));
  }

  async #embedBatch(texts: string[]): Promise<Float32Array[]> {
    const base = this.#settings.baseURL.replace(/\/+$/, "").replace(/\/v1$/, "");
    // Loaded on first use so the CLI starts without the AI SDK when embeddings are local.
    const [{ createOpenAICompatible }, { embedMany }] = await Promise.all([
      import("@ai-sdk/openai-compatible"),
      import("ai"),
    ]);
    const client = createOpenAICompatible({
      name: "telco-embeddings",
      baseURL: `${base}/v1`,
      apiKey: this.#settings.apiKey,
    });
    try {
      const { embeddings } = await embedMany({
        model: client.embeddingModel(this.model),
        values: texts,
        maxRetries: 2,
      });
      return checkVectors(this.provider, embeddings, texts.length, this.dimension);
    } catch (err) {
      if (err instanceof TelcoError) throw err;
      throw new TelcoError(
        "embeddings",
        `openai-compatible embeddings at ${base} failed: ${(err as Error).message}`,
        {
          hint: "Check rag.providers.openaiCompatible.baseURL/model and the API key variable.",
          cause: err,
        },
      );
    }
  }
}

/** Settings of Vertex AI text embeddings (e.g. text-multilingual-embedding-002, 768 dimensions). */
export interface VertexSettings {
  project: string;
  location: string;
  model: string;
  dimension: number;
  /** Override of https://{location}-aiplatform.googleapis.com (tests point it at a local fake). */
  baseURL?: string;
  /** Returns an OAuth access token; default: Application Default Credentials via google-auth-library. */
  accessToken?: () => Promise<string>;
}

/** Vertex AI `:predict` REST call with task_type RETRIEVAL_DOCUMENT / RETRIEVAL_QUERY. */
export class VertexEmbedder implements EmbeddingProvider {
  readonly provider = "vertex";
  readonly model: string;
  readonly dimension: number;
  readonly maxBatch = 100;
  readonly #settings: VertexSettings;

  constructor(settings: VertexSettings) {
    this.#settings = settings;
    this.model = settings.model;
    this.dimension = settings.dimension;
  }

  async embed(texts: string[], purpose: EmbeddingPurpose): Promise<Float32Array[]> {
    return inBatches(texts, this.maxBatch, (batch) => this.#embedBatch(batch, purpose));
  }

  async #embedBatch(texts: string[], purpose: EmbeddingPurpose): Promise<Float32Array[]> {
    const s = this.#settings;
    const base = (s.baseURL ?? `https://${s.location}-aiplatform.googleapis.com`).replace(/\/+$/, "");
    const url = `${base}/v1/projects/${s.project}/locations/${s.location}/publishers/google/models/${s.model}:predict`;
    const token = await (s.accessToken ?? defaultGoogleToken)();
    const taskType = purpose === "query" ? "RETRIEVAL_QUERY" : "RETRIEVAL_DOCUMENT";
    let response: Response;
    try {
      response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({
          instances: texts.map((content) => ({ content, task_type: taskType })),
          parameters: { outputDimensionality: s.dimension },
        }),
      });
    } catch (err) {
      throw new TelcoError("embeddings", `vertex embeddings request failed: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const body = (await response.json().catch(() => null)) as {
      predictions?: { embeddings?: { values?: number[] } }[];
      error?: { message?: string };
    } | null;
    if (!response.ok || !body?.predictions)
      throw new TelcoError(
        "embeddings",
        `vertex embeddings returned HTTP ${response.status}: ${body?.error?.message ?? "no predictions"}`,
        {
          hint: "Check gcp.project, rag.providers.vertex.location/model and `gcloud auth application-default login`.",
        },
      );
    return checkVectors(
      this.provider,
      body.predictions.map((p) => p.embeddings?.values ?? []),
      texts.length,
      this.dimension,
    );
  }
}

async function defaultGoogleToken(): Promise<string> {
  const fromEnv = process.env.GOOGLE_OAUTH_ACCESS_TOKEN;
  if (fromEnv) return fromEnv;
  const { GoogleAuth } = await import("google-auth-library");
  const auth = new GoogleAuth({ scopes: ["https://www.googleapis.com/auth/cloud-platform"] });
  const token = (await (await auth.getClient()).getAccessToken()).token;
  if (!token)
    throw new TelcoError("embeddings", "no Google access token for Vertex AI", {
      hint: "Run `gcloud auth application-default login` or set GOOGLE_OAUTH_ACCESS_TOKEN.",
    });
  return token;
}

import type { GoogleVertexProviderSettings } from "@ai-sdk/google-vertex";
import type { LlmPrice, LlmProvider } from "../../ports/llm.ts";

/** Settings of Gemini on Vertex AI. */
export interface VertexLlmSettings {
  project: string;
  location: string;
  model: string;
  /**
   * Override of the host https://{location}-aiplatform.googleapis.com (a proxy, or a local fake in
   * tests); the API path /v1beta1/projects/{project}/locations/{location}/publishers/google is kept.
   */
  baseURL?: string;
  /**
   * Returns an OAuth access token for each request. Default: Application Default Credentials through
   * google-auth-library (GOOGLE_APPLICATION_CREDENTIALS, `gcloud auth application-default login`, or
   * the metadata server on GCE/Cloud Run/GKE). Tests pass a constant and never reach Google.
   */
  accessToken?: () => Promise<string>;
  /** Vertex express mode: an API key sent as x-goog-api-key instead of OAuth (no project in the path). */
  apiKey?: string;
  price: LlmPrice | null;
  timeoutMs: number;
  maxRetries: number;
  /** Replaces global fetch (tests, proxies). */
  fetch?: typeof globalThis.fetch;
}

type AuthClient = NonNullable<GoogleVertexProviderSettings["googleAuthOptions"]>["authClient"];

/** The base URL the AI SDK appends `/models/{model}:generateContent` to. */
export function vertexBaseURL(s: Pick<VertexLlmSettings, "project" | "location" | "baseURL" | "apiKey">) {
  if (s.apiKey)
    return `${(s.baseURL ?? "https://aiplatform.googleapis.com").replace(/\/+$/, "")}/v1/publishers/google`;
  const host =
    s.baseURL?.replace(/\/+$/, "") ??
    (s.location === "global"
      ? "https://aiplatform.googleapis.com"
      : `https://${s.location}-aiplatform.googleapis.com`);
  return `${host}/v1beta1/projects/${s.project}/locations/${s.location}/publishers/google`;
}

/**
 * Gemini through @ai-sdk/google-vertex: POST …/models/{model}:generateContent and
 * :streamGenerateContent?alt=sse. Loaded on first use so the CLI starts without it.
 */
export async function createVertexLlm(s: VertexLlmSettings): Promise<LlmProvider> {
  const { createVertex } = await import("@ai-sdk/google-vertex");
  const accessToken = s.accessToken;
  const settings: GoogleVertexProviderSettings = {
    project: s.project,
    location: s.location,
    baseURL: vertexBaseURL(s),
    fetch: s.fetch,
    ...(s.apiKey ? { apiKey: s.apiKey } : {}),
    ...(accessToken && !s.apiKey
      ? {
          // google-auth-library's GoogleAuth returns a supplied authClient as is and only calls its
          // getAccessToken(): a token function needs no credentials file and no network.
          googleAuthOptions: {
            authClient: {
              getAccessToken: async () => ({ token: await accessToken() }),
            } as unknown as AuthClient,
          },
        }
      : {}),
  };
  const vertex = createVertex(settings);
  return {
    provider: "vertex",
    modelId: s.model,
    model: vertex.languageModel(s.model),
    price: s.price,
    timeoutMs: s.timeoutMs,
    maxRetries: s.maxRetries,
  };
}

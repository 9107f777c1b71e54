import { ValidationError } from "../../errors.ts";
import type { RetrievalResponse, RetrievedPassage, Retriever } from "../../ports/retrieval.ts";
import { GoogleJsonClient, googleAccessToken, type TokenSource } from "./google-rest.ts";

/**
 * Retrieval on Vertex AI Search (Discovery Engine v1 REST, `servingConfigs/*:search`) over the
 * unstructured data store Terraform creates (infra/terraform/modules/assistant: `telco-kb-ENV`,
 * location global, CONTENT_REQUIRED). Each result document gives one passage: its best extractive
 * segment (verbatim text of the document, what the answer may quote), else its snippet. Vertex's
 * document-mode results carry no score, so `score` is 1/(rank+1) (Vertex's own order, kept), and
 * `fused_score` the extractive segment's relevanceScore when returned, else the same.
 */
export interface VertexAiSearchOptions {
  project: string;
  /** Data store id (telco-kb-ENV); ignored when `servingConfig` is given. */
  dataStore?: string;
  /** Full serving-config resource name, overriding the one built from project/location/dataStore. */
  servingConfig?: string;
  /** Discovery Engine location (default global, as the Terraform data store). */
  location?: string;
  /** API base (tests point it at a local fake); default https://discoveryengine.googleapis.com. */
  endpoint?: string;
  accessToken?: TokenSource;
  fetch?: typeof globalThis.fetch;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

interface SearchResultJson {
  id?: string;
  document?: {
    name?: string;
    id?: string;
    structData?: Record<string, unknown>;
    derivedStructData?: {
      title?: string;
      link?: string;
      snippets?: { snippet?: string }[];
      extractive_segments?: { content?: string; relevanceScore?: number; pageNumber?: string }[];
    };
  };
}

/** Google's snippets mark matches with <b>…</b> and escape entities; the passage is plain text. */
function plain(html: string): string {
  return html
    .replace(/<\/?b>/g, "")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&")
    .replace(/\s+/g, " ")
    .trim();
}

export class VertexAiSearchRetriever implements Retriever {
  readonly kind = "vertex-ai-search" as const;
  readonly servingConfig: string;
  private readonly client: GoogleJsonClient;

  constructor(opts: VertexAiSearchOptions) {
    const location = opts.location ?? "global";
    if (!opts.servingConfig && !opts.dataStore)
      throw new ValidationError("retrieval", "Vertex AI Search needs a data store id or a serving config");
    this.servingConfig =
      opts.servingConfig ??
      `projects/${opts.project}/locations/${location}/collections/default_collection/dataStores/${opts.dataStore}/servingConfigs/default_config`;
    const endpoint =
      opts.endpoint ??
      (location === "global"
        ? "https://discoveryengine.googleapis.com"
        : `https://${location}-discoveryengine.googleapis.com`);
    this.client = new GoogleJsonClient({
      base: `${endpoint.replace(/\/$/, "")}/v1`,
      token: opts.accessToken ?? (opts.endpoint ? undefined : googleAccessToken(opts.env)),
      errorCode: "retrieval",
      service: "Vertex AI Search",
      fetch: opts.fetch,
      timeoutMs: opts.timeoutMs,
      headers: { "x-goog-user-project": opts.project },
    });
  }

  async search(query: string, opts: { k?: number } = {}): Promise<RetrievalResponse> {
    const k = opts.k ?? 5;
    if (!query.trim()) return { index_version: this.servingConfig, results: [] };
    const body = await this.client.call<{ results?: SearchResultJson[] }>(
      "POST",
      `${this.servingConfig}:search`,
      {
        query,
        pageSize: k,
        contentSearchSpec: {
          snippetSpec: { returnSnippet: true },
          extractiveContentSpec: { maxExtractiveSegmentCount: 1, returnExtractiveSegmentScore: true },
        },
      },
    );
    const results: RetrievedPassage[] = [];
    for (const [rank, r] of (body?.results ?? []).entries()) {
      const doc = r.document ?? {};
      const d = doc.derivedStructData ?? {};
      const segment = d.extractive_segments?.find((s) => s.content?.trim());
      const text = segment?.content?.trim() ?? plain(d.snippets?.find((s) => s.snippet)?.snippet ?? "");
      if (!text) continue; // a result with neither segment nor snippet has nothing to quote
      const docId = doc.id ?? r.id ?? String(rank);
      const score = 1 / (rank + 1);
      const sd = doc.structData ?? {};
      results.push({
        doc_id: typeof sd.doc_id === "string" ? sd.doc_id : docId,
        chunk_id: `${docId}#${segment?.pageNumber ?? "0"}`,
        title: d.title ?? (typeof sd.title === "string" ? sd.title : docId),
        section: typeof sd.section === "string" ? sd.section : "",
        score,
        fused_score: segment?.relevanceScore ?? score,
        text,
        source: d.link ?? doc.name ?? docId,
      });
    }
    return { index_version: this.servingConfig, results: results.slice(0, k) };
  }
}

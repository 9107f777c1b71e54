/**
 * The embeddings port's contract (platform/ports/embeddings.ts), run by every adapter's tests with
 * the same cases. `setup` gives a provider; remote adapters also say how many texts each request to
 * their backend carried, and give a twin whose backend answers an error.
 */
import { afterEach, describe, expect, it } from "vitest";
import { TelcoError } from "../../errors.ts";
import { type EmbeddingProvider, embeddingFingerprint } from "../embeddings.ts";

export interface EmbeddingsFixture {
  provider: EmbeddingProvider;
  /** Texts carried by each request the backend received so far (remote adapters only). */
  requests?: () => number[];
  /** The same adapter with a backend that answers every request with an error (remote adapters). */
  failing?: () => EmbeddingProvider;
  dispose(): Promise<void>;
}

const TEXTS = [
  "como pedir a segunda via da fatura",
  "portabilidade do número para outra operadora",
  "my internet is slow since yesterday",
  "senha do roteador wi-fi",
];

const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
const cosine = (a: Float32Array, b: Float32Array) =>
  a.reduce((s, x, i) => s + x * b[i], 0) / (norm(a) * norm(b));

export function embeddingsContract(label: string, setup: () => Promise<EmbeddingsFixture>): void {
  describe(`EmbeddingProvider contract: ${label}`, () => {
    const open: EmbeddingsFixture[] = [];
    const fixture = async () => {
      const f = await setup();
      open.push(f);
      return f;
    };
    afterEach(async () => {
      for (const f of open.splice(0)) await f.dispose();
    });

    it("names its vector space and gives unit vectors of its dimension, for documents and queries", async () => {
      const { provider } = await fixture();
      expect(provider.dimension).toBeGreaterThan(0);
      expect(provider.maxBatch).toBeGreaterThan(0);
      expect(embeddingFingerprint(provider)).toBe(
        `${provider.provider}:${provider.model}:${provider.dimension}`,
      );
      for (const purpose of ["document", "query"] as const) {
        const vectors = await provider.embed(TEXTS, purpose);
        expect(vectors).toHaveLength(TEXTS.length);
        for (const v of vectors) {
          expect(v).toBeInstanceOf(Float32Array);
          expect(v).toHaveLength(provider.dimension);
          expect(norm(v)).toBeCloseTo(1, 4);
        }
      }
    });

    it("gives one vector per text, in order: a text's vector does not depend on its neighbours", async () => {
      const { provider } = await fixture();
      const together = await provider.embed(TEXTS, "document");
      const reversed = await provider.embed([...TEXTS].reverse(), "document");
      for (const [i, text] of TEXTS.entries()) {
        const [alone] = await provider.embed([text], "document");
        expect(cosine(together[i], alone)).toBeGreaterThan(0.9999);
        expect(cosine(reversed[TEXTS.length - 1 - i], alone)).toBeGreaterThan(0.9999);
      }
      // Different texts are different points.
      expect(cosine(together[0], together[1])).toBeLessThan(0.99);
    });

    it("embeds nothing for no texts, without calling its backend", async () => {
      const f = await fixture();
      const before = f.requests?.().length ?? 0;
      expect(await f.provider.embed([], "document")).toEqual([]);
      expect(f.requests?.().length ?? 0).toBe(before);
    });

    it("takes more texts than its batch limit: every vector in order, no request above the limit", async () => {
      const f = await fixture();
      const n = f.provider.maxBatch + 3;
      const texts = Array.from({ length: n }, (_, i) => `${TEXTS[i % TEXTS.length]} (${i})`);
      const before = f.requests?.().length ?? 0;
      const vectors = await f.provider.embed(texts, "document");
      expect(vectors).toHaveLength(n);
      const sent = f.requests?.().slice(before);
      if (sent) {
        expect(sent.length).toBeGreaterThan(1);
        expect(Math.max(...sent)).toBeLessThanOrEqual(f.provider.maxBatch);
        expect(sent.reduce((a, b) => a + b, 0)).toBe(n);
      }
      for (const i of [0, f.provider.maxBatch - 1, f.provider.maxBatch, n - 1]) {
        const [alone] = await f.provider.embed([texts[i]], "document");
        expect(cosine(vectors[i], alone)).toBeGreaterThan(0.9999);
      }
    });

    it("reports a backend's error answer as a TelcoError (the CLI prints it), and keeps working", async () => {
      const f = await fixture();
      if (!f.failing) return; // in-process adapters have no backend to fail
      const err = await f
        .failing()
        .embed(["segunda via"], "query")
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(TelcoError);
      expect((err as TelcoError).code).toBe("embeddings");
      expect((err as Error).message).toMatch(/quota exceeded for the project/);
      // The healthy provider is not affected.
      expect(await f.provider.embed(["segunda via"], "query")).toHaveLength(1);
    });
  });
}

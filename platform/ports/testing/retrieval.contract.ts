/**
 * The retrieval port's contract (platform/ports/retrieval.ts), run by every backend's tests with the
 * same cases. `setup` gets the knowledge base to serve (RETRIEVAL_CORPUS: one section per document)
 * and gives a retriever over it: a workspace index ingested from those documents, or a managed
 * search whose data store holds them.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { Retriever } from "../retrieval.ts";

export interface RetrievalCorpusDocument {
  doc_id: string;
  title: string;
  section: string;
  text: string;
}

export const RETRIEVAL_CORPUS: readonly RetrievalCorpusDocument[] = [
  {
    doc_id: "faq-segunda-via",
    title: "Segunda via da fatura",
    section: "Como pedir a segunda via",
    text: "Você pode pedir a segunda via da fatura pelo aplicativo ou pelo site, na área de faturas. O boleto chega por e-mail em poucos minutos.",
  },
  {
    doc_id: "faq-portabilidade",
    title: "Portabilidade numérica",
    section: "Como solicitar a portabilidade",
    text: "Para trazer seu número de outra operadora, peça a portabilidade em uma loja. A portabilidade é gratuita e leva até três dias úteis.",
  },
  {
    doc_id: "manual-roteador",
    title: "Manual do roteador",
    section: "Trocar a senha do wi-fi",
    text: "Para trocar a senha do wi-fi, acesse o painel do roteador pelo navegador e abra a aba de rede sem fio.",
  },
  {
    doc_id: "policy-roaming-en",
    title: "International roaming",
    section: "Roaming packages",
    text: "Roaming packages cost a daily fee and include mobile data abroad. Activate them in the app before you travel.",
  },
  {
    doc_id: "faq-velocidade",
    title: "Internet lenta",
    section: "Teste de velocidade",
    text: "Se a internet estiver lenta, reinicie o modem e faça um teste de velocidade perto do roteador, com o cabo de rede.",
  },
];

export interface RetrievalFixture {
  retriever: Retriever;
  dispose(): Promise<void>;
}

export function retrievalContract(
  label: string,
  setup: (corpus: readonly RetrievalCorpusDocument[]) => Promise<RetrievalFixture>,
): void {
  describe(`Retriever contract: ${label}`, () => {
    const open: RetrievalFixture[] = [];
    const fixture = async () => {
      const f = await setup(RETRIEVAL_CORPUS);
      open.push(f);
      return f.retriever;
    };
    afterEach(async () => {
      for (const f of open.splice(0)) await f.dispose();
    });

    it("puts the document that answers first, as a citable passage of that document", async () => {
      const r = await fixture();
      for (const [question, doc] of [
        ["como pedir a segunda via da fatura", "faq-segunda-via"],
        ["trocar a senha do wi-fi do roteador", "manual-roteador"],
        ["how much do roaming packages cost", "policy-roaming-en"],
      ] as const) {
        const res = await r.search(question, { k: 3 });
        expect(res.index_version).toEqual(expect.any(String));
        expect(res.index_version.length).toBeGreaterThan(0);
        const [best] = res.results;
        const source = RETRIEVAL_CORPUS.find((d) => d.doc_id === doc);
        expect(best?.doc_id).toBe(doc);
        expect(best?.title).toBe(source?.title);
        expect(best?.chunk_id).toEqual(expect.any(String));
        expect(best?.source.length).toBeGreaterThan(0);
        // The passage is text of the document (what a citation may quote), not a paraphrase.
        expect(best?.text).toContain(source?.text.slice(0, 40));
        for (const p of res.results) {
          expect(Object.keys(p).sort()).toEqual([
            "chunk_id",
            "doc_id",
            "fused_score",
            "score",
            "section",
            "source",
            "text",
            "title",
          ]);
          expect(Number.isFinite(p.score) && Number.isFinite(p.fused_score)).toBe(true);
        }
      }
    });

    it("returns at most k passages, best first (scores never increase down the list)", async () => {
      const r = await fixture();
      const question = "internet lenta e senha do roteador wi-fi";
      const one = await r.search(question, { k: 1 });
      const four = await r.search(question, { k: 4 });
      expect(one.results).toHaveLength(1);
      expect(four.results.length).toBeGreaterThan(1);
      expect(four.results.length).toBeLessThanOrEqual(4);
      expect(four.results[0].doc_id).toBe(one.results[0].doc_id);
      const scores = four.results.map((p) => p.score);
      expect(scores).toEqual([...scores].sort((a, b) => b - a));
      expect((await r.search(question)).results.length).toBeGreaterThan(0); // a default k
    });

    it("answers the same question the same way, from the same index version", async () => {
      const r = await fixture();
      const a = await r.search("portabilidade do número", { k: 3 });
      const b = await r.search("portabilidade do número", { k: 3 });
      expect(b).toEqual(a);
      expect(a.results[0].doc_id).toBe("faq-portabilidade");
    });

    it("finds nothing for a blank question", async () => {
      const r = await fixture();
      expect((await r.search("   ", { k: 3 })).results).toEqual([]);
    });
  });
}

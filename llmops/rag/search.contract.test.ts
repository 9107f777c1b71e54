import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Retriever } from "../../platform/ports/retrieval.ts";
import { retrievalContract } from "../../platform/ports/testing/retrieval.contract.ts";
import { LocalHashEmbedder } from "./embeddings/local.ts";
import { ingestDocuments } from "./ingest.ts";
import { openIndex } from "./search.ts";

// The port's shared contract against the workspace RAG index (what runs when `app.retriever()` is
// null): RagIndex.search already has the port's shape, so the index itself is the local retriever.
retrievalContract("workspace RAG index (RagIndex, local profile)", async (corpus) => {
  const dir = mkdtempSync(join(tmpdir(), "telco-retrieval-contract-"));
  const docs = join(dir, "kb");
  mkdirSync(docs);
  for (const d of corpus)
    writeFileSync(
      join(docs, `${d.doc_id}.md`),
      `---\nid: ${d.doc_id}\ntitle: ${d.title}\ntype: faq\nlanguage: ${d.doc_id.endsWith("-en") ? "en" : "pt-BR"}\n---\n\n# ${d.title}\n\n## ${d.section}\n\n${d.text}\n`,
    );
  const embedder = new LocalHashEmbedder(64);
  await ingestDocuments({
    ragRoot: join(dir, "rag"),
    paths: [docs],
    embedder,
    chunker: { maxTokens: 120, overlapTokens: 10 },
  });
  const retriever: Retriever = await openIndex(join(dir, "rag"), "default", embedder);
  return {
    retriever,
    async dispose() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

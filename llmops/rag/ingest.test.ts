import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ingestDocuments } from "./ingest.ts";
import { openIndex } from "./search.ts";
import { indexDir, readIndex } from "./store.ts";
import { CountingEmbedder, tempDir } from "./test-helpers.ts";

const fixtures = join(import.meta.dirname, "fixtures", "kb");
const chunker = { maxTokens: 120, overlapTokens: 10 };

function setup() {
  const root = tempDir();
  const kb = join(root, "kb");
  cpSync(fixtures, kb, { recursive: true });
  const embedder = new CountingEmbedder();
  const ragRoot = join(root, "rag");
  const ingest = (extra: { rebuild?: boolean; paths?: string[] } = {}) =>
    ingestDocuments({ ragRoot, paths: extra.paths ?? [kb], embedder, chunker, rebuild: extra.rebuild });
  return { root, kb, embedder, ragRoot, ingest };
}

describe("ingestDocuments", () => {
  it("builds a versioned index with a manifest", async () => {
    const { ragRoot, ingest } = setup();
    const r = await ingest();
    expect(r.documents).toMatchObject({ total: 5, added: 5 });
    expect(r.skipped).toEqual([]);
    const data = await readIndex(indexDir(ragRoot, "default"));
    expect(data.manifest.version).toBe(r.index_version);
    expect(data.manifest.chunker).toEqual(chunker);
    expect(data.manifest.embedding).toEqual({ provider: "local", model: "hash-ngram-v1", dimension: 64 });
    expect(data.manifest.documents.map((d) => d.doc_id).sort()).toEqual([
      "atendimento",
      "faq-fatura",
      "faq-portabilidade",
      "manual-roteador",
      "policy-roaming-en",
    ]);
    for (const d of data.manifest.documents) expect(d.content_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(data.vectors.length).toBe(data.chunks.length * 64);
  });

  it("re-embeds only the chunks of a changed file and keeps the version when nothing changed", async () => {
    const { kb, embedder, ingest } = setup();
    const first = await ingest();
    const total = first.chunks.total;
    expect(embedder.embedded).toHaveLength(total);

    embedder.embedded = [];
    const same = await ingest();
    expect(same.changed).toBe(false);
    expect(same.index_version).toBe(first.index_version);
    expect(embedder.embedded).toHaveLength(0);
    expect(same.documents.unchanged).toBe(5);

    const file = join(kb, "faq", "fatura.md");
    writeFileSync(
      file,
      "---\nid: faq-fatura\ntitle: Fatura e pagamentos\ntype: faq\nproduct: geral\n---\n\n## Segunda via da fatura\n\nA segunda via da fatura pode ser emitida no aplicativo Aurora ou pelo site, em Minha Conta > Faturas.\n\n## Débito automático\n\nCadastre o débito automático no app.\n",
    );
    embedder.embedded = [];
    const after = await ingest();
    expect(after.changed).toBe(true);
    expect(after.documents).toMatchObject({ updated: 1, unchanged: 4, added: 0, removed: 0 });
    // The unchanged "Segunda via" section keeps its vector (text unchanged); only the new one is embedded.
    expect(embedder.embedded).toHaveLength(1);
    expect(embedder.embedded[0]).toContain("Débito automático");
    expect(after.previous_version).toBe(first.index_version);
  });

  it("removes documents whose files were deleted, keeps documents from other roots", async () => {
    const { root, kb, ragRoot, embedder, ingest } = setup();
    const other = join(root, "other");
    mkdirSync(other);
    writeFileSync(
      join(other, "horario.txt"),
      "Horário das lojas\n\nAs lojas Aurora abrem aos domingos das 10h às 18h.",
    );
    await ingest();
    await ingest({ paths: [other] });
    rmSync(join(kb, "manuais", "roteador.html"));
    const r = await ingest();
    expect(r.documents.removed).toBe(1);
    const index = await openIndex(ragRoot, "default", embedder);
    const ids = new Set(index.chunks.map((c) => c.doc_id));
    expect(ids.has("manual-roteador")).toBe(false);
    expect(ids.has("horario")).toBe(true);
    expect(
      (await index.search("senha do wi-fi roteador", { k: 3 })).results.every(
        (x) => x.doc_id !== "manual-roteador",
      ),
    ).toBe(true);
  });

  it("skips duplicate content and duplicate doc ids with a reason", async () => {
    const { kb, ingest } = setup();
    cpSync(join(kb, "faq", "fatura.md"), join(kb, "copia-fatura.md"));
    writeFileSync(join(kb, "outro.md"), "---\nid: faq-fatura\ntitle: Outro\n---\n## X\n\ntexto diferente");
    const r = await ingest();
    const reasons = r.skipped.map((s) => `${s.source.split("/").pop()}: ${s.reason}`).sort();
    expect(reasons).toHaveLength(2);
    expect(reasons.join("\n")).toMatch(/doc id "faq-fatura" is already used/);
    expect(reasons.join("\n")).toMatch(/same content as .*(fatura|copia-fatura)\.md \(deduplicated\)/);
  });

  it("keeps at most 3 versions and switches CURRENT atomically", async () => {
    const { kb, ragRoot, ingest } = setup();
    for (let i = 0; i < 5; i++) {
      writeFileSync(join(kb, "extra.md"), `## Nota\n\nversão ${i} do documento extra`);
      await ingest();
    }
    const dir = indexDir(ragRoot, "default");
    expect(readdirSync(join(dir, "versions")).filter((n) => !n.startsWith("."))).toHaveLength(3);
    expect(existsSync(join(dir, "CURRENT.tmp"))).toBe(false);
  });

  it("re-embeds everything with --rebuild", async () => {
    const { embedder, ingest } = setup();
    const first = await ingest();
    embedder.embedded = [];
    const again = await ingest({ rebuild: true });
    expect(embedder.embedded).toHaveLength(first.chunks.total);
    expect(again.index_version).toBe(first.index_version);
  });
});

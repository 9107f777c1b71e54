import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ingestDocuments } from "./ingest.ts";
import { LoadError, loadDocument, loadHtml, loadMarkdown } from "./loaders.ts";
import { CountingEmbedder, makePdf, tempDir } from "./test-helpers.ts";

const fixtures = join(import.meta.dirname, "fixtures", "kb");

describe("loaders", () => {
  it("reads Markdown front matter and heading paths (title heading dropped)", async () => {
    const doc = await loadDocument(join(fixtures, "faq", "portabilidade.md"));
    expect(doc.metadata).toEqual({
      doc_id: "faq-portabilidade",
      title: "Portabilidade numérica",
      type: "faq",
      product: "movel",
      effective_date: "2025-03-01",
      language: "pt-BR",
    });
    expect(doc.sections.map((s) => s.path)).toEqual([
      ["Como solicitar a portabilidade"],
      ["Cancelamento da portabilidade"],
      ["Cancelamento da portabilidade", "Multas"],
    ]);
  });

  it("ignores headings inside code fences and falls back to the file name for the id", () => {
    const doc = loadMarkdown("/kb/sem-meta.md", "# Guia\n\n```\n# não é título\n```\n\ntexto");
    expect(doc.metadata.doc_id).toBe("sem-meta");
    expect(doc.metadata.title).toBe("Guia");
    expect(doc.sections).toHaveLength(1);
    expect(doc.sections[0].text).toContain("# não é título");
  });

  it("names the field on bad metadata", () => {
    expect(() => loadMarkdown("/kb/x.md", "---\ntype: blog\n---\ntexto")).toThrow(/"type" must be one of/);
    expect(() => loadMarkdown("/kb/x.md", "---\neffective_date: ontem\n---\ntexto")).toThrow(
      /effective_date/,
    );
    expect(() => loadMarkdown("/kb/x.md", "---\na: [1,\n---\ntexto")).toThrow(LoadError);
  });

  it("reads HTML meta tags, headings, lists and drops scripts/styles", async () => {
    const doc = await loadDocument(join(fixtures, "manuais", "roteador.html"));
    expect(doc.metadata).toMatchObject({
      doc_id: "manual-roteador",
      type: "manual",
      product: "fibra",
      effective_date: "2025-06-10",
    });
    expect(doc.sections.map((s) => s.path)).toEqual([["Reiniciar o roteador"], ["Trocar a senha do Wi-Fi"]]);
    expect(doc.sections[1].text).toContain("- Use pelo menos 12 caracteres.");
    const all = doc.sections.map((s) => s.text).join(" ");
    expect(all).not.toContain("console.log");
    expect(all).not.toContain("color: red");
  });

  it("rejects HTML without markup or text", async () => {
    await expect(loadHtml("/kb/x.html", "just words")).rejects.toThrow(/no HTML markup/);
    await expect(loadHtml("/kb/x.html", "<html><body><script>x</script></body></html>")).rejects.toThrow(
      /no text/,
    );
  });

  it("reads PDF text, metadata from Title/Keywords and numbered headings", async () => {
    const dir = tempDir();
    const file = join(dir, "politica.pdf");
    writeFileSync(
      file,
      await makePdf({
        title: "Política de reembolso",
        keywords:
          "doc-id=pol-reembolso; type=policy; product=geral; effective-date=2025-02-01; language=pt-BR",
        lines: [
          "1. Prazos",
          "O reembolso é feito em até 30 dias.",
          "2. Forma de devolução",
          "Crédito na próxima fatura.",
        ],
      }),
    );
    const doc = await loadDocument(file);
    expect(doc.metadata).toMatchObject({
      doc_id: "pol-reembolso",
      title: "Política de reembolso",
      type: "policy",
      effective_date: "2025-02-01",
    });
    expect(doc.sections.map((s) => s.path[0])).toEqual(["1. Prazos", "2. Forma de devolução"]);
    expect(doc.sections[0].text).toContain("reembolso é feito em até 30 dias");
  });

  it("takes PDF headings from a larger font and skips the title line", async () => {
    const file = join(tempDir(), "guia.pdf");
    writeFileSync(
      file,
      await makePdf({
        title: "Guia - Fibra",
        keywords: "doc-id:guia-fibra, product:fibra, effective-date:2026-01-01, language:pt-BR, type:manual",
        lines: [
          "# Guia: Fibra",
          "Bem-vindo à Aurora.",
          "# Antes da instalação",
          "Separe um documento.",
          "# Luzes",
          "LOS vermelha indica falta de sinal.",
        ],
      }),
    );
    const doc = await loadDocument(file);
    expect(doc.metadata).toMatchObject({ doc_id: "guia-fibra", type: "manual", product: "fibra" });
    expect(doc.sections.map((s) => [s.path[0], s.text])).toEqual([
      ["p. 1", "Bem-vindo à Aurora."],
      ["Antes da instalação", "Separe um documento."],
      ["Luzes", "LOS vermelha indica falta de sinal."],
    ]);
  });

  it("reports corrupt PDF and HTML files by name and still indexes the rest", async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, "bom.md"),
      "---\nid: bom\ntitle: Bom\n---\n## Seção\n\nConteúdo válido sobre recarga.",
    );
    writeFileSync(join(dir, "quebrado.pdf"), "%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage without xref");
    writeFileSync(
      join(dir, "binario.html"),
      Buffer.from([0x3c, 0x68, 0x31, 0x3e, 0xff, 0xfe, 0x00, 0xc3, 0x28]),
    );
    writeFileSync(join(dir, "falso.pdf"), "this is not a pdf");
    const report = await ingestDocuments({
      ragRoot: join(dir, "rag"),
      paths: [dir],
      embedder: new CountingEmbedder(),
      chunker: { maxTokens: 100, overlapTokens: 10 },
    });
    expect(report.documents.total).toBe(1);
    const reasons = Object.fromEntries(report.skipped.map((s) => [s.source.split("/").pop(), s.reason]));
    expect(Object.keys(reasons).sort()).toEqual(["binario.html", "falso.pdf", "quebrado.pdf"]);
    expect(reasons["quebrado.pdf"]).toMatch(/unreadable PDF/);
    expect(reasons["falso.pdf"]).toMatch(/missing %PDF- header/);
    expect(reasons["binario.html"]).toMatch(/UTF-8/);
  });
});

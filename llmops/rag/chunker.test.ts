import { describe, expect, it } from "vitest";
import { chunkDocument } from "./chunker.ts";
import type { LoadedDocument } from "./types.ts";

function doc(sections: { path: string[]; text: string }[], id = "doc-1"): LoadedDocument {
  return {
    metadata: {
      doc_id: id,
      title: "T",
      type: "faq",
      product: "movel",
      effective_date: "2025-01-01",
      language: "pt-BR",
    },
    sections,
    source: "/kb/doc.md",
    format: "markdown",
  };
}
const words = (n: number, prefix = "w") => Array.from({ length: n }, (_, i) => `${prefix}${i}`).join(" ");

describe("chunker", () => {
  it("never crosses a section boundary and records the heading path", () => {
    const chunks = chunkDocument(
      doc([
        { path: ["A"], text: "alpha text" },
        { path: ["A", "B"], text: "beta text" },
      ]),
      { maxTokens: 100, overlapTokens: 10 },
    );
    expect(chunks.map((c) => [c.section, c.text])).toEqual([
      ["A", "alpha text"],
      ["A › B", "beta text"],
    ]);
  });

  it("bounds chunks by maxTokens and overlaps consecutive chunks", () => {
    const chunks = chunkDocument(doc([{ path: ["S"], text: words(250) }]), {
      maxTokens: 100,
      overlapTokens: 20,
    });
    expect(chunks.length).toBeGreaterThan(2);
    for (const c of chunks) expect(c.text.split(" ").length).toBeLessThanOrEqual(100);
    for (let i = 1; i < chunks.length; i++) {
      const prev = chunks[i - 1].text.split(" ");
      const cur = chunks[i].text.split(" ");
      expect(cur.slice(0, 20)).toEqual(prev.slice(-20));
    }
    // Every word of the section is covered.
    const covered = new Set(chunks.flatMap((c) => c.text.split(" ")));
    expect(covered.size).toBe(250);
  });

  it("packs whole paragraphs when they fit", () => {
    const text = `${words(40, "a")}\n\n${words(40, "b")}\n\n${words(40, "c")}`;
    const chunks = chunkDocument(doc([{ path: ["S"], text }]), { maxTokens: 90, overlapTokens: 0 });
    expect(chunks).toHaveLength(2);
    expect(chunks[0].text.startsWith("a0") && chunks[0].text.endsWith("b39")).toBe(true);
    expect(chunks[1].text).toBe(words(40, "c"));
  });

  it("gives stable ids that change only with the content", () => {
    const settings = { maxTokens: 50, overlapTokens: 5 };
    const a = chunkDocument(doc([{ path: ["S"], text: words(120) }]), settings);
    const b = chunkDocument(doc([{ path: ["S"], text: words(120) }]), settings);
    expect(b.map((c) => c.chunk_id)).toEqual(a.map((c) => c.chunk_id));
    expect(new Set(a.map((c) => c.chunk_id)).size).toBe(a.length);
    const other = chunkDocument(doc([{ path: ["S"], text: words(120) }], "doc-2"), settings);
    expect(other[0].chunk_id).not.toBe(a[0].chunk_id);
    const edited = chunkDocument(doc([{ path: ["S"], text: `${words(120)} extra` }]), settings);
    expect(edited[0].chunk_id).toBe(a[0].chunk_id);
    expect(edited.at(-1)!.chunk_id).not.toBe(a.at(-1)!.chunk_id);
  });

  it("carries document metadata to every chunk", () => {
    const [c] = chunkDocument(doc([{ path: ["S"], text: "x y" }]), { maxTokens: 10, overlapTokens: 0 });
    expect(c).toMatchObject({
      doc_id: "doc-1",
      type: "faq",
      product: "movel",
      effective_date: "2025-01-01",
      source: "/kb/doc.md",
    });
  });

  it("rejects an overlap that would not make progress", () => {
    expect(() => chunkDocument(doc([{ path: [], text: "x" }]), { maxTokens: 10, overlapTokens: 6 })).toThrow(
      /overlap/,
    );
  });
});

import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { chunkDocument } from "./chunker.ts";
import { ingestDocuments } from "./ingest.ts";
import { LoadError, loadDocument } from "./loaders.ts";
import { type RawChunk, ReadRefused, readBlocks, SectionChunker, streamDocument } from "./stream.ts";
import { CountingEmbedder, tempDir } from "./test-helpers.ts";
import type { Chunk, ChunkerSettings } from "./types.ts";

/** The bytes of `data` cut at the given offsets (anywhere, also inside a multi-byte character). */
async function* cutAt(data: Buffer, cuts: number[]): AsyncGenerator<Buffer> {
  let from = 0;
  for (const cut of [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b)) {
    yield data.subarray(from, cut);
    from = cut;
  }
  yield data.subarray(from);
}

type Outcome = { chunks: Chunk[]; title: string } | { error: string };

async function wholeFile(path: string, data: Buffer, settings: ChunkerSettings): Promise<Outcome> {
  try {
    const doc = await loadDocument(path, data);
    return { chunks: chunkDocument(doc, settings), title: doc.metadata.title };
  } catch (err) {
    if (err instanceof LoadError) return { error: err.message };
    throw err;
  }
}

async function streamed(
  path: string,
  blocks: AsyncIterable<Buffer>,
  settings: ChunkerSettings,
): Promise<Outcome> {
  try {
    const doc = streamDocument(path, blocks, settings);
    const raw: RawChunk[] = [];
    for await (const c of doc.chunks) raw.push(c);
    const { metadata, chunks } = doc.finish(raw);
    return { chunks, title: metadata.title };
  } catch (err) {
    if (err instanceof LoadError) return { error: err.message };
    throw err;
  }
}

// Text made of the pieces that matter to the loaders: words, sentence ends, spaces, blank lines,
// CRLF, headings, code fences, a front matter fence, non-ASCII letters (2–4 UTF-8 bytes).
const piece = fc.constantFrom(
  "palavra",
  "fatura",
  "ção",
  "ñ",
  "😀",
  "fim.",
  "sim?",
  "não!",
  "item;",
  "nota:",
  " ",
  "  ",
  "\t",
  "\n",
  "\n\n",
  "\r\n",
  "\r\n\r\n",
  "\n \n",
  "\n# Título\n",
  "\n## Seção **forte**\n",
  "\n### Sub ##\n",
  "\n```\n",
  "\n~~~\n",
  "\n---\n",
  "\n- item\n",
  "[link](http://x)",
  "| --- |",
  "\uFEFF",
);
const body = fc.array(piece, { maxLength: 400 }).map((p) => p.join(""));
const frontMatter = fc.constantFrom(
  "",
  "---\ntitle: Guia de teste\ntype: faq\n---\n",
  "---\r\nid: doc-x\nproduct: Movel\r\n---\r\n",
  "---\ntitle: Título\n---",
  "---\ntype: blog\n---\n",
  "---\na: [1,\n---\n",
  "---\n- lista\n---\n",
  "\uFEFF---\ntitle: Com BOM\n---\n",
  "---\nnunca fechado\n",
);
const settings = fc.constantFrom<ChunkerSettings>(
  { maxTokens: 8, overlapTokens: 0 },
  { maxTokens: 8, overlapTokens: 3 },
  { maxTokens: 12, overlapTokens: 5 },
  { maxTokens: 40, overlapTokens: 10 },
);

describe("streaming loaders", () => {
  it("make the same chunks as the whole-file loaders, wherever the blocks are cut (Markdown and text)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("/kb/doc.md", "/kb/doc.txt"),
        frontMatter,
        body,
        fc.array(fc.nat(), { maxLength: 12 }),
        settings,
        async (path, fm, text, cuts, chunker) => {
          const data = Buffer.from(fm + text, "utf8");
          const expected = await wholeFile(path, data, chunker);
          const actual = await streamed(path, cutAt(data, cuts), chunker);
          expect(actual).toEqual(expected);
        },
      ),
      { numRuns: 400 },
    );
  });

  it("keep a long paragraph intact across one-byte blocks", async () => {
    const words = Array.from({ length: 500 }, (_, i) => `palavra${i}${i % 17 === 0 ? "." : ""}`).join(" ");
    const data = Buffer.from(`Título\n\n${words}\n\nfim`, "utf8");
    const chunker = { maxTokens: 50, overlapTokens: 10 };
    const bytes = Array.from({ length: data.length }, (_, i) => i);
    const a = await streamed("/kb/long.txt", cutAt(data, bytes), chunker);
    expect(a).toEqual(await wholeFile("/kb/long.txt", data, chunker));
    // Every word is in some chunk, none is cut.
    const seen = new Set(("chunks" in a ? a.chunks : []).flatMap((c) => c.text.split(" ")));
    for (const w of words.split(" ")) expect(seen.has(w)).toBe(true);
  });

  it("yields the first chunks before the file is read to the end", async () => {
    const dir = tempDir();
    const file = join(dir, "grande.txt");
    const paragraph = `${Array.from({ length: 120 }, (_, i) => `termo${i}`).join(" ")}\n\n`;
    writeFileSync(file, `Manual\n\n${paragraph.repeat(2000)}`); // ≈ 1.9 MB
    const size = Buffer.byteLength(`Manual\n\n${paragraph.repeat(2000)}`);
    let bytesRead = 0;
    const counted = async function* () {
      for await (const block of readBlocks(file, 10 * 1024 * 1024, 16 * 1024)) {
        bytesRead += block.length;
        yield block;
      }
    };
    const doc = streamDocument(file, counted(), { maxTokens: 200, overlapTokens: 30 });
    const first = await doc.chunks.next();
    expect(first.done).toBe(false);
    expect(first.value?.text.startsWith("Manual termo0")).toBe(true);
    expect(bytesRead).toBeLessThanOrEqual(2 * 16 * 1024);
    expect(bytesRead).toBeLessThan(size / 50);
    let n = 1;
    for await (const _ of doc.chunks) n++;
    expect(bytesRead).toBe(size);
    expect(n).toBeGreaterThan(1000);
  });

  it("holds at most one paragraph's worth of words while packing", () => {
    const chunker = new SectionChunker({ maxTokens: 20, overlapTokens: 4 });
    const out: string[] = [];
    // 10,000 words with no sentence end and no blank line: chunks come out as the words go in.
    for (let i = 0; i < 10_000; i++) {
      out.push(...chunker.push(`w${i} `));
      if (i === 100) expect(out.length).toBeGreaterThan(3);
    }
    out.push(...chunker.end());
    expect(out.every((c) => c.split(" ").length <= 20)).toBe(true);
    expect(out.at(-1)?.endsWith("w9999")).toBe(true);
  });

  it("refuses a file that grows past the cap while it is read", async () => {
    const dir = tempDir();
    const file = join(dir, "cresce.txt");
    writeFileSync(file, "a ".repeat(2000)); // 4,000 bytes, cap 5,000
    const blocks = readBlocks(file, 5000, 1024);
    await blocks.next();
    appendFileSync(file, "b ".repeat(2000));
    await expect(
      (async () => {
        for await (const _ of blocks);
      })(),
    ).rejects.toThrow(ReadRefused);
  });

  it("rejects invalid UTF-8 cut inside a block with the file's reason", async () => {
    const data = Buffer.concat([
      Buffer.from("Título\n\ntexto "),
      Buffer.from([0xc3, 0x28]),
      Buffer.from(" fim"),
    ]);
    expect(await streamed("/kb/x.txt", cutAt(data, [3, 15]), { maxTokens: 20, overlapTokens: 0 })).toEqual({
      error: "not valid UTF-8 text (binary or wrongly encoded file)",
    });
  });
});

describe("rag ingest of large text files", () => {
  it("indexes a streamed Markdown file and skips one over the cap with the reason", async () => {
    const root = tempDir();
    const kb = join(root, "kb");
    const paragraphs = (n: number) =>
      Array.from(
        { length: n },
        (_, p) => `${Array.from({ length: 60 }, (_, i) => `t${p}x${i}`).join(" ")}.\n\n`,
      ).join("");
    mkdirSync(kb);
    writeFileSync(
      join(kb, "manual.md"),
      `---\ntitle: Manual\ntype: manual\n---\n# Instalação\n\n${paragraphs(300)}`,
    );
    writeFileSync(join(kb, "grande.md"), `# Grande\n\n${paragraphs(3000)}`); // ≈ 1.5 MB
    const report = await ingestDocuments({
      ragRoot: join(root, "rag"),
      paths: [kb],
      embedder: new CountingEmbedder(),
      chunker: { maxTokens: 200, overlapTokens: 30 },
      maxFileBytes: 1024 * 1024,
    });
    expect(report.skipped).toEqual([
      {
        source: join(kb, "grande.md"),
        reason: expect.stringMatching(
          /^cannot read: 1\.\d MiB, over the limit of 1\.0 MiB \(rag\.ingest\.maxFileBytes\)$/,
        ),
      },
    ]);
    expect(report.documents.total).toBe(1);
    // As many chunks as the whole-file loader makes (300 paragraphs of 61 words, 2–3 per chunk).
    const whole = chunkDocument(await loadDocument(join(kb, "manual.md")), {
      maxTokens: 200,
      overlapTokens: 30,
    });
    expect(whole.length).toBe(150);
    expect(report.chunks.total).toBe(whole.length);
    // A second run reads the bytes' hash only and reuses everything.
    const again = await ingestDocuments({
      ragRoot: join(root, "rag"),
      paths: [kb],
      embedder: new CountingEmbedder(),
      chunker: { maxTokens: 200, overlapTokens: 30 },
      maxFileBytes: 1024 * 1024,
    });
    expect(again.changed).toBe(false);
    expect(again.documents.unchanged).toBe(1);
    expect(again.chunks.embedded).toBe(0);
  });
});

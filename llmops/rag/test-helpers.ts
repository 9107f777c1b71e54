import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PDFDocument, StandardFonts } from "pdf-lib";
import type { EmbeddingProvider, EmbeddingPurpose } from "../../platform/ports/embeddings.ts";
import { LocalHashEmbedder } from "./embeddings/local.ts";

/** Test-only: a fresh temporary folder. */
export function tempDir(prefix = "telco-rag-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Test-only: a small PDF with metadata in Title/Keywords, one line per entry; "# x" lines are set large. */
export async function makePdf(opts: {
  title: string;
  keywords: string;
  lines: string[];
}): Promise<Uint8Array> {
  const pdf = await PDFDocument.create();
  pdf.setTitle(opts.title);
  pdf.setKeywords([opts.keywords]);
  pdf.setCreationDate(new Date("2025-01-01T00:00:00Z"));
  pdf.setModificationDate(new Date("2025-01-01T00:00:00Z"));
  const font = await pdf.embedFont(StandardFonts.Helvetica);
  const page = pdf.addPage([595, 842]);
  let y = 800;
  for (const line of opts.lines) {
    const heading = line.startsWith("# ");
    page.drawText(heading ? line.slice(2) : line, { x: 50, y, size: heading ? 15 : 11, font });
    y -= 18;
  }
  return pdf.save();
}

/** Test-only: the local embedder, counting every text it embeds. */
export class CountingEmbedder implements EmbeddingProvider {
  readonly inner = new LocalHashEmbedder(64);
  readonly provider = "local";
  readonly model = this.inner.model;
  readonly dimension = 64;
  readonly maxBatch = 1000;
  readonly prefixSearchable = true;
  embedded: string[] = [];
  async embed(texts: string[], purpose: EmbeddingPurpose): Promise<Float32Array[]> {
    if (purpose === "document") this.embedded.push(...texts);
    return this.inner.embed(texts);
  }
}

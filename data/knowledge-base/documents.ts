/**
 * Lists the knowledge-base documents with their metadata, for tests and the golden-set checks.
 * The retrieval engine (llmops/rag) has its own ingestion; this reader only enforces the agreed formats.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { load as loadHtml } from "cheerio";
import {
  DOC_TYPES,
  type DocMetadata,
  KnowledgeBaseError,
  PDF_SOURCE_DIR,
  parseFrontMatter,
  validateMetadata,
} from "./build-pdfs.ts";

/** Root folder of the knowledge base. */
export const KNOWLEDGE_BASE_DIR = fileURLToPath(new URL("./", import.meta.url));

export type DocFormat = "markdown" | "html" | "pdf";

/** One document: metadata, where it lives, and its plain body text (PDF sources: the Markdown body). */
export interface KnowledgeBaseDocument {
  meta: DocMetadata;
  format: DocFormat;
  path: string;
  text: string;
}

/** Reads an HTML document's `<title>` and `<meta name=...>` tags and its visible body text. */
export function parseHtmlDocument(html: string, file: string): { meta: DocMetadata; text: string } {
  const $ = loadHtml(html);
  const metaTag = (name: string) => $(`meta[name="${name}"]`).attr("content");
  const meta = validateMetadata(
    {
      id: metaTag("doc-id"),
      title: $("title").first().text(),
      type: metaTag("type"),
      product: metaTag("product"),
      effective_date: metaTag("effective-date"),
      language: metaTag("language"),
    },
    file,
  );
  if ($("h1").length === 0) throw new KnowledgeBaseError(file, "HTML document has no <h1>");
  // Cells and blocks are often written without whitespace between them; keep words from gluing together.
  $("h1, h2, h3, h4, p, li, tr, td, th").after(" ");
  return { meta, text: $("body").text().replace(/\s+/g, " ").trim() };
}

/** Loads every document of the knowledge base (type folders plus PDF sources), sorted by path. */
export async function listKnowledgeBaseDocuments(
  root: string = KNOWLEDGE_BASE_DIR,
): Promise<KnowledgeBaseDocument[]> {
  const docs: KnowledgeBaseDocument[] = [];
  for (const type of DOC_TYPES) {
    const dir = join(root, type);
    const names = (await readdir(dir).catch(() => [] as string[])).sort();
    for (const name of names) {
      const path = join(dir, name);
      if (name.endsWith(".md")) {
        const { meta, body } = parseFrontMatter(await readFile(path, "utf8"), path);
        docs.push({ meta, format: "markdown", path, text: body });
      } else if (name.endsWith(".html")) {
        const { meta, text } = parseHtmlDocument(await readFile(path, "utf8"), path);
        docs.push({ meta, format: "html", path, text });
      }
    }
  }
  const pdfDir = root === KNOWLEDGE_BASE_DIR ? PDF_SOURCE_DIR : join(root, "pdf-src");
  for (const name of (await readdir(pdfDir).catch(() => [] as string[])).sort()) {
    if (!name.endsWith(".md")) continue;
    const path = join(pdfDir, name);
    const { meta, body } = parseFrontMatter(await readFile(path, "utf8"), path);
    docs.push({ meta, format: "pdf", path, text: body });
  }
  return docs;
}

/**
 * Renders the knowledge-base PDF sources (Markdown with YAML front matter in `pdf-src/`) into real PDFs,
 * so the retrieval engine has to ingest PDF text exactly as it would for an operator's scanned-free manuals.
 * Usage: node data/knowledge-base/build-pdfs.ts OUTDIR
 */
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { PDFDocument, type PDFFont, type PDFPage, rgb, StandardFonts } from "pdf-lib";
import { parse as parseYaml } from "yaml";

/** Folder holding the Markdown sources of the PDF documents. */
export const PDF_SOURCE_DIR = fileURLToPath(new URL("./pdf-src/", import.meta.url));

export const DOC_TYPES = ["faq", "manual", "policy", "catalog", "regulation"] as const;
export const DOC_PRODUCTS = ["all", "mobile", "fibra", "tv", "combo"] as const;

export type DocType = (typeof DOC_TYPES)[number];
export type DocProduct = (typeof DOC_PRODUCTS)[number];

/** Metadata every knowledge-base document carries (front matter, HTML meta tags or PDF info). */
export interface DocMetadata {
  id: string;
  title: string;
  type: DocType;
  product: DocProduct;
  effective_date: string;
  language: string;
}

/** A Markdown document split into its validated metadata and body. */
export interface FrontMatterDoc {
  meta: DocMetadata;
  body: string;
}

/** Error naming the file and field that is wrong; kept local so this script runs standalone. */
export class KnowledgeBaseError extends Error {
  readonly file: string;
  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = "KnowledgeBaseError";
    this.file = file;
  }
}

/** Validates raw metadata values (from any format) and returns typed metadata; throws naming file and field. */
export function validateMetadata(raw: Record<string, unknown>, file: string): DocMetadata {
  const str = (field: string): string => {
    const value = raw[field];
    if (value === undefined || value === null || String(value).trim() === "") {
      throw new KnowledgeBaseError(file, `missing metadata field "${field}"`);
    }
    return value instanceof Date ? value.toISOString().slice(0, 10) : String(value).trim();
  };
  const id = str("id");
  if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(id))
    throw new KnowledgeBaseError(file, `field "id" must be kebab-case, got "${id}"`);
  const type = str("type");
  if (!(DOC_TYPES as readonly string[]).includes(type)) {
    throw new KnowledgeBaseError(file, `field "type" must be one of ${DOC_TYPES.join("|")}, got "${type}"`);
  }
  const product = str("product");
  if (!(DOC_PRODUCTS as readonly string[]).includes(product)) {
    throw new KnowledgeBaseError(
      file,
      `field "product" must be one of ${DOC_PRODUCTS.join("|")}, got "${product}"`,
    );
  }
  const effectiveDate = str("effective_date");
  if (!/^\d{4}-\d{2}-\d{2}$/.test(effectiveDate) || Number.isNaN(Date.parse(effectiveDate))) {
    throw new KnowledgeBaseError(file, `field "effective_date" must be YYYY-MM-DD, got "${effectiveDate}"`);
  }
  return {
    id,
    title: str("title"),
    type: type as DocType,
    product: product as DocProduct,
    effective_date: effectiveDate,
    language: str("language"),
  };
}

/** Splits `---\nYAML\n---\nbody` and validates the YAML as document metadata. */
export function parseFrontMatter(text: string, file: string): FrontMatterDoc {
  const match = /^\uFEFF?---\r?\n([\s\S]*?)\r?\n---\r?\n?([\s\S]*)$/.exec(text);
  if (!match) throw new KnowledgeBaseError(file, "missing YAML front matter (file must start with ---)");
  let raw: unknown;
  try {
    raw = parseYaml(match[1]);
  } catch (err) {
    throw new KnowledgeBaseError(file, `invalid YAML front matter: ${(err as Error).message}`);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new KnowledgeBaseError(file, "front matter must be a YAML mapping");
  }
  return { meta: validateMetadata(raw as Record<string, unknown>, file), body: match[2] };
}

// Typographic characters outside WinAnsi (or likely to extract badly) mapped to plain equivalents.
const REPLACEMENTS: Record<string, string> = {
  "\u2018": "'",
  "\u2019": "'",
  "\u201C": '"',
  "\u201D": '"',
  "\u2013": "-",
  "\u2014": "-",
  "\u2212": "-",
  "\u2026": "...",
  "\u00A0": " ",
  "\u2022": "-",
  "\u2265": ">=",
  "\u2264": "<=",
  "\u2192": "->",
  "\u2190": "<-",
  "\u2248": "~",
  "\t": "    ",
};

/** Replaces typographic punctuation with plain forms and drops characters the font cannot encode (emoji etc.). */
export function sanitizeForWinAnsi(text: string, encodable: ReadonlySet<number>): string {
  let out = "";
  for (const ch of text) {
    const replaced = REPLACEMENTS[ch] ?? ch;
    for (const c of replaced) {
      if (encodable.has(c.codePointAt(0)!)) out += c;
    }
  }
  return out;
}

/** Strips inline Markdown emphasis/code/link syntax, keeping the visible text. */
function stripInline(text: string): string {
  return text
    .replace(/\[([^\]]+)\]\([^)]*\)/g, "$1")
    .replace(/\*\*([^*]+)\*\*/g, "$1")
    .replace(/(^|\W)\*([^*]+)\*(?=\W|$)/g, "$1$2")
    .replace(/`([^`]+)`/g, "$1");
}

type Block = { kind: "heading"; level: number; text: string } | { kind: "para"; text: string; bold: boolean };

/** Turns the Markdown body into a flat list of headings and paragraphs (table rows become "a | b | c" lines). */
function markdownToBlocks(body: string): Block[] {
  const blocks: Block[] = [];
  let paragraph: string[] = [];
  let tableRow = 0;
  const flush = () => {
    if (paragraph.length > 0) blocks.push({ kind: "para", text: paragraph.join(" "), bold: false });
    paragraph = [];
  };
  for (const rawLine of body.split(/\r?\n/)) {
    const line = rawLine.trim();
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (line === "") {
      flush();
      tableRow = 0;
    } else if (heading) {
      flush();
      blocks.push({ kind: "heading", level: heading[1].length, text: stripInline(heading[2]) });
    } else if (line.startsWith("|")) {
      flush();
      if (/^\|[\s:|-]+\|$/.test(line)) continue; // separator row
      const cells = line
        .replace(/^\||\|$/g, "")
        .split("|")
        .map((c) => stripInline(c.trim()));
      blocks.push({ kind: "para", text: cells.join(" | "), bold: tableRow === 0 });
      tableRow++;
    } else if (/^([-*]|\d+\.)\s+/.test(line)) {
      flush();
      // "1)" instead of "1." so PDF readers that detect numbered headings ("2. Prazos") don't mistake list items.
      const item = line.replace(/^[-*]\s+/, "- ").replace(/^(\d+)\.\s+/, "$1) ");
      blocks.push({ kind: "para", text: stripInline(item), bold: false });
    } else {
      paragraph.push(stripInline(line));
    }
  }
  flush();
  return blocks;
}

/** Greedy word wrap by measured width; splits words longer than a line. */
function wrapText(text: string, font: PDFFont, size: number, maxWidth: number): string[] {
  const lines: string[] = [];
  let current = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const candidate = current ? `${current} ${word}` : word;
    if (font.widthOfTextAtSize(candidate, size) <= maxWidth) {
      current = candidate;
      continue;
    }
    if (current) lines.push(current);
    let rest = word;
    while (font.widthOfTextAtSize(rest, size) > maxWidth) {
      let cut = rest.length - 1;
      while (cut > 1 && font.widthOfTextAtSize(rest.slice(0, cut), size) > maxWidth) cut--;
      lines.push(rest.slice(0, cut));
      rest = rest.slice(cut);
    }
    current = rest;
  }
  if (current) lines.push(current);
  return lines;
}

const PAGE_WIDTH = 595.28; // A4
const PAGE_HEIGHT = 841.89;
const MARGIN = 56;
const HEADING_SIZES: Record<number, number> = { 1: 18, 2: 14, 3: 12 };
const BODY_SIZE = 10.5;

/**
 * The PDF Keywords entries. pdf-lib would join an array with spaces; we join with ", " (the usual PDF keyword
 * separator) so readers splitting on commas or on `key:` boundaries both recover each pair. `type:` repeats
 * the Subject so loaders that only read key:value pairs still get the type.
 */
export function pdfKeywords(meta: DocMetadata): string[] {
  return [
    `doc-id:${meta.id}`,
    `product:${meta.product}`,
    `effective-date:${meta.effective_date}`,
    `language:${meta.language}`,
    `type:${meta.type}`,
  ];
}

/** Renders one parsed source into PDF bytes with metadata in the Info dictionary. */
export async function renderPdf(doc: FrontMatterDoc): Promise<Uint8Array> {
  const pdf = await PDFDocument.create();
  const regular = await pdf.embedFont(StandardFonts.Helvetica);
  const bold = await pdf.embedFont(StandardFonts.HelveticaBold);
  const encodable = new Set(regular.getCharacterSet());
  const clean = (s: string) => sanitizeForWinAnsi(s, encodable);
  const maxWidth = PAGE_WIDTH - 2 * MARGIN;

  let page: PDFPage = pdf.addPage([PAGE_WIDTH, PAGE_HEIGHT]);
  let y = PAGE_HEIGHT - MARGIN;
  const ensureRoom = (height: number) => {
    if (y - height < MARGIN) {
      page = pdf.addPage([PAGE_WIDTH, PAGE_HEIGHT]);
      y = PAGE_HEIGHT - MARGIN;
    }
  };
  const writeLines = (text: string, font: PDFFont, size: number, spaceBefore: number) => {
    const lines = wrapText(clean(text), font, size, maxWidth);
    y -= spaceBefore;
    for (const line of lines) {
      ensureRoom(size * 1.4);
      y -= size * 1.4;
      page.drawText(line, { x: MARGIN, y, size, font, color: rgb(0.1, 0.1, 0.1) });
    }
  };

  const blocks = markdownToBlocks(doc.body);
  // The body normally starts with the H1 title; add it when the source omits it.
  if (blocks[0]?.kind !== "heading" || blocks[0].level !== 1)
    writeLines(doc.meta.title, bold, HEADING_SIZES[1], 0);
  for (const block of blocks) {
    if (block.kind === "heading") {
      let size = HEADING_SIZES[block.level] ?? 11;
      // Shrink the document title to one line so extractors see it as a single heading line.
      if (block.level === 1) {
        const text = clean(block.text);
        while (size > 12 && bold.widthOfTextAtSize(text, size) > maxWidth) size -= 0.5;
      }
      ensureRoom(size * 3); // keep a heading with at least its first body line
      writeLines(block.text, bold, size, size * 0.8);
    } else {
      writeLines(block.text, block.bold ? bold : regular, BODY_SIZE, BODY_SIZE * 0.5);
    }
  }

  const date = new Date(`${doc.meta.effective_date}T00:00:00Z`);
  pdf.setTitle(clean(doc.meta.title), { showInWindowTitleBar: true });
  pdf.setSubject(doc.meta.type);
  pdf.setKeywords([pdfKeywords(doc.meta).join(", ")]);
  pdf.setLanguage(doc.meta.language);
  pdf.setAuthor("Aurora Telecom");
  pdf.setCreator("telecom-ml-llmops knowledge-base build-pdfs.ts");
  pdf.setProducer("pdf-lib");
  // Fixed dates keep the output byte-stable across builds.
  pdf.setCreationDate(date);
  pdf.setModificationDate(date);
  return pdf.save();
}

/** Builds every `pdf-src/*.md` into `<outDir>/<id>.pdf`; returns the written paths, sorted. */
export async function buildKnowledgeBasePdfs(
  outDir: string,
  sourceDir: string = PDF_SOURCE_DIR,
): Promise<string[]> {
  const names = (await readdir(sourceDir)).filter((n) => n.endsWith(".md")).sort();
  if (names.length === 0) throw new KnowledgeBaseError(sourceDir, "no .md PDF sources found");
  await mkdir(outDir, { recursive: true });
  const written: string[] = [];
  const seen = new Set<string>();
  for (const name of names) {
    const file = join(sourceDir, name);
    const doc = parseFrontMatter(await readFile(file, "utf8"), file);
    if (seen.has(doc.meta.id)) throw new KnowledgeBaseError(file, `duplicate id "${doc.meta.id}"`);
    seen.add(doc.meta.id);
    const target = join(outDir, `${doc.meta.id}.pdf`);
    await writeFile(target, await renderPdf(doc));
    written.push(target);
  }
  return written;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outDir = process.argv[2];
  if (!outDir) {
    process.stderr.write(
      `usage: node data/knowledge-base/${basename(fileURLToPath(import.meta.url))} OUTDIR\n`,
    );
    process.exit(2);
  }
  try {
    const files = await buildKnowledgeBasePdfs(resolve(outDir));
    process.stdout.write(`${JSON.stringify({ pdfs: files }, null, 2)}\n`);
  } catch (err) {
    process.stderr.write(`build-pdfs: ${(err as Error).message}\n`);
    process.exit(1);
  }
}

import { readFile } from "node:fs/promises";
import { basename, extname } from "node:path";
import { parse as parseYaml } from "yaml";
import { DOC_TYPES, type DocMetadata, type LoadedDocument, type Section } from "./types.ts";

/** A file that could not be turned into a document; `reason` is shown to the person. */
export class LoadError extends Error {
  readonly source: string;
  constructor(source: string, reason: string) {
    super(reason);
    this.name = "LoadError";
    this.source = source;
  }
}

/** File extensions the loaders understand, mapped to their format. */
export const SUPPORTED_EXTENSIONS: Record<string, LoadedDocument["format"]> = {
  ".md": "markdown",
  ".markdown": "markdown",
  ".html": "html",
  ".htm": "html",
  ".pdf": "pdf",
  ".txt": "text",
};

/** Loads one file by extension; throws LoadError with the reason when it cannot be parsed. */
export async function loadDocument(path: string, bytes?: Buffer): Promise<LoadedDocument> {
  const format = SUPPORTED_EXTENSIONS[extname(path).toLowerCase()];
  if (!format) throw new LoadError(path, `unsupported file type "${extname(path) || "(none)"}"`);
  const data = bytes ?? (await readFile(path));
  switch (format) {
    case "markdown":
      return loadMarkdown(path, decodeUtf8(path, data));
    case "html":
      return await loadHtml(path, decodeUtf8(path, data));
    case "text":
      return loadText(path, decodeUtf8(path, data));
    case "pdf":
      return loadPdf(path, data);
  }
}

function decodeUtf8(path: string, data: Buffer): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(data).replace(/^\uFEFF/, "");
  } catch {
    throw new LoadError(path, "not valid UTF-8 text (binary or wrongly encoded file)");
  }
}

function fileId(path: string): string {
  return basename(path, extname(path));
}

/** Validates and completes metadata; unknown `type` or a malformed date is an error naming the field. */
export function completeMetadata(
  path: string,
  raw: Record<string, unknown>,
  fallbackTitle: string,
): DocMetadata {
  const str = (v: unknown): string => (v === undefined || v === null ? "" : String(v).trim());
  const type = str(raw.type).toLowerCase();
  if (type && !(DOC_TYPES as readonly string[]).includes(type))
    throw new LoadError(path, `metadata "type" must be one of ${DOC_TYPES.join("|")}, got "${type}"`);
  // YAML parses an unquoted 2025-01-31 as a Date.
  const rawDate =
    raw.effective_date instanceof Date ? raw.effective_date.toISOString() : str(raw.effective_date);
  const date = rawDate.slice(0, 10);
  if (date && !/^\d{4}-\d{2}-\d{2}$/.test(date))
    throw new LoadError(path, `metadata "effective_date" must be YYYY-MM-DD, got "${rawDate}"`);
  return {
    doc_id: str(raw.id) || fileId(path),
    title: str(raw.title) || fallbackTitle || fileId(path),
    type,
    product: str(raw.product).toLowerCase(),
    effective_date: date,
    language: str(raw.language),
  };
}

/** A front matter longer than this is not metadata: the file is read as having none. */
export const FRONT_MATTER_MAX_CHARS = 64 * 1024;
const FRONT_MATTER_RE = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?/;

/**
 * The front matter at the start of `head` (the whole text, or its first part while streaming):
 * `{ yaml, length }` (yaml null when there is none) or `undefined` when more text is needed to decide.
 */
export function matchFrontMatter(
  head: string,
  eof: boolean,
): { yaml: string | null; length: number } | undefined {
  if (!/^---\r?\n/.test(head)) return eof || head.length >= 5 ? { yaml: null, length: 0 } : undefined;
  const m = FRONT_MATTER_RE.exec(head);
  // Two more characters settle the optional line break after the closing `---`.
  if (m && (eof || m[0].length + 2 <= head.length))
    return m[0].length <= FRONT_MATTER_MAX_CHARS
      ? { yaml: m[1], length: m[0].length }
      : { yaml: null, length: 0 };
  if (eof || head.length > FRONT_MATTER_MAX_CHARS + 8) return { yaml: null, length: 0 };
  return undefined;
}

/** Parses front matter YAML; anything but a mapping is an error naming the file. */
export function parseFrontMatter(path: string, yaml: string | null): Record<string, unknown> {
  if (yaml === null) return {};
  try {
    const parsed = parseYaml(yaml) as unknown;
    if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed))
      return parsed as Record<string, unknown>;
    if (parsed !== null) throw new Error("front matter is not a mapping");
    return {};
  } catch (err) {
    throw new LoadError(path, `invalid YAML front matter: ${(err as Error).message.split("\n")[0]}`);
  }
}

/**
 * Reads a Markdown body line by line (lines without their \r\n): tracks code fences and the heading
 * path. Shared by the whole-file loader and the streaming one, so both cut sections the same way.
 */
export class MarkdownLines {
  readonly headings: { level: number; text: string }[] = [];
  private inFence = false;

  /** `null` when the line is a heading (a new section starts at `headings`), else the text line. */
  read(line: string): string | null {
    if (/^\s*(```|~~~)/.test(line)) this.inFence = !this.inFence;
    const h = this.inFence ? null : /^(#{1,6})\s+(.+?)\s*#*\s*$/.exec(line);
    if (!h) return stripInlineMarkdown(line);
    const level = h[1].length;
    while (this.headings.length && this.headings[this.headings.length - 1].level >= level)
      this.headings.pop();
    this.headings.push({ level, text: stripInlineMarkdown(h[2]) });
    return null;
  }

  get path(): string[] {
    return this.headings.map((h) => h.text);
  }
}

/** Markdown with optional YAML front matter; sections follow ATX headings (# … ######). */
export function loadMarkdown(path: string, text: string): LoadedDocument {
  const fm = matchFrontMatter(text, true)!;
  const front = parseFrontMatter(path, fm.yaml);
  const body = text.slice(fm.length);
  const sections: Section[] = [];
  const reader = new MarkdownLines();
  let sectionPath: string[] = [];
  let lines: string[] = [];
  const flush = () => {
    const t = lines.join("\n").trim();
    if (t) sections.push({ path: sectionPath, text: t });
    lines = [];
  };
  for (const line of body.split(/\r?\n/)) {
    const text = reader.read(line);
    if (text !== null) lines.push(text);
    else {
      flush();
      sectionPath = reader.path;
    }
  }
  flush();
  const firstHeading = sections.find((s) => s.path.length)?.path[0] ?? "";
  const metadata = completeMetadata(path, front, firstHeading);
  dropTitleHeading(sections, metadata.title);
  if (sections.length === 0) throw new LoadError(path, "document has no text");
  return { metadata, sections, source: path, format: "markdown" };
}

/** A top-level heading that repeats the title adds nothing to the section path. */
function dropTitleHeading(sections: Section[], title: string): void {
  for (const s of sections) s.path = withoutTitleHeading(s.path, title);
}

/** The section path without a first heading that repeats the document title. */
export function withoutTitleHeading(path: string[], title: string): string[] {
  const norm = (s: string) => s.trim().toLowerCase();
  return path.length > 0 && norm(path[0]) === norm(title) ? path.slice(1) : path;
}

function stripInlineMarkdown(line: string): string {
  return line
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/(\*\*|__|`)/g, "")
    .replace(/^\s*[-*+]\s+/, "- ")
    .replace(/^\s*\|?\s*:?-{3,}.*$/, "");
}

const BLOCK_SELECTOR = "h1,h2,h3,h4,h5,h6,p,li,dt,dd,pre,blockquote,tr,figcaption";

/** HTML: metadata from <meta name=…> and <title>; sections from h1–h6 in document order. */
export async function loadHtml(path: string, html: string): Promise<LoadedDocument> {
  if (!/<\s*(html|body|head|p|h[1-6]|div|title)\b/i.test(html))
    throw new LoadError(path, "no HTML markup found (expected <html>, <body> or block elements)");
  // Loaded on first use: cheerio costs ~0.5 s of start-up that `telco rag query` never needs.
  const cheerio = await import("cheerio");
  const $ = cheerio.load(html);
  $("script,style,noscript,nav,template").remove();
  const meta = (name: string) => $(`meta[name="${name}"]`).attr("content");
  const raw: Record<string, unknown> = {
    id: meta("doc-id"),
    title: $("title").first().text(),
    type: meta("type"),
    product: meta("product"),
    effective_date: meta("effective-date"),
    language: meta("language") ?? $("html").attr("lang"),
  };
  const headings: { level: number; text: string }[] = [];
  const sections: Section[] = [];
  let paragraphs: string[] = [];
  const flush = () => {
    if (paragraphs.length)
      sections.push({ path: headings.map((h) => h.text), text: paragraphs.join("\n\n") });
    paragraphs = [];
  };
  $("body")
    .find(BLOCK_SELECTOR)
    .each((_, el) => {
      const node = $(el);
      // Containers (an <li> holding <p>s) are read through their children.
      if (node.find(BLOCK_SELECTOR).length > 0) return;
      const text =
        el.tagName === "tr"
          ? node
              .children()
              .map((_i, c) => $(c).text().trim())
              .get()
              .join(" | ")
          : node.text().replace(/\s+/g, " ").trim();
      if (!text) return;
      const level = /^h([1-6])$/.exec(el.tagName);
      if (level) {
        flush();
        const lv = Number(level[1]);
        while (headings.length && headings[headings.length - 1].level >= lv) headings.pop();
        headings.push({ level: lv, text });
      } else paragraphs.push(el.tagName === "li" ? `- ${text}` : text);
    });
  flush();
  const metadata = completeMetadata(path, raw, $("h1").first().text().trim());
  dropTitleHeading(sections, metadata.title);
  if (sections.length === 0) throw new LoadError(path, "HTML document has no text content");
  return { metadata, sections, source: path, format: "html" };
}

/** The title of a plain-text document from its first non-empty line (only 120 characters are needed). */
export function textTitle(firstLine: string): string {
  return firstLine.trimStart().slice(0, 120).trim();
}

/** Plain text: first non-empty line is the title; blank-line paragraphs form one section. */
export function loadText(path: string, text: string): LoadedDocument {
  const body = text.trim();
  if (!body) throw new LoadError(path, "document has no text");
  const title = textTitle(body.split(/\r?\n/, 1)[0]);
  const metadata = completeMetadata(path, {}, title);
  return { metadata, sections: [{ path: [], text: body }], source: path, format: "text" };
}

// Fallback when a PDF uses one font size: numbered headings ("2.1 Prazos") or short ALL-CAPS lines.
const PDF_HEADING_RE = /^(?:\d+(?:\.\d+)*\.?\s+\p{Lu}[^.!?]{1,90}|[\p{Lu}\d][\p{Lu}\d\s,/–-]{3,80})$/u;

interface PdfLine {
  text: string;
  size: number;
  y: number;
  page: number;
}

/**
 * PDF via unpdf (pdf.js). Metadata: Title = title; Subject/Keywords hold `key:value` or `key=value`
 * pairs (doc-id, type, product, effective-date, language) separated by `,`, `;` or new lines.
 * Sections: lines set in a font clearly larger than the body text are headings (PDFs carry no
 * heading tags); with a single font size, numbered or ALL-CAPS lines are used instead.
 */
export async function loadPdf(path: string, data: Buffer): Promise<LoadedDocument> {
  if (data.subarray(0, 5).toString("latin1") !== "%PDF-")
    throw new LoadError(path, "not a PDF file (missing %PDF- header)");
  const { extractTextItems, getDocumentProxy, getMeta } = await import("unpdf");
  const lines: PdfLine[] = [];
  let info: Record<string, unknown> = {};
  try {
    const pdf = await getDocumentProxy(new Uint8Array(data), { verbosity: 0 });
    const meta = await getMeta(pdf);
    info = (meta.info ?? {}) as Record<string, unknown>;
    const { items } = await extractTextItems(pdf);
    items.forEach((pageItems, p) => {
      let current: PdfLine | null = null;
      for (const it of pageItems) {
        if (current && Math.abs(it.y - current.y) > 2 && it.str) {
          lines.push(current);
          current = null;
        }
        if (it.str) {
          current ??= { text: "", size: 0, y: it.y, page: p + 1 };
          current.text += it.str;
          current.size = Math.max(current.size, it.fontSize);
        }
      }
      if (current) lines.push(current);
    });
    await pdf.cleanup();
  } catch (err) {
    throw new LoadError(path, `unreadable PDF: ${(err as Error).message}`);
  }
  const raw: Record<string, unknown> = { title: info.Title };
  for (const field of [info.Subject, info.Keywords]) {
    if (typeof field !== "string") continue;
    for (const part of field.split(/[;\n]|,(?=\s*[\w-]+\s*[:=])/)) {
      const kv = /^\s*([\w-]+)\s*[:=]\s*(.+?)\s*$/.exec(part);
      if (!kv) continue;
      const key = kv[1].toLowerCase().replace(/-/g, "_");
      raw[key === "doc_id" ? "id" : key] = kv[2];
    }
  }
  // Body size = the font size carrying the most characters.
  const chars = new Map<number, number>();
  for (const l of lines) chars.set(l.size, (chars.get(l.size) ?? 0) + l.text.length);
  const bodySize = [...chars.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 0;
  const sized = [...chars.keys()].some((size) => size > bodySize * 1.15);
  const title = String(raw.title ?? "").trim();
  const sections: Section[] = [];
  let heading: string | null = null;
  let body: string[] = [];
  let firstPage = 1;
  const flush = () => {
    const t = body.join("\n").trim();
    if (t) sections.push({ path: [heading ?? `p. ${firstPage}`], text: t });
    body = [];
  };
  let previous: PdfLine | null = null;
  for (const line of lines) {
    const text = line.text.trim();
    const isHeading = sized ? line.size > bodySize * 1.15 && text.length <= 140 : PDF_HEADING_RE.test(text);
    if (isHeading) {
      // The first line set large is the document's own title (the Info Title may differ in punctuation).
      if (text === title || (sized && line === lines[0])) continue;
      flush();
      heading = text;
      firstPage = line.page;
    } else {
      // A vertical gap wider than ~1.6 lines (or a new page) ends a paragraph.
      if (previous && (previous.page !== line.page || previous.y - line.y > line.size * 2.2)) body.push("");
      if (!heading && body.length === 0) firstPage = line.page;
      body.push(text);
    }
    previous = line;
  }
  flush();
  const metadata = completeMetadata(path, raw, "");
  if (sections.length === 0) throw new LoadError(path, "PDF has no extractable text (scanned image?)");
  return { metadata, sections, source: path, format: "pdf" };
}

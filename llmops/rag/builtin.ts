import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

/** The repository's knowledge base folder (written by the content authors, read-only here). */
export const BUILTIN_KB_DIR = resolve(import.meta.dirname, "../../data/knowledge-base");

// Folders of the knowledge base that hold sources of generated files, not documents.
const NOT_CONTENT = new Set(["pdf-src", "node_modules"]);

/**
 * Paths to ingest for the built-in knowledge base: its content folders plus its PDFs, which are
 * generated from their sources into `<workspace>/rag/_builtin-pdf` first (PDFs are not committed).
 */
export async function builtinKnowledgeBasePaths(
  ragRoot: string,
  warn: (message: string) => void = () => {},
): Promise<string[]> {
  if (!existsSync(BUILTIN_KB_DIR)) return [];
  const paths: string[] = [];
  for (const entry of await readdir(BUILTIN_KB_DIR, { withFileTypes: true })) {
    if (entry.isDirectory() && !NOT_CONTENT.has(entry.name) && !entry.name.startsWith("."))
      paths.push(join(BUILTIN_KB_DIR, entry.name));
  }
  const generator = join(BUILTIN_KB_DIR, "build-pdfs.ts");
  if (existsSync(generator)) {
    const outDir = join(ragRoot, "_builtin-pdf");
    const mod = (await import(pathToFileURL(generator).href)) as {
      buildKnowledgeBasePdfs?: (outDir: string) => Promise<string[]>;
    };
    if (typeof mod.buildKnowledgeBasePdfs === "function") {
      await mod.buildKnowledgeBasePdfs(outDir);
      paths.push(outDir);
    } else warn(`${generator} does not export buildKnowledgeBasePdfs(outDir); PDFs not generated`);
  }
  return paths.sort();
}

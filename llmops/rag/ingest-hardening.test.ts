import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ingestDocuments } from "./ingest.ts";
import { openIndex } from "./search.ts";
import { CountingEmbedder, tempDir } from "./test-helpers.ts";

const fixtures = join(import.meta.dirname, "fixtures", "kb");
const chunker = { maxTokens: 120, overlapTokens: 10 };

function kbWithTraps() {
  const root = tempDir();
  const kb = join(root, "kb");
  cpSync(fixtures, kb, { recursive: true });
  const secret = join(root, "outside-secret.txt");
  writeFileSync(secret, "senha do banco: hunter2 — conteúdo que nunca deve ser indexado\n");
  symlinkSync(secret, join(kb, "passwd.txt")); // link out of the ingested folder
  symlinkSync("/dev/zero", join(kb, "zero.txt")); // endless device
  symlinkSync(join(kb, "faq", "fatura.md"), join(kb, "fatura-link.md")); // link inside: allowed
  execFileSync("mkfifo", [join(kb, "pipe.md")]); // reading a FIFO with no writer blocks forever
  writeFileSync(join(kb, "huge.txt"), Buffer.alloc(3 * 1024 * 1024, "a "));
  return { root, kb };
}

describe("rag ingest on hostile folders", () => {
  it("indexes only regular files inside the folders, within the size cap, and says why for the rest", async () => {
    const { root, kb } = kbWithTraps();
    const ragRoot = join(root, "rag");
    const report = await ingestDocuments({
      ragRoot,
      paths: [kb],
      embedder: new CountingEmbedder(),
      chunker,
      maxFileBytes: 1024 * 1024,
    });
    const reasons = Object.fromEntries(report.skipped.map((s) => [s.source.slice(kb.length + 1), s.reason]));
    expect(reasons["passwd.txt"]).toMatch(/outside the ingested folders/);
    expect(reasons["zero.txt"]).toMatch(/symbolic link to a device/);
    expect(reasons["pipe.md"]).toMatch(/FIFO/);
    expect(reasons["huge.txt"]).toMatch(/over the limit of 1\.0 MiB \(rag\.ingest\.maxFileBytes\)/);
    // The link inside the folder points at a file already indexed: deduplicated, not refused.
    expect(reasons["fatura-link.md"]).toMatch(/same content/);
    expect(report.documents.total).toBe(5);
    const index = await openIndex(ragRoot, "default", new CountingEmbedder());
    const hits = await index.search("senha do banco hunter2", { k: 5 });
    expect(hits.results.map((r) => r.text).join(" ")).not.toContain("hunter2");
  }, 30_000);

  it("skips a FIFO named directly instead of hanging", async () => {
    const root = tempDir();
    const fifo = join(root, "named.md");
    execFileSync("mkfifo", [fifo]);
    mkdirSync(join(root, "rag"));
    const report = await ingestDocuments({
      ragRoot: join(root, "rag"),
      paths: [fifo, join(fixtures, "faq", "fatura.md")],
      embedder: new CountingEmbedder(),
      chunker,
    });
    expect(report.skipped).toEqual([{ source: fifo, reason: "a named pipe (FIFO), not a document" }]);
    expect(report.documents.total).toBe(1);
  });
});

/**
 * Peak memory of `rag ingest` on one large file (node bench/rag-ingest-memory.ts [--mb 19] [--format txt|md]).
 * Generates a deterministic pt-BR text of about `--mb` MB, then ingests it in a child process (local
 * embedder, default chunker) and reads the child's peak RSS. Anchors measured in the same run, each in its
 * own child: the modules loaded and nothing ingested (`idle`), and the same ingest on a 1 MB file (`small`),
 * so `ratio_vs_small` near 1 means memory no longer grows with the file beyond the index it builds.
 * Prints one JSON document.
 */
import { execFileSync } from "node:child_process";
import { createWriteStream, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalHashEmbedder } from "../llmops/rag/embeddings/local.ts";
import { ingestDocuments } from "../llmops/rag/ingest.ts";
import { configSchema } from "../platform/config/schema.ts";

interface ChildResult {
  max_rss_mb: number;
  seconds: number;
  chunks: number;
  skipped: number;
}

async function child(file: string | null, root: string): Promise<void> {
  const started = performance.now();
  const config = configSchema.parse({}).rag;
  let chunks = 0;
  let skipped = 0;
  if (file) {
    const report = await ingestDocuments({
      ragRoot: join(root, "rag"),
      paths: [file],
      embedder: new LocalHashEmbedder(config.providers.local.dimension),
      chunker: config.chunking,
      maxFileBytes: config.ingest.maxFileBytes,
      rebuild: true,
    });
    chunks = report.chunks.total;
    skipped = report.skipped.length;
  }
  const result: ChildResult = {
    max_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    seconds: Number(((performance.now() - started) / 1000).toFixed(2)),
    chunks,
    skipped,
  };
  process.stdout.write(JSON.stringify(result));
}

// Deterministic PRNG (mulberry32) so every run ingests the same text.
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const VOCAB = (
  "fatura plano cliente cancelamento multa portabilidade internet fibra velocidade roaming pacote dados " +
  "franquia desconto contrato fidelidade atendimento técnico visita reparo sinal cobertura antena ligação " +
  "chamada mensagem recarga pré-pago pós-pago boleto vencimento pagamento débito automático segunda via"
).split(" ");

async function generate(path: string, bytes: number, markdown: boolean): Promise<void> {
  const random = rng(7);
  const out = createWriteStream(path);
  let written = 0;
  const write = (s: string) => {
    written += Buffer.byteLength(s);
    return out.write(s) ? Promise.resolve() : new Promise<void>((r) => out.once("drain", () => r()));
  };
  await write(
    markdown ? "---\ntitle: Manual grande\ntype: manual\n---\n# Manual grande\n\n" : "Manual grande\n\n",
  );
  let paragraph = 0;
  while (written < bytes) {
    if (markdown && paragraph++ % 40 === 0) await write(`## Seção ${paragraph}\n\n`);
    const n = 20 + Math.floor(random() * 120);
    const words: string[] = [];
    for (let i = 0; i < n; i++) {
      let w = VOCAB[Math.floor(random() * VOCAB.length)];
      if (random() < 0.3) w += String(Math.floor(random() * 1000));
      if (random() < 0.08) w += ".";
      words.push(w);
    }
    await write(`${words.join(" ")}\n\n`);
  }
  await new Promise<void>((r) => out.end(() => r()));
}

function run(file: string | null, root: string): ChildResult {
  const out = execFileSync(process.execPath, [import.meta.filename, "--child", file ?? "-", root], {
    encoding: "utf8",
    maxBuffer: 1 << 20,
  });
  return JSON.parse(out) as ChildResult;
}

const argv = process.argv.slice(2);
if (argv[0] === "--child") {
  await child(argv[1] === "-" ? null : argv[1], argv[2]);
} else {
  const mb = Number(argv[argv.indexOf("--mb") + 1] || 19);
  const format = argv.includes("--format") ? argv[argv.indexOf("--format") + 1] : "txt";
  const markdown = format === "md";
  const root = mkdtempSync(join(tmpdir(), "telco-bench-rag-mem-"));
  try {
    const big = join(root, `big.${markdown ? "md" : "txt"}`);
    const small = join(root, `small.${markdown ? "md" : "txt"}`);
    await generate(big, mb * 1_000_000, markdown);
    await generate(small, 1_000_000, markdown);
    const idle = run(null, mkdtempSync(join(root, "idle-")));
    const smallRun = run(small, mkdtempSync(join(root, "small-")));
    const bigRun = run(big, mkdtempSync(join(root, "big-")));
    process.stdout.write(
      `${JSON.stringify(
        {
          bench: "rag-ingest-memory",
          node: process.version,
          format,
          file_mb: mb,
          idle,
          small: smallRun,
          big: bigRun,
          big_rss_over_idle_mb: bigRun.max_rss_mb - idle.max_rss_mb,
          ratio_vs_small: Number((bigRun.max_rss_mb / smallRun.max_rss_mb).toFixed(2)),
        },
        null,
        2,
      )}\n`,
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

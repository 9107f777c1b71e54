/**
 * Peak memory of `rag ingest` on one large file (node bench/rag-ingest-memory.ts [--mb 19] [--format txt|md]
 * [--skip-ingest]). Generates a deterministic pt-BR text of about `--mb` MB and measures, each in its own
 * child process, the peak RSS and time of:
 * - `idle`: the modules loaded, nothing read (the floor, an anchor);
 * - `read_file`: the file read whole into one string and nothing else (the other anchor: what merely
 *   holding the document costs);
 * - `load_whole`: the whole-file loader + `chunkDocument` (how ingest read text before streaming, the anchor);
 * - `load_stream`: the streaming loader + chunker that ingest uses now (`ratio_stream_vs_whole`);
 * - `ingest_small` / `ingest_big`: the full `ingestDocuments` (local embedder, default chunker) on a 1 MB
 *   file and on the big one: what remains above the loader is the index (embeddings, BM25, LSA, lexicon).
 * Prints one JSON document: each peak, `ingest_vs_anchors` (the big ingest's peak against idle and
 * read_file, measured in the same run) and `goal` (a 19 MB ingest peaks at ≤ 500 MB RSS; judged only
 * at --mb 19), with the load average before and after (a shared machine slows the seconds, not the RSS).
 */
import { execFileSync } from "node:child_process";
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { chunkDocument } from "../llmops/rag/chunker.ts";
import { LocalHashEmbedder } from "../llmops/rag/embeddings/local.ts";
import { ingestDocuments } from "../llmops/rag/ingest.ts";
import { loadDocument } from "../llmops/rag/loaders.ts";
import { type RawChunk, readBlocks, streamDocument } from "../llmops/rag/stream.ts";
import { configSchema } from "../platform/config/schema.ts";

interface ChildResult {
  max_rss_mb: number;
  seconds: number;
  chunks: number;
  skipped: number;
}

type Mode = "idle" | "read" | "load-whole" | "load-stream" | "ingest";

// Module-level so the string read in "read" mode stays alive until the peak is taken.
let _held: string | undefined;

async function child(mode: Mode, file: string, root: string): Promise<void> {
  const started = performance.now();
  const config = configSchema.parse({}).rag;
  let chunks = 0;
  let skipped = 0;
  if (mode === "read") {
    _held = readFileSync(file, "utf8");
  } else if (mode === "load-whole") {
    const doc = await loadDocument(file, readFileSync(file));
    chunks = chunkDocument(doc, config.chunking).length;
  } else if (mode === "load-stream") {
    const doc = streamDocument(file, readBlocks(file, config.ingest.maxFileBytes), config.chunking);
    const raw: RawChunk[] = [];
    for await (const c of doc.chunks) raw.push(c);
    chunks = doc.finish(raw).chunks.length;
  } else if (mode === "ingest") {
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

/** Peak RSS a full ingest of the 19 MB file may reach (it was ~900 MB before the index build was reworked). */
const GOAL_MAX_RSS_MB = 500;

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

function run(mode: Mode, file: string, root: string): ChildResult {
  const out = execFileSync(process.execPath, [import.meta.filename, "--child", mode, file, root], {
    encoding: "utf8",
    maxBuffer: 1 << 20,
  });
  return JSON.parse(out) as ChildResult;
}

const argv = process.argv.slice(2);
if (argv[0] === "--child") {
  await child(argv[1] as Mode, argv[2], argv[3]);
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
    const loadBefore = loadavg().map((x) => Number(x.toFixed(2)));
    const idle = run("idle", big, root);
    const read = run("read", big, root);
    const whole = run("load-whole", big, root);
    const streamed = run("load-stream", big, root);
    const ingest: Record<string, unknown> = {};
    if (!argv.includes("--skip-ingest")) {
      ingest.ingest_small = run("ingest", small, mkdtempSync(join(root, "small-")));
      const bigIngest = run("ingest", big, mkdtempSync(join(root, "big-")));
      ingest.ingest_big = bigIngest;
      ingest.ingest_vs_anchors = {
        rss_above_idle_mb: bigIngest.max_rss_mb - idle.max_rss_mb,
        rss_over_read_file: Number((bigIngest.max_rss_mb / read.max_rss_mb).toFixed(2)),
        above_idle_over_read_above_idle: Number(
          ((bigIngest.max_rss_mb - idle.max_rss_mb) / Math.max(1, read.max_rss_mb - idle.max_rss_mb)).toFixed(
            2,
          ),
        ),
      };
      ingest.goal = {
        file_mb: 19,
        max_rss_mb: GOAL_MAX_RSS_MB,
        met: mb === 19 ? bigIngest.max_rss_mb <= GOAL_MAX_RSS_MB : null,
      };
    }
    process.stdout.write(
      `${JSON.stringify(
        {
          bench: "rag-ingest-memory",
          node: process.version,
          format,
          file_mb: mb,
          load_average: { before: loadBefore, after: loadavg().map((x) => Number(x.toFixed(2))) },
          idle,
          read_file: read,
          load_whole: whole,
          load_stream: streamed,
          ratio_stream_vs_whole: {
            rss_above_idle: Number(
              ((streamed.max_rss_mb - idle.max_rss_mb) / (whole.max_rss_mb - idle.max_rss_mb)).toFixed(2),
            ),
            seconds: Number((streamed.seconds / whole.seconds).toFixed(2)),
          },
          ...ingest,
        },
        null,
        2,
      )}\n`,
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { analyze } from "./analyzer.ts";
import { buildBm25Parts, buildBm25PartsFromIds } from "./bm25.ts";
import { ingestDocuments } from "./ingest.ts";
import { fitLatentModel, fitLatentModelOf, projectQuery } from "./lsa.ts";
import { openIndex } from "./search.ts";
import { indexDir, readIndex, versionDir } from "./store.ts";
import {
  buildSearchStructures,
  decodeSearchStructures,
  encodeSearchStructures,
  STRUCTURES_FILE,
} from "./structures.ts";
import { CountingEmbedder, tempDir } from "./test-helpers.ts";

const fixtures = join(import.meta.dirname, "fixtures", "kb");

async function buildFixtureIndex() {
  const ragRoot = join(tempDir(), "rag");
  const embedder = new CountingEmbedder();
  await ingestDocuments({
    ragRoot,
    paths: [fixtures],
    embedder,
    chunker: { maxTokens: 120, overlapTokens: 10 },
  });
  const data = await readIndex(indexDir(ragRoot, "default"));
  return { ragRoot, embedder, data, vdir: versionDir(indexDir(ragRoot, "default"), data.manifest.version) };
}

describe("persisted search structures", () => {
  it("round-trips every array through the binary file and rejects another version", async () => {
    const { data } = await buildFixtureIndex();
    const built = buildSearchStructures(data.chunks);
    const bytes = encodeSearchStructures(built, data.manifest.version);
    // An odd byteOffset forces the aligned-copy path of the decoder.
    const shifted = new Uint8Array(bytes.byteLength + 1).subarray(1);
    shifted.set(bytes);
    const back = decodeSearchStructures(shifted, data.manifest.version);
    expect(back).toBeDefined();
    expect(back!.bm25.terms).toEqual(built.bm25.terms);
    expect(Array.from(back!.bm25.docs)).toEqual(Array.from(built.bm25.docs));
    expect(Array.from(back!.docBm25.weights)).toEqual(Array.from(built.docBm25.weights));
    expect(Array.from(back!.docOfChunk)).toEqual(Array.from(built.docOfChunk));
    expect(back!.latent.features).toEqual(built.latent.features);
    expect(back!.lexicon.words).toEqual(built.lexicon.words);
    expect(Array.from(back!.lexicon.terms)).toEqual(Array.from(built.lexicon.terms));
    // Every lexicon word points at the BM25 term it was analysed to.
    const at = built.lexicon.words.indexOf("portabilidade");
    expect(built.bm25.terms[built.lexicon.terms[at]]).toBe(analyze("portabilidade")[0]);
    expect(Array.from(back!.latent.rows)).toEqual(Array.from(built.latent.rows));
    expect(decodeSearchStructures(bytes, "another-version")).toBeUndefined();
    expect(decodeSearchStructures(new Uint8Array(16), data.manifest.version)).toBeUndefined();
  });

  it("is written by ingest in parts, byte for byte the encoded structures; chunks.jsonl one line per chunk", async () => {
    const { data, vdir } = await buildFixtureIndex();
    const expected = encodeSearchStructures(buildSearchStructures(data.chunks), data.manifest.version);
    expect(Buffer.compare(readFileSync(join(vdir, STRUCTURES_FILE)), Buffer.from(expected))).toBe(0);
    expect(readFileSync(join(vdir, "chunks.jsonl"), "utf8")).toBe(
      `${data.chunks.map((c) => JSON.stringify(c)).join("\n")}\n`,
    );
  });

  it("is written by ingest, read on open, and rebuilt when missing or damaged", async () => {
    const { ragRoot, embedder, vdir } = await buildFixtureIndex();
    const file = join(vdir, STRUCTURES_FILE);
    expect(existsSync(file)).toBe(true);
    const query = "como cancelar a portabilidade do número";
    const expected = (await (await openIndex(ragRoot, "default", embedder)).search(query, { k: 3 })).results;
    rmSync(file);
    const rebuilt = await openIndex(ragRoot, "default", embedder);
    expect((await rebuilt.search(query, { k: 3 })).results).toEqual(expected);
    expect(existsSync(file)).toBe(true); // persisted again for the next open
    const bytes = readFileSync(file);
    writeFileSync(file, bytes.subarray(0, bytes.byteLength >> 1)); // truncated
    const repaired = await openIndex(ragRoot, "default", embedder);
    expect((await repaired.search(query, { k: 3 })).results).toEqual(expected);
  });
});

describe("fitLatentModel (LSA)", () => {
  const texts = [
    "tela preta no decodificador sem sinal da tv",
    "decodificador da tv reinicie o aparelho e confira o cabo hdmi",
    "sem sinal na tv confira o cabo hdmi do decodificador",
    "fatura vencida gera multa e juros de mora",
    "segunda via da fatura com juros e multa",
    "multa por atraso da fatura e juros",
  ];
  it("is deterministic and puts a paraphrase near the documents of its topic", () => {
    const a = fitLatentModel(
      texts,
      texts.map(() => "pt-BR"),
      2,
    );
    const b = fitLatentModel(
      texts,
      texts.map(() => "pt-BR"),
      2,
    );
    expect(Array.from(a.rows)).toEqual(Array.from(b.rows));
    const index = new Map(a.features.map((f, i) => [f, i]));
    // Shares "tela" with one TV text only, yet must be closer to all TV texts than to billing ones.
    const q = projectQuery(a, index, "minha tela ficou preta", "pt-BR");
    const cos = (row: number) => q[0] * a.rows[row * a.rank] + q[1] * a.rows[row * a.rank + 1];
    expect(Math.min(cos(0), cos(1), cos(2))).toBeGreaterThan(Math.max(cos(3), cos(4), cos(5)));
    // The same text as one Portuguese segment projects to the same vector.
    const segmented = projectQuery(a, index, [{ text: "minha tela ficou preta", language: "pt", weight: 1 }]);
    expect(Array.from(segmented)).toEqual(Array.from(q));
  });
});

describe("buildBm25PartsFromIds", () => {
  it("gives the same parts as buildBm25Parts whatever the vocabulary's id order", () => {
    const docs = [
      ["fatur", "multa", "fatur", "juros"],
      [],
      ["sinal", "tv", "fatur"],
      ["juros", "juros", "mora", "sinal"],
    ];
    const vocabulary = ["tv", "mora", "sinal", "juros", "multa", "fatur", "unused"];
    const ids = docs.map((d) => Int32Array.from(d, (t) => vocabulary.indexOf(t)));
    const params = { k1: 1.2, b: 0.75 };
    const a = buildBm25Parts(docs, params);
    const b = buildBm25PartsFromIds(ids, vocabulary, params);
    expect(b.terms).toEqual(["fatur", "multa", "juros", "sinal", "tv", "mora"]);
    expect(b.terms).toEqual(a.terms);
    expect(b.size).toBe(4);
    for (const key of ["offsets", "docs", "weights", "idf"] as const)
      expect(Array.from(b[key])).toEqual(Array.from(a[key]));
    // "juros": documents 0 (tf 1) and 3 (tf 2), in document order.
    const juros = b.terms.indexOf("juros");
    expect(Array.from(b.docs.subarray(b.offsets[juros], b.offsets[juros + 1]))).toEqual([0, 3]);
  });
});

describe("fitLatentModelOf on more rows than the fit sample", () => {
  // 8,001 rows: the fit uses every 3rd row (at most 4,000), every row is still projected.
  const n = 8001;
  const topics = [
    "fatura multa juros boleto",
    "sinal antena cobertura celular",
    "decodificador tela hdmi canal",
    "fibra roteador velocidade modem",
  ];
  const text = (i: number) => `${topics[i % 4]} ${i % 2 === 0 ? "vencimento" : "roaming"} item${i % 7}`;
  it("reads rows on demand, is deterministic, fits on the evenly spaced sample and projects every row", () => {
    const reads = new Array<number>(n).fill(0);
    const textOf = (i: number) => {
      reads[i]++;
      return text(i);
    };
    const a = fitLatentModelOf(n, textOf, () => "pt-BR", 4);
    const b = fitLatentModel(
      Array.from({ length: n }, (_, i) => text(i)),
      new Array(n).fill("pt-BR"),
      4,
    );
    expect(Array.from(a.rows)).toEqual(Array.from(b.rows));
    expect(Array.from(a.components)).toEqual(Array.from(b.components));
    expect(a.features).toEqual(b.features);
    // Sampled rows (0, 3, 6, …) are analysed for the dictionary, the matrix and the projection; others once.
    expect(reads[0]).toBe(3);
    expect(reads[1]).toBe(1);
    expect(reads[3]).toBe(3);
    expect(a.rows.length).toBe(n * a.rank);
    for (const row of [0, 1, 2, n - 1]) {
      let norm = 0;
      for (let k = 0; k < a.rank; k++) norm += a.rows[row * a.rank + k] ** 2;
      expect(norm).toBeCloseTo(1, 5);
    }
    // Rows 1 and 5 (neither sampled) share their topic and are closer than row 1 and the sampled row 3,
    // which shares only "roaming".
    const cos = (x: number, y: number) => {
      let s = 0;
      for (let k = 0; k < a.rank; k++) s += a.rows[x * a.rank + k] * a.rows[y * a.rank + k];
      return s;
    };
    expect(cos(1, 5)).toBeGreaterThan(cos(1, 3));
  });
});

import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { analyze } from "./analyzer.ts";
import { ingestDocuments } from "./ingest.ts";
import { fitLatentModel, projectQuery } from "./lsa.ts";
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

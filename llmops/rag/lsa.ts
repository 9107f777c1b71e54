import { analyze, analyzerLanguage, contentWords } from "./analyzer.ts";

/**
 * Latent semantic analysis fitted on the indexed chunks: TF-IDF over stems and character 3/4-grams,
 * reduced by a truncated SVD. Words that co-occur in the corpus ("tela", "decodificador", "sinal")
 * land near each other, so a paraphrase can match without sharing a word. Deterministic (seeded
 * random projection). Written by hand: no maintained JS library does sparse randomized SVD.
 */
export interface LatentModel {
  /** Feature → column of `components`. */
  features: string[];
  idf: Float32Array;
  /** features × rank, row-major: projection of a TF-IDF vector into the latent space. */
  components: Float32Array;
  rank: number;
  /** rows × rank, L2-normalised latent vectors of the chunks. */
  rows: Float32Array;
}

const NGRAM_WEIGHT = 0.3;
/** At most this many chunks are used to fit the SVD (all are projected): bounds ingest time. */
const MAX_FIT_ROWS = 4000;

/** Weighted features of a text: stems (weight 1) and character 3/4-grams of folded words. */
export function latentFeatures(text: string, language?: string): Map<string, number> {
  const lang = analyzerLanguage(language, text);
  const stems = analyze(text, lang);
  const surface = contentWords(text);
  const counts = new Map<string, number>();
  const add = (f: string, w: number) => counts.set(f, (counts.get(f) ?? 0) + w);
  for (let i = 0; i < stems.length; i++) {
    add(`w:${stems[i]}`, 1);
    const word = surface[i];
    if (word === undefined || word.length < 3) continue;
    const padded = `^${word}$`;
    for (let n = 3; n <= 4; n++)
      for (let j = 0; j + n <= padded.length; j++) add(padded.slice(j, j + n), NGRAM_WEIGHT);
  }
  return counts;
}

/** A piece of a query analysed in its own language, with a weight (the question vs words added to it). */
export interface TextSegment {
  text: string;
  language: "pt" | "en";
  weight: number;
}

/** Deterministic standard normals (mulberry32 + Box–Muller). */
function gaussian(seed: number): () => number {
  let s = seed >>> 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform() + 1e-12)) * Math.cos(2 * Math.PI * uniform());
}

interface Csr {
  rows: number;
  offsets: Int32Array;
  cols: Int32Array;
  vals: Float32Array;
}

/** Y (rows × l) = A × X (cols × l). */
function mulA(a: Csr, x: Float64Array, l: number): Float64Array {
  const y = new Float64Array(a.rows * l);
  for (let r = 0; r < a.rows; r++)
    for (let p = a.offsets[r]; p < a.offsets[r + 1]; p++) {
      const v = a.vals[p];
      const xo = a.cols[p] * l;
      const yo = r * l;
      for (let j = 0; j < l; j++) y[yo + j] += v * x[xo + j];
    }
  return y;
}

/** Z (cols × l) = Aᵀ × Y (rows × l), written into `z` (overwritten). */
function mulAt(a: Csr, y: Float64Array, l: number, z: Float64Array): Float64Array {
  z.fill(0);
  for (let r = 0; r < a.rows; r++)
    for (let p = a.offsets[r]; p < a.offsets[r + 1]; p++) {
      const v = a.vals[p];
      const zo = a.cols[p] * l;
      const yo = r * l;
      for (let j = 0; j < l; j++) z[zo + j] += v * y[yo + j];
    }
  return z;
}

/** Orthonormalises the l columns of a (n × l, row-major) in place (modified Gram–Schmidt). */
function orthonormalize(m: Float64Array, n: number, l: number): void {
  for (let j = 0; j < l; j++) {
    for (let k = 0; k < j; k++) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += m[i * l + j] * m[i * l + k];
      for (let i = 0; i < n; i++) m[i * l + j] -= dot * m[i * l + k];
    }
    let norm = 0;
    for (let i = 0; i < n; i++) norm += m[i * l + j] ** 2;
    norm = Math.sqrt(norm) || 1;
    for (let i = 0; i < n; i++) m[i * l + j] /= norm;
  }
}

/** Eigen-decomposition of a symmetric l × l matrix (cyclic Jacobi): [values, vectors as columns]. */
function symmetricEigen(c: Float64Array, l: number): [Float64Array, Float64Array] {
  const a = Float64Array.from(c);
  const v = new Float64Array(l * l);
  for (let i = 0; i < l; i++) v[i * l + i] = 1;
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    for (let p = 0; p < l; p++) for (let q = p + 1; q < l; q++) off += a[p * l + q] ** 2;
    if (off < 1e-20) break;
    for (let p = 0; p < l; p++)
      for (let q = p + 1; q < l; q++) {
        const apq = a[p * l + q];
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q * l + q] - a[p * l + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const cs = 1 / Math.sqrt(t * t + 1);
        const sn = t * cs;
        for (let k = 0; k < l; k++) {
          const akp = a[k * l + p];
          const akq = a[k * l + q];
          a[k * l + p] = cs * akp - sn * akq;
          a[k * l + q] = sn * akp + cs * akq;
        }
        for (let k = 0; k < l; k++) {
          const apk = a[p * l + k];
          const aqk = a[q * l + k];
          a[p * l + k] = cs * apk - sn * aqk;
          a[q * l + k] = sn * apk + cs * aqk;
        }
        for (let k = 0; k < l; k++) {
          const vkp = v[k * l + p];
          const vkq = v[k * l + q];
          v[k * l + p] = cs * vkp - sn * vkq;
          v[k * l + q] = sn * vkp + cs * vkq;
        }
      }
  }
  const values = new Float64Array(l);
  for (let i = 0; i < l; i++) values[i] = a[i * l + i];
  return [values, v];
}

/** Fits LSA of `rank` dimensions on the texts (one per chunk) and projects every chunk. */
export function fitLatentModel(texts: string[], languages: (string | undefined)[], rank = 64): LatentModel {
  return fitLatentModelOf(
    texts.length,
    (i) => texts[i],
    (i) => languages[i],
    rank,
  );
}

/**
 * Same as fitLatentModel over `count` rows whose text and language are read on demand, so the caller
 * need not hold every chunk's text at once. Memory is bounded by the fit sample: its rows are analysed
 * once for the feature dictionary and again straight into a typed-array CSR matrix (no Map per row is
 * kept), the SVD works in one features × (rank + 10) buffer, and every row is projected one at a time.
 */
export function fitLatentModelOf(
  count: number,
  textOf: (row: number) => string,
  languageOf: (row: number) => string | undefined,
  rank = 64,
): LatentModel {
  const n = count;
  // The model (features, IDF, SVD) comes from an evenly spaced sample; every row is then projected
  // one at a time, so memory stays bounded by the sample on large indexes.
  const stride = Math.max(1, Math.ceil(n / MAX_FIT_ROWS));
  const fitCount = Math.ceil(n / stride);
  // Pass 1 over the sample: every feature gets an id in first-seen order, and its document frequency.
  const dictionary = new Map<string, number>();
  let df = new Int32Array(1024);
  for (let s = 0; s < fitCount; s++)
    for (const feature of latentFeatures(textOf(s * stride), languageOf(s * stride)).keys()) {
      let id = dictionary.get(feature);
      if (id === undefined) {
        id = dictionary.size;
        dictionary.set(feature, id);
        if (id >= df.length) {
          const grown = new Int32Array(df.length * 2);
          grown.set(df);
          df = grown;
        }
      }
      df[id]++;
    }
  // Features seen once carry no co-occurrence signal; dropping them keeps the model small.
  const names = [...dictionary.keys()];
  const kept: number[] = [];
  for (let id = 0; id < names.length; id++) if (df[id] >= 2) kept.push(id);
  kept.sort((x, y) => (names[x] < names[y] ? -1 : names[x] > names[y] ? 1 : 0));
  const features = kept.map((id) => names[id]);
  const colOfId = new Int32Array(names.length).fill(-1);
  kept.forEach((id, c) => {
    colOfId[id] = c;
  });
  const idf = Float32Array.from(kept, (id) => Math.log(1 + fitCount / df[id]));
  const columnOf = (feature: string): number => {
    const id = dictionary.get(feature);
    return id === undefined ? -1 : colOfId[id];
  };
  const scratchCols: number[] = [];
  const scratchVals: number[] = [];
  /** The row's known features as (column, sublinear TF × IDF, L2-normalised) in scratchCols/Vals. */
  const weighRow = (row: number) => {
    scratchCols.length = 0;
    scratchVals.length = 0;
    for (const [feature, tf] of latentFeatures(textOf(row), languageOf(row))) {
      scratchCols.push(columnOf(feature));
      scratchVals.push(tf);
    }
    weightPairs(scratchCols, scratchVals, idf);
  };
  // Pass 2: the sample's TF-IDF rows as CSR, straight into typed arrays (analysing a row again costs
  // less memory than keeping every sampled row's features between the passes).
  // A kept feature appears in df of the sampled rows: the matrix holds exactly Σ df non-zeros.
  let nnz = 0;
  for (const id of kept) nnz += df[id];
  const a: Csr = {
    rows: fitCount,
    offsets: new Int32Array(fitCount + 1),
    cols: new Int32Array(nnz),
    vals: new Float32Array(nnz),
  };
  for (let s = 0, p = 0; s < fitCount; s++) {
    weighRow(s * stride);
    for (let j = 0; j < scratchCols.length; j++, p++) {
      a.cols[p] = scratchCols[j];
      a.vals[p] = scratchVals[j];
    }
    a.offsets[s + 1] = p;
  }

  const f = features.length;
  const r = Math.max(1, Math.min(rank, fitCount - 1, f));
  const l = Math.min(r + 10, fitCount, f);
  // Randomized SVD (Halko et al. 2011) with two power iterations.
  const g = gaussian(0x5eed);
  // One features × l buffer serves as Ω, each power iteration's Aᵀ Y and finally Bᵀ: each value of
  // it is dead once Y = A Ω has been computed from it.
  const omega = Float64Array.from({ length: f * l }, () => g());
  let y: Float64Array = mulA(a, omega, l);
  for (let it = 0; it < 2; it++) {
    orthonormalize(y, a.rows, l);
    mulAt(a, y, l, omega);
    orthonormalize(omega, f, l);
    y = mulA(a, omega, l);
  }
  orthonormalize(y, a.rows, l);
  const z = mulAt(a, y, l, omega); // Bᵀ = Aᵀ Q, f × l
  const gram = new Float64Array(l * l);
  for (let i = 0; i < f; i++)
    for (let p = 0; p < l; p++) {
      const zp = z[i * l + p];
      if (zp === 0) continue;
      for (let q = 0; q < l; q++) gram[p * l + q] += zp * z[i * l + q];
    }
  const [values, vectors] = symmetricEigen(gram, l);
  const order = Array.from(values.keys())
    .sort((i, j) => values[j] - values[i])
    .slice(0, r);
  // V = Bᵀ W Σ⁻¹ (f × r): right singular vectors; latent(x) = x V.
  const components = new Float32Array(f * r);
  for (let i = 0; i < f; i++)
    for (let k = 0; k < r; k++) {
      const e = order[k];
      const sigma = Math.sqrt(Math.max(values[e], 1e-12));
      let s = 0;
      for (let p = 0; p < l; p++) s += z[i * l + p] * vectors[p * l + e];
      components[i * r + k] = s / sigma;
    }
  const rows = new Float32Array(n * r);
  for (let row = 0; row < n; row++) {
    weighRow(row);
    const o = row * r;
    for (let j = 0; j < scratchCols.length; j++) {
      const co = scratchCols[j] * r;
      const w = scratchVals[j];
      for (let k = 0; k < r; k++) rows[o + k] += w * components[co + k];
    }
    normalizeInPlace(rows, o, r);
  }
  return { features, idf, components, rank: r, rows };
}

/** In place: drops unknown columns (-1), turns term frequencies into normalised TF-IDF weights. */
function weightPairs(cols: number[], vals: number[], idf: Float32Array): void {
  let kept = 0;
  let norm = 0;
  for (let j = 0; j < cols.length; j++) {
    const c = cols[j];
    if (c < 0) continue;
    const w = Math.log1p(vals[j]) * idf[c];
    cols[kept] = c;
    vals[kept++] = w;
    norm += w * w;
  }
  cols.length = kept;
  vals.length = kept;
  norm = Math.sqrt(norm) || 1;
  for (let j = 0; j < kept; j++) vals[j] /= norm;
}

function normalizeInPlace(v: Float32Array, offset: number, length: number): void {
  let norm = 0;
  for (let k = 0; k < length; k++) norm += v[offset + k] ** 2;
  norm = Math.sqrt(norm);
  if (norm > 0) for (let k = 0; k < length; k++) v[offset + k] /= norm;
}

/** Latent vector of a query (TF-IDF of its known features projected on the components, normalised). */
export function projectQuery(
  model: LatentModel,
  featureIndex: Map<string, number>,
  text: string | readonly TextSegment[],
  language?: string,
): Float32Array {
  const out = new Float32Array(model.rank);
  const bag = typeof text === "string" ? latentFeatures(text, language) : new Map<string, number>();
  if (typeof text !== "string")
    for (const s of text)
      for (const [f, w] of latentFeatures(s.text, s.language)) bag.set(f, (bag.get(f) ?? 0) + w * s.weight);
  for (const [f, tf] of bag) {
    const c = featureIndex.get(f);
    if (c === undefined) continue;
    const w = Math.log1p(tf) * model.idf[c];
    for (let k = 0; k < model.rank; k++) out[k] += w * model.components[c * model.rank + k];
  }
  normalizeInPlace(out, 0, model.rank);
  return out;
}

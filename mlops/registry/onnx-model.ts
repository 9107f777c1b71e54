import { createRequire } from "node:module";
import * as ort from "onnxruntime-node";
import protobuf from "protobufjs";
import { ValidationError } from "../../platform/errors.ts";
import type { FeatureSpec, TabularDataset } from "../training/dataset.ts";
import { ONNX_PROTO } from "../training/gbdt/onnx-proto.ts";
import type { ChurnModel } from "../training/model.ts";

/** The synchronous native session of onnxruntime-node (what its async `run` wraps in setImmediate). */
interface NativeSession {
  loadModel(buffer: ArrayBufferLike, offset: number, length: number, options: object): void;
  run(
    feeds: Record<string, ort.Tensor>,
    fetches: Record<string, null>,
    options: object,
  ): Record<string, ort.Tensor>;
  dispose(): void;
  inputMetadata: { name: string }[];
  outputMetadata: { name: string }[];
}

interface NativeBinding {
  binding: { InferenceSession: new () => NativeSession };
  initOrt(): void;
}

let native: NativeBinding | undefined;
function nativeBinding(): NativeBinding {
  // ChurnModel.predictProba is synchronous; onnxruntime-node's public API is promise-only but its
  // native session runs synchronously, so we call it directly instead of making every model async.
  native ??= createRequire(import.meta.url)("onnxruntime-node/dist/binding") as NativeBinding;
  native.initOrt();
  return native;
}

interface FeatureMeta {
  name: string;
  kind: "numeric" | "categorical";
  categories?: string[];
}

/** Reads the `telco.features` metadata property (written by GbdtModel.toOnnx) out of ONNX bytes. */
export function onnxFeatureMetadata(bytes: Uint8Array): FeatureMeta[] | undefined {
  const type = protobuf.Root.fromJSON(ONNX_PROTO).lookupType("onnx.ModelProto");
  const decoded = type.toObject(type.decode(bytes)) as { metadataProps?: { key: string; value: string }[] };
  const prop = decoded.metadataProps?.find((p) => p.key === "telco.features");
  if (!prop) return undefined;
  const parsed = JSON.parse(prop.value) as unknown;
  if (!Array.isArray(parsed)) throw new ValidationError("telco.features", "ONNX metadata is not a list");
  return parsed.map((f, i) => {
    const meta = f as Partial<FeatureMeta>;
    if (typeof meta.name !== "string" || (meta.kind !== "numeric" && meta.kind !== "categorical"))
      throw new ValidationError(`telco.features[${i}]`, "needs a name and kind numeric|categorical");
    return { name: meta.name, kind: meta.kind, categories: meta.categories };
  });
}

/**
 * A ChurnModel backed by an ONNX file (exported by our GBDT or trained elsewhere). Input: one
 * float tensor [N, F], numerics as is, categoricals as their index in the stored vocabulary,
 * missing/unseen as NaN. No `explain`: TreeSHAP needs the tree structure, which ONNX hides.
 */
export class OnnxChurnModel implements ChurnModel {
  readonly kind = "onnx" as const;
  readonly features: readonly FeatureSpec[];
  readonly categories: Readonly<Record<string, readonly string[]>>;
  private readonly session: NativeSession;
  private readonly inputName: string;
  private readonly probaOutput: string;
  private readonly bytes: Uint8Array;

  private constructor(bytes: Uint8Array, meta: FeatureMeta[]) {
    this.bytes = bytes;
    this.features = meta.map((m) => ({ name: m.name, kind: m.kind }));
    const categories: Record<string, string[]> = {};
    for (const m of meta) if (m.kind === "categorical") categories[m.name] = m.categories ?? [];
    this.categories = categories;
    const { binding } = nativeBinding();
    this.session = new binding.InferenceSession();
    this.session.loadModel(bytes.buffer, bytes.byteOffset, bytes.byteLength, {});
    this.inputName = this.session.inputMetadata[0]?.name ?? "input";
    const outputs = this.session.outputMetadata.map((o) => o.name);
    this.probaOutput = outputs.includes("probabilities")
      ? "probabilities"
      : (outputs[outputs.length - 1] ?? "");
  }

  /**
   * Loads ONNX bytes. Feature names/kinds/vocabularies come from the `telco.features` metadata;
   * for a foreign model without it, `fallbackFeatures` (e.g. the model card's) are taken as numeric.
   */
  static load(bytes: Uint8Array, fallbackFeatures: readonly string[] = []): OnnxChurnModel {
    let meta: FeatureMeta[] | undefined;
    try {
      meta = onnxFeatureMetadata(bytes);
    } catch (err) {
      if (err instanceof ValidationError) throw err;
      throw new ValidationError("artifact", "is not an ONNX ModelProto", {
        hint: "Register a file exported by an ONNX converter.",
      });
    }
    meta ??= fallbackFeatures.map((name) => ({ name, kind: "numeric" as const }));
    if (meta.length === 0)
      throw new ValidationError("artifact", "ONNX model declares no features", {
        hint: "Export with telco's GBDT (metadata telco.features) or list features in the model card.",
      });
    try {
      return new OnnxChurnModel(bytes, meta);
    } catch (err) {
      throw new ValidationError(
        "artifact",
        `onnxruntime cannot load the model (${String(err).split("\n")[0]})`,
      );
    }
  }

  /** Encodes `data` into the model's float input (by feature name; categoricals by category name). */
  encode(data: TabularDataset): Float32Array {
    const nF = this.features.length;
    const x = new Float32Array(data.nRows * nF).fill(Number.NaN);
    const byName = new Map(data.features.map((f) => [f.name, f]));
    this.features.forEach((spec, j) => {
      const col = byName.get(spec.name);
      if (!col) return;
      if (spec.kind === "numeric") {
        if (col.kind !== "numeric") return;
        for (let i = 0; i < data.nRows; i++) x[i * nF + j] = col.values[i];
        return;
      }
      if (col.kind !== "categorical") return;
      const index = new Map((this.categories[spec.name] ?? []).map((c, k) => [c, k]));
      const remap = col.categories.map((c) => index.get(c) ?? -1);
      for (let i = 0; i < data.nRows; i++) {
        const code = col.codes[i];
        const mapped = code >= 0 ? remap[code] : -1;
        if (mapped >= 0) x[i * nF + j] = mapped;
      }
    });
    return x;
  }

  predictProba(data: TabularDataset): Float64Array {
    const out = new Float64Array(data.nRows);
    if (data.nRows === 0) return out;
    const input = new ort.Tensor("float32", this.encode(data), [data.nRows, this.features.length]);
    const result = this.session.run({ [this.inputName]: input }, { [this.probaOutput]: null }, {});
    const probs = result[this.probaOutput].data as Float32Array;
    // [N, 2] class probabilities (ours, sklearn-onnx) or [N] / [N, 1] probability of churn.
    const width = probs.length / data.nRows;
    for (let i = 0; i < data.nRows; i++) out[i] = probs[i * width + width - 1];
    return out;
  }

  toJSON(): { format: "onnx"; bytes: number; features: readonly FeatureSpec[] } {
    return { format: "onnx", bytes: this.bytes.byteLength, features: this.features };
  }

  /** Frees the native session. */
  dispose(): void {
    this.session.dispose();
  }
}

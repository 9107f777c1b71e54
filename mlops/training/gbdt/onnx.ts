/**
 * ONNX export: one ai.onnx.ml TreeEnsembleClassifier node on a float input [N, nFeatures].
 * Encoding: numeric features as is; categorical features as the model's category code (index into the
 * vocabulary stored in the model, also written to metadata "telco.features"); missing/unseen as NaN.
 * Numeric splits → BRANCH_LEQ on float32-exact thresholds; a categorical split → a chain of BRANCH_EQ
 * nodes (over the smaller of the left set and its complement) whose true edges share one subtree, the
 * same shape onnxmltools emits for LightGBM. Missing values use nodes_missing_value_tracks_true.
 * Scores: every leaf weight goes to class id 0 (onnxruntime's binary case, as onnxmltools writes LightGBM),
 * base_values = [base score], post_transform LOGISTIC: probabilities[:, 1] = sigmoid(raw score) = predictProba.
 */
import protobuf from "protobufjs";
import { ONNX_PROTO } from "./onnx-proto.ts";
import type { GbdtForestView } from "./state.ts";
import type { GbdtTree } from "./tree.ts";

let modelType: protobuf.Type | null = null;
function onnxModelType(): protobuf.Type {
  modelType ??= protobuf.Root.fromJSON(ONNX_PROTO).lookupType("onnx.ModelProto");
  return modelType;
}

const utf8 = new TextEncoder();
const ATTR = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

/** Flattened TreeEnsembleClassifier node and leaf attribute arrays. */
interface EnsembleArrays {
  treeIds: number[];
  nodeIds: number[];
  featureIds: number[];
  modes: string[];
  values: number[];
  trueIds: number[];
  falseIds: number[];
  missingTracksTrue: number[];
  classTreeIds: number[];
  classNodeIds: number[];
  classIds: number[];
  classWeights: number[];
}

function emitTree(tree: GbdtTree, treeId: number, vocabSize: (f: number) => number, a: EnsembleArrays): void {
  let nextId = 0;
  const push = (
    id: number,
    feature: number,
    mode: string,
    value: number,
    t: number,
    f: number,
    miss: number,
  ) => {
    a.treeIds.push(treeId);
    a.nodeIds.push(id);
    a.featureIds.push(feature);
    a.modes.push(mode);
    a.values.push(value);
    a.trueIds.push(t);
    a.falseIds.push(f);
    a.missingTracksTrue.push(miss);
  };
  const emit = (n: number): number => {
    const f = tree.feature[n];
    if (f < 0) {
      const id = nextId++;
      push(id, 0, "LEAF", 0, 0, 0, 0);
      a.classTreeIds.push(treeId);
      a.classNodeIds.push(id);
      a.classIds.push(0);
      a.classWeights.push(tree.value[n]);
      return id;
    }
    const missLeft = tree.defaultLeft[n] === 1;
    const cats = tree.catLeft[n];
    if (!cats) {
      const id = nextId++;
      const slot = a.nodeIds.length;
      push(id, f, "BRANCH_LEQ", tree.threshold[n], 0, 0, missLeft ? 1 : 0);
      a.trueIds[slot] = emit(tree.left[n]);
      a.falseIds[slot] = emit(tree.right[n]);
      return id;
    }
    // Test equality against the smaller of the left set and its complement.
    const inLeft = new Set(cats);
    const complement: number[] = [];
    for (let c = 0; c < vocabSize(f); c++) if (!inLeft.has(c)) complement.push(c);
    const useLeft = cats.length <= complement.length || complement.length === 0;
    const chain = useLeft ? Array.from(cats) : complement;
    const chainIds = chain.map(() => nextId++);
    const slots = chain.map((c, k) => {
      const slot = a.nodeIds.length;
      // NaN stops at the first node when missing goes to the chain's "true" side, else falls through.
      const missTrue = k === 0 && missLeft === useLeft ? 1 : 0;
      push(chainIds[k], f, "BRANCH_EQ", c, 0, 0, missTrue);
      return slot;
    });
    const leftId = emit(tree.left[n]);
    const rightId = emit(tree.right[n]);
    const hit = useLeft ? leftId : rightId;
    const miss = useLeft ? rightId : leftId;
    slots.forEach((slot, k) => {
      a.trueIds[slot] = hit;
      a.falseIds[slot] = k + 1 < chain.length ? chainIds[k + 1] : miss;
    });
    return chainIds[0];
  };
  emit(0);
}

/** Serialises the model to ONNX ModelProto bytes. */
export function gbdtToOnnx(
  model: GbdtForestView,
  postTransform: "LOGISTIC" | "NONE" = "LOGISTIC",
): Uint8Array {
  const a: EnsembleArrays = {
    treeIds: [],
    nodeIds: [],
    featureIds: [],
    modes: [],
    values: [],
    trueIds: [],
    falseIds: [],
    missingTracksTrue: [],
    classTreeIds: [],
    classNodeIds: [],
    classIds: [],
    classWeights: [],
  };
  const vocabSize = (f: number) => model.categories[model.features[f].name]?.length ?? 0;
  model.trees.forEach((t, i) => {
    emitTree(t, i, vocabSize, a);
  });
  let base = model.baseScore;
  if (a.classWeights.every((w) => w >= 0)) {
    // onnxruntime reads an ensemble whose weights are all ≥ 0 as probabilities; a constant −1 tree
    // (offset by base + 1) keeps it on the log-odds path. Also covers the empty ensemble.
    const treeId = model.trees.length;
    a.treeIds.push(treeId);
    a.nodeIds.push(0);
    a.featureIds.push(0);
    a.modes.push("LEAF");
    a.values.push(0);
    a.trueIds.push(0);
    a.falseIds.push(0);
    a.missingTracksTrue.push(0);
    a.classTreeIds.push(treeId);
    a.classNodeIds.push(0);
    a.classIds.push(0);
    a.classWeights.push(-1);
    base += 1;
  }
  const ints = (name: string, v: number[]) => ({ name, type: ATTR.INTS, ints: v });
  const floats = (name: string, v: number[]) => ({ name, type: ATTR.FLOATS, floats: v });
  const attributes = [
    floats("base_values", [base]),
    ints("class_ids", a.classIds),
    ints("class_nodeids", a.classNodeIds),
    ints("class_treeids", a.classTreeIds),
    floats("class_weights", a.classWeights),
    ints("classlabels_int64s", [0, 1]),
    ints("nodes_falsenodeids", a.falseIds),
    ints("nodes_featureids", a.featureIds),
    ints("nodes_missing_value_tracks_true", a.missingTracksTrue),
    { name: "nodes_modes", type: ATTR.STRINGS, strings: a.modes.map((m) => utf8.encode(m)) },
    ints("nodes_nodeids", a.nodeIds),
    ints("nodes_treeids", a.treeIds),
    ints("nodes_truenodeids", a.trueIds),
    floats("nodes_values", a.values),
    { name: "post_transform", type: ATTR.STRING, s: utf8.encode(postTransform) },
  ];
  const nF = model.features.length;
  const tensor = (name: string, elemType: number, dims: (number | string)[]) => ({
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });
  const featureMeta = model.features.map((f) =>
    f.kind === "categorical" ? { name: f.name, kind: f.kind, categories: model.categories[f.name] } : f,
  );
  const proto = {
    irVersion: 8,
    producerName: "telco-gbdt",
    producerVersion: "1",
    modelVersion: 1,
    docString: "Churn GBDT. Input: float [N, F]; categoricals as model category codes; missing = NaN.",
    opsetImport: [
      { domain: "", version: 15 },
      { domain: "ai.onnx.ml", version: 3 },
    ],
    metadataProps: [
      { key: "telco.features", value: JSON.stringify(featureMeta) },
      {
        key: "telco.encoding",
        value: "numeric as is; categorical = index in categories; missing/unseen = NaN",
      },
    ],
    graph: {
      name: "telco_gbdt",
      node: [
        {
          name: "trees",
          opType: "TreeEnsembleClassifier",
          domain: "ai.onnx.ml",
          input: ["input"],
          output: ["label", "probabilities"],
          attribute: attributes,
        },
      ],
      input: [tensor("input", 1, ["N", nF])],
      output: [tensor("label", 7, ["N"]), tensor("probabilities", 1, ["N", 2])],
    },
  };
  const type = onnxModelType();
  const err = type.verify(proto);
  if (err) throw new Error(`internal: invalid ONNX model message: ${err}`);
  return type.encode(type.fromObject(proto)).finish();
}

/** The JSON form of a GBDT model ("telco-gbdt" v1): zod schema plus structural checks. */
import { z } from "zod";
import { ValidationError } from "../../../platform/errors.ts";
import type { FeatureSpec } from "../dataset.ts";
import { gbdtParamsSchema } from "./params.ts";
import type { GbdtModelState } from "./state.ts";
import type { GbdtTree } from "./tree.ts";

const num = z.number().refine(Number.isFinite, "must be a finite number");
const int = z.number().int();

const treeJsonSchema = z.object({
  feature: z.array(int.min(-1)),
  threshold: z.array(num),
  defaultLeft: z.array(z.union([z.literal(0), z.literal(1)])),
  left: z.array(int),
  right: z.array(int),
  value: z.array(num),
  cover: z.array(num),
  count: z.array(num),
  gain: z.array(num),
  catLeft: z.array(z.array(int.min(0)).nullable()),
});

export const gbdtModelJsonSchema = z.object({
  format: z.literal("telco-gbdt"),
  version: z.literal(1),
  objective: z.literal("binary:logloss"),
  baseScore: num,
  bestIteration: int.min(0),
  features: z
    .array(
      z.object({
        name: z.string().min(1),
        kind: z.enum(["numeric", "categorical"]),
        categories: z.array(z.string()).optional(),
      }),
    )
    .min(1),
  params: gbdtParamsSchema,
  trees: z.array(treeJsonSchema),
});

export type GbdtTreeJson = z.infer<typeof treeJsonSchema>;
export type GbdtModelJson = z.infer<typeof gbdtModelJsonSchema>;

/** Validates a parsed JSON value and converts it to model state. */
export function parseGbdtModelJson(json: unknown): GbdtModelState {
  const parsed = gbdtModelJsonSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ValidationError(`model.${issue.path.join(".")}`, issue.message, {
      hint: 'expected a GBDT model JSON { format: "telco-gbdt", version: 1, ... } (docs/mlops/gbdt.md)',
    });
  }
  const m = parsed.data;
  const features: FeatureSpec[] = m.features.map((f) => ({ name: f.name, kind: f.kind }));
  const categories: Record<string, string[]> = {};
  for (const f of m.features) {
    if (f.kind === "categorical") {
      if (!f.categories)
        throw new ValidationError(`model.features.${f.name}.categories`, "required for categorical");
      categories[f.name] = f.categories;
    }
  }
  if (new Set(features.map((f) => f.name)).size !== features.length) {
    throw new ValidationError("model.features", "feature names must be unique");
  }
  if (m.bestIteration !== m.trees.length) {
    throw new ValidationError(
      "model.bestIteration",
      `is ${m.bestIteration} but the model has ${m.trees.length} trees`,
    );
  }
  const trees = m.trees.map((t, ti): GbdtTree => {
    const at = (field: string, n?: number) => `model.trees.${ti}.${field}${n === undefined ? "" : `.${n}`}`;
    const size = t.feature.length;
    if (size === 0) throw new ValidationError(at("feature"), "a tree needs at least one node");
    for (const key of [
      "threshold",
      "defaultLeft",
      "left",
      "right",
      "value",
      "cover",
      "count",
      "gain",
      "catLeft",
    ] as const) {
      if (t[key].length !== size)
        throw new ValidationError(at(key), `has ${t[key].length} entries for ${size} nodes`);
    }
    for (let n = 0; n < size; n++) {
      const f = t.feature[n];
      if (f < 0) continue;
      if (f >= features.length) throw new ValidationError(at("feature", n), `feature ${f} does not exist`);
      // Children come after their parent, so the tree is acyclic and every walk terminates.
      for (const side of ["left", "right"] as const) {
        const c = t[side][n];
        if (c <= n || c >= size)
          throw new ValidationError(at(side, n), `child ${c} must be in (${n}, ${size})`);
      }
      const cats = t.catLeft[n];
      const spec = features[f];
      if (spec.kind === "categorical") {
        if (!cats) throw new ValidationError(at("catLeft", n), "categorical split needs its category codes");
        const vocab = categories[spec.name].length;
        for (let k = 0; k < cats.length; k++) {
          if (cats[k] >= vocab || (k > 0 && cats[k] <= cats[k - 1])) {
            throw new ValidationError(at("catLeft", n), `codes must be sorted, unique and < ${vocab}`);
          }
        }
      } else if (cats)
        throw new ValidationError(at("catLeft", n), "numeric split cannot have category codes");
    }
    return {
      feature: Int32Array.from(t.feature),
      threshold: Float64Array.from(t.threshold),
      defaultLeft: Uint8Array.from(t.defaultLeft),
      left: Int32Array.from(t.left),
      right: Int32Array.from(t.right),
      value: Float64Array.from(t.value),
      cover: Float64Array.from(t.cover),
      count: Float64Array.from(t.count),
      gain: Float64Array.from(t.gain),
      catLeft: t.catLeft.map((s) => (s ? Int32Array.from(s) : null)),
    };
  });
  return {
    features,
    categories,
    baseScore: m.baseScore,
    bestIteration: m.bestIteration,
    params: m.params,
    trees,
  };
}

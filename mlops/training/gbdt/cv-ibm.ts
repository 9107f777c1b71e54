/**
 * 5-fold stratified CV ROC-AUC of the GBDT on the IBM Telco file (the number docs/mlops/gbdt.md reports).
 * Early stopping uses an inner 1/7 split of the training folds, never the test fold.
 * Run: node mlops/training/gbdt/cv-ibm.ts [paramsJson|preset] [repeats] [--fixed-rounds]
 */
import { takeRows } from "../dataset.ts";
import { trainGbdt } from "./learner.ts";
import { GBDT_PRESETS, type GbdtParams } from "./params.ts";
import { loadIbmTelco, rocAuc, stratifiedFolds } from "./test-data.ts";

/**
 * Mean 5-fold CV AUC (over `repeats` fold seeds). With `earlyStopping`, 1/7 of each training split is held
 * out for early stopping; without, the model trains on the whole split for exactly `numTrees` rounds.
 */
export async function cvAuc(
  params: Partial<GbdtParams>,
  repeats = 1,
  earlyStopping = true,
  k = 5,
): Promise<{ auc: number; trees: number; repeatAucs: number[] }> {
  const data = loadIbmTelco();
  const y = data.label as Uint8Array;
  let aucSum = 0;
  let treeSum = 0;
  const repeatAucs: number[] = [];
  for (let rep = 0; rep < repeats; rep++) {
    const before = aucSum;
    const fold = stratifiedFolds(y, k, 1000 + rep);
    for (let f = 0; f < k; f++) {
      const trainIdx: number[] = [];
      const testIdx: number[] = [];
      for (let i = 0; i < data.nRows; i++) (fold[i] === f ? testIdx : trainIdx).push(i);
      const trainAll = takeRows(data, trainIdx);
      const test = takeRows(data, testIdx);
      if (!earlyStopping) {
        const model = await trainGbdt(trainAll, params);
        aucSum += rocAuc(test.label as Uint8Array, model.predictProba(test));
        treeSum += model.bestIteration;
        continue;
      }
      const inner = stratifiedFolds(trainAll.label as Uint8Array, 7, 77 + f + rep);
      const fitIdx: number[] = [];
      const validIdx: number[] = [];
      for (let i = 0; i < trainAll.nRows; i++) (inner[i] === 0 ? validIdx : fitIdx).push(i);
      const model = await trainGbdt(takeRows(trainAll, fitIdx), params, {
        valid: takeRows(trainAll, validIdx),
      });
      aucSum += rocAuc(test.label as Uint8Array, model.predictProba(test));
      treeSum += model.bestIteration;
    }
    repeatAucs.push((aucSum - before) / k);
  }
  return { auc: aucSum / (k * repeats), trees: treeSum / (k * repeats), repeatAucs };
}

if (import.meta.main) {
  const arg = process.argv[2] ?? "small-tabular";
  const params = GBDT_PRESETS[arg] ?? (JSON.parse(arg) as Partial<GbdtParams>);
  const repeats = Number(process.argv[3] ?? 1);
  const t0 = performance.now();
  const earlyStopping = !process.argv.includes("--fixed-rounds");
  const r = await cvAuc(params, repeats, earlyStopping);
  console.log(
    JSON.stringify({
      params,
      repeats,
      earlyStopping,
      cvAuc: r.auc,
      perRepeat: r.repeatAucs,
      meanTrees: r.trees,
      seconds: (performance.now() - t0) / 1000,
    }),
  );
}

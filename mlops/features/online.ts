import type { FeaturesConfig } from "../../platform/config/sections/features.ts";
import type { AppContext } from "../../platform/context.ts";
import {
  type FeatureValue,
  type OnlineFeatureRow,
  type OnlineStore,
  replaceOnlineStore,
} from "../../platform/ports/online-store.ts";
import type { Row, Warehouse } from "../../platform/ports/warehouse.ts";
import { FEATURE_NAMES, featureVersion } from "./definitions.ts";
import { buildLatestFeatures, LATEST_TABLE } from "./offline.ts";

/** The online store the profile selects (built by the composition root: `app.onlineStore()`). */
export function openOnlineStore(app: AppContext, opts: { readOnly?: boolean } = {}): OnlineStore {
  return app.onlineStore(opts);
}

export interface MaterializeSummary {
  table: string;
  asOf: string;
  featureVersion: string;
  rows: number;
  batches: number;
  elapsedMs: number;
}

/**
 * Rebuilds gold.customer_features as of `asOf` and replaces the online store with it, streaming
 * rows in batches of `cfg.onlineBatchSize` (memory stays bounded by one batch plus one chunk).
 */
export async function materialize(
  wh: Warehouse,
  store: OnlineStore,
  cfg: FeaturesConfig,
  opts: { asOf?: string; onBatch?: (rows: number) => void } = {},
): Promise<MaterializeSummary> {
  const started = performance.now();
  const latest = await buildLatestFeatures(wh, { asOf: opts.asOf });
  let batches = 0;
  async function* batched(): AsyncIterable<OnlineFeatureRow[]> {
    let batch: OnlineFeatureRow[] = [];
    const sql = `select customer_id, ${FEATURE_NAMES.join(", ")} from ${LATEST_TABLE} order by customer_id`;
    for await (const chunk of wh.stream(sql)) {
      for (const r of chunk) {
        batch.push(toOnlineRow(r));
        if (batch.length >= cfg.onlineBatchSize) {
          batches++;
          opts.onBatch?.(batch.length);
          yield batch;
          batch = [];
        }
      }
    }
    if (batch.length > 0) {
      batches++;
      opts.onBatch?.(batch.length);
      yield batch;
    }
  }
  const rows = await replaceOnlineStore(
    store,
    { featureNames: FEATURE_NAMES, featureVersion: featureVersion(), asOf: latest.asOf },
    batched(),
  );
  return {
    table: LATEST_TABLE,
    asOf: latest.asOf,
    featureVersion: featureVersion(),
    rows,
    batches,
    elapsedMs: Math.round(performance.now() - started),
  };
}

function toOnlineRow(r: Row): OnlineFeatureRow {
  const values: FeatureValue[] = new Array(FEATURE_NAMES.length);
  for (let i = 0; i < FEATURE_NAMES.length; i++) values[i] = toFeatureValue(r[FEATURE_NAMES[i]]);
  return { customerId: String(r.customer_id), values };
}

function toFeatureValue(v: unknown): FeatureValue {
  if (v === null || v === undefined) return null;
  if (typeof v === "number" || typeof v === "string" || typeof v === "boolean") return v;
  if (typeof v === "bigint") return Number(v);
  return String(v);
}

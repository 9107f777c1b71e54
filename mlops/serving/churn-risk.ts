import { type ServingConfig, servingConfigSchema } from "../../platform/config/sections/serving.ts";
import type { AppContext } from "../../platform/context.ts";
import { TelcoError, ValidationError } from "../../platform/errors.ts";
import type { ChurnRisk, ChurnRiskReason, ChurnRiskService } from "../../platform/ports/churn-risk.ts";
import type { OnlineStore } from "../../platform/ports/online-store.ts";
import type { ModelRegistry, ModelVersion } from "../../platform/ports/registry.ts";
import { openOnlineStore } from "../features/online.ts";
import { openRegistry } from "../registry/store.ts";
import { ModelHolder } from "./models.ts";
import { reasonsFor, riskBand, servedRiskBands, singleRowDataset } from "./scoring.ts";

/** A reason with the feature's value and its direction (the port's fields plus these two). */
export interface ChurnRiskReasonDetail extends ChurnRiskReason {
  value: number | string | null;
  direction: "raises_risk" | "lowers_risk";
}

export interface InProcessChurnRiskOptions {
  /** Overrides of the serving config (model name, alias, risk bands, number of reasons). */
  config?: Partial<ServingConfig>;
  registry?: ModelRegistry;
  store?: OnlineStore;
  holder?: ModelHolder;
}

/** A customer id as the API accepts it (no paths, no spaces). */
const CUSTOMER_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

/**
 * The champion's churn score in this process: the same model (ModelHolder over the registry
 * alias), the same online-store features, risk bands and TreeSHAP reasons as the churn API
 * (mlops/serving/server.ts), without HTTP. The alias is re-resolved at most every
 * `serving.pollIntervalMs`, so a promotion is followed without a restart and without a timer.
 */
export class InProcessChurnRisk implements ChurnRiskService {
  private readonly cfg: ServingConfig;
  private readonly app: AppContext;
  private readonly registry: ModelRegistry;
  private readonly holder: ModelHolder;
  private store: OnlineStore | undefined;
  private readonly ownsStore: boolean;
  private lastRefresh = 0;
  private readonly cards = new Map<number, Promise<ModelVersion>>();

  constructor(app: AppContext, opts: InProcessChurnRiskOptions = {}) {
    this.app = app;
    this.cfg = servingConfigSchema.parse({ ...app.config.serving, ...opts.config });
    this.registry = opts.registry ?? openRegistry(app);
    this.holder =
      opts.holder ??
      new ModelHolder(this.registry, {
        name: this.cfg.modelName,
        alias: this.cfg.alias,
        pollIntervalMs: this.cfg.pollIntervalMs,
      });
    this.store = opts.store;
    this.ownsStore = !opts.store;
  }

  async risk(customerId: string, opts: { language?: "pt-BR" | "en" } = {}): Promise<ChurnRisk | null> {
    if (!CUSTOMER_ID.test(customerId))
      throw new ValidationError("customer_id", `"${customerId}" is not a customer id`);
    const loaded = await this.model();
    if (!this.store) this.store = openOnlineStore(this.app, { readOnly: true });
    const record = await this.store.get(customerId);
    if (!record) return null;
    const version = await this.card(loaded.version);
    const model = loaded.model;
    // The reusable one-row dataset is overwritten by the next call: predict and explain before any await.
    const data = singleRowDataset(model, record.features);
    const probability = model.predictProba(data)[0];
    const reasons: ChurnRiskReasonDetail[] = reasonsFor(
      model,
      data,
      0,
      this.cfg.topReasons,
      opts.language ?? "pt-BR",
    ).map((r) => ({
      feature: r.feature,
      label: r.text ?? r.label,
      contribution: r.contribution,
      value: r.value,
      direction: r.direction,
    }));
    return {
      customer_id: customerId,
      probability,
      band: riskBand(probability, servedRiskBands(loaded, this.cfg)),
      reasons,
      model_name: loaded.name,
      model_version: String(loaded.version),
      data_version: version.card.trainingDataset?.version ?? null,
      as_of: record.asOf,
    };
  }

  /** The served model, re-resolving the alias when the last look is older than the poll interval. */
  private async model() {
    const now = Date.now();
    if (!this.holder.current() || now - this.lastRefresh >= this.cfg.pollIntervalMs) {
      this.lastRefresh = now;
      await this.holder.refresh();
    }
    const loaded = this.holder.current();
    if (!loaded)
      throw new TelcoError(
        "not_ready",
        `no ${this.cfg.modelName}@${this.cfg.alias} model: ${this.holder.lastError ?? "not registered yet"}`,
        { hint: "Train and promote a model first (`telco up` or `telco pipeline run churn-training`)." },
      );
    return loaded;
  }

  private card(version: number): Promise<ModelVersion> {
    let p = this.cards.get(version);
    if (!p) {
      p = this.registry.getVersion(this.cfg.modelName, version);
      this.cards.set(version, p);
      p.catch(() => this.cards.delete(version));
    }
    return p;
  }

  /** Closes the online store this service opened (not one it was given). */
  async close(): Promise<void> {
    if (this.store && this.ownsStore) await this.store.close();
    this.store = undefined;
  }
}

/** The in-process churn-risk service of an app context (the CLI's and the tools' default). */
export function createChurnRiskService(
  app: AppContext,
  opts: InProcessChurnRiskOptions = {},
): InProcessChurnRisk {
  return new InProcessChurnRisk(app, opts);
}

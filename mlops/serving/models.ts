import { NotFoundError, TelcoError, ValidationError } from "../../platform/errors.ts";
import type { ModelRegistry, ModelVersion } from "../../platform/ports/registry.ts";
import { logger } from "../../platform/telemetry/logger.ts";
import { type LoadedModel, loadModelVersion as loadVersion, modelRef } from "../registry/model-loader.ts";
import { prepareReasons } from "./scoring.ts";

export { type LoadedModel, modelRef };

/** Loads one registered version for serving: the registry loader, then the serving TreeSHAP tables in the background. */
export async function loadModelVersion(registry: ModelRegistry, version: ModelVersion): Promise<LoadedModel> {
  const loaded = await loadVersion(registry, version);
  void prepareReasons(loaded.model);
  return loaded;
}

/**
 * Holds the served model (the `alias` of `name`) and follows the alias as it moves: a poll
 * re-resolves it, loads the new version completely, then swaps one reference. Requests keep
 * the LoadedModel they started with, so an in-flight request never sees a half-swapped model.
 */
export class ModelHolder {
  readonly name: string;
  readonly alias: string;
  readonly shadowAlias: string | null;
  private readonly registry: ModelRegistry;
  private readonly pollIntervalMs: number;
  private served: LoadedModel | undefined;
  private shadowModel: LoadedModel | undefined;
  private readonly cache = new Map<number, Promise<LoadedModel>>();
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private onSwap: ((m: LoadedModel) => void) | undefined;
  lastError: string | undefined;

  constructor(
    registry: ModelRegistry,
    opts: { name: string; alias: string; shadowAlias?: string | null; pollIntervalMs: number },
  ) {
    this.registry = registry;
    this.name = opts.name;
    this.alias = opts.alias;
    this.shadowAlias = opts.shadowAlias ?? null;
    this.pollIntervalMs = opts.pollIntervalMs;
  }

  /** The model served by default, or undefined before the first successful load. */
  current(): LoadedModel | undefined {
    return this.served;
  }

  /** The shadow (challenger) model, when configured and different from the served one. */
  shadow(): LoadedModel | undefined {
    return this.shadowModel && this.shadowModel.version !== this.served?.version
      ? this.shadowModel
      : undefined;
  }

  /** Called after every swap (e.g. to update the model-info metric). */
  onModelSwap(fn: (m: LoadedModel) => void): void {
    this.onSwap = fn;
  }

  /** Loads the alias now and starts polling; a missing model is not fatal (readiness says so). */
  async start(): Promise<void> {
    await this.refresh();
    if (!this.timer) {
      this.timer = setInterval(() => void this.refresh(), this.pollIntervalMs);
      this.timer.unref();
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Re-resolves the alias (and the shadow alias) and swaps in a new version once fully loaded. */
  refresh(): Promise<void> {
    // Concurrent callers share one refresh, so two polls never load the same version twice.
    this.refreshing ??= this.doRefresh().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async doRefresh(): Promise<void> {
    try {
      const version = await this.registry.resolve(`${this.name}@${this.alias}`);
      if (this.served?.version !== version.version) {
        const loaded = await this.load(version);
        const previous = this.served;
        this.served = loaded;
        this.lastError = undefined;
        logger().info(
          { model: this.name, alias: this.alias, from: previous?.version ?? null, to: loaded.version },
          "serving model swapped",
        );
        this.onSwap?.(loaded);
        // Old versions stay cached only while they may still be requested by number.
        for (const v of this.cache.keys())
          if (v !== loaded.version && this.cache.size > 4) this.cache.delete(v);
      }
    } catch (err) {
      this.lastError = err instanceof Error ? err.message : String(err);
      if (!(err instanceof NotFoundError)) logger().warn({ err: this.lastError }, "model refresh failed");
    }
    if (this.shadowAlias) {
      try {
        const version = await this.registry.resolve(`${this.name}@${this.shadowAlias}`);
        if (this.shadowModel?.version !== version.version) this.shadowModel = await this.load(version);
      } catch {
        this.shadowModel = undefined;
      }
    }
  }

  private load(version: ModelVersion): Promise<LoadedModel> {
    let p = this.cache.get(version.version);
    if (!p) {
      p = loadModelVersion(this.registry, version);
      this.cache.set(version.version, p);
      p.catch(() => this.cache.delete(version.version));
    }
    return p;
  }

  /** A model named by alias or version number (`challenger`, `3`); NotFoundError when unknown. */
  async get(selector: string): Promise<LoadedModel> {
    if (selector === this.alias && this.served) return this.served;
    if (!/^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$/.test(selector))
      throw new ValidationError("model", `"${selector}" is not an alias or version number`);
    const ref = modelRef(this.name, selector);
    if (!ref.startsWith(`${this.name}@`))
      throw new ValidationError("model", `this server serves model "${this.name}" only`);
    let version: ModelVersion;
    try {
      version = await this.registry.resolve(ref);
    } catch (err) {
      if (err instanceof TelcoError) throw new NotFoundError(`model ${ref}`, { hint: err.hint });
      throw err;
    }
    return this.load(version);
  }
}

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { openRegistry } from "../../mlops/registry/store.ts";
import type { AppContext } from "../../platform/context.ts";
import { LOCK_FILE, readLock } from "../prompts/lock.ts";
import { currentVersion, indexDir } from "../rag/store.ts";
import { loadRules } from "../rules/engine.ts";

/**
 * What was deployed when a turn ran: the prompt set (prompts.lock.json, each prompt's version and
 * hash), the knowledge-base index version, the churn model at the serving alias with the dataset
 * version it was trained on (its registry card), the offer rules version and the configured LLM.
 * Every turn's root span carries this snapshot (`telco.deployed.*`) beside what the turn itself used
 * (`telco.prompts`, `telco.rag.*`, `telco.churn.*`, `telco.rules.version`), so `telco traces show`
 * leads from any answer back to every version behind it.
 */
export interface DeployedVersions {
  /** sha256 (12 hex) of prompts.lock.json: the version of the whole prompt set. */
  prompts_lock: string | null;
  /** name → `version#hash12` of each locked prompt. */
  prompts: Record<string, string>;
  index_version: string | null;
  churn: { model: string; version: string; alias: string; data_version: string | null } | null;
  rules_version: string | null;
  /** `provider:model`. */
  llm: string;
}

export interface DeployedVersionsOptions {
  /** `provider:model` of the configured LLM. */
  llm: () => Promise<string>;
  /** How long a snapshot is reused (ms); default 30 s. */
  ttlMs?: number;
}

/** Reads the deployed versions at most once per `ttlMs` (a turn never waits on a stale cache: it is cheap). */
export class DeployedVersionsProbe {
  private readonly app: AppContext;
  private readonly opts: DeployedVersionsOptions;
  private cached: { at: number; value: Promise<DeployedVersions> } | null = null;

  constructor(app: AppContext, opts: DeployedVersionsOptions) {
    this.app = app;
    this.opts = opts;
  }

  get(): Promise<DeployedVersions> {
    const now = Date.now();
    if (!this.cached || now - this.cached.at > (this.opts.ttlMs ?? 30_000))
      this.cached = { at: now, value: this.read() };
    return this.cached.value;
  }

  private async read(): Promise<DeployedVersions> {
    const [index, churn, llm] = await Promise.all([
      currentVersion(indexDir(this.app.paths.rag, "default")).catch(() => undefined),
      this.churn(),
      this.opts.llm().catch(() => "unknown"),
    ]);
    return { ...promptSet(), index_version: index ?? null, churn, rules_version: rulesVersion(), llm };
  }

  private async churn(): Promise<DeployedVersions["churn"]> {
    const { modelName, alias } = this.app.config.serving;
    try {
      const v = await openRegistry(this.app).resolve(`${modelName}@${alias}`);
      return {
        model: v.name,
        version: String(v.version),
        alias,
        data_version: v.card.trainingDataset
          ? `${v.card.trainingDataset.name}@${v.card.trainingDataset.version}`
          : null,
      };
    } catch {
      return null;
    }
  }
}

function promptSet(): Pick<DeployedVersions, "prompts_lock" | "prompts"> {
  try {
    const text = readFileSync(LOCK_FILE, "utf8");
    const prompts: Record<string, string> = {};
    for (const [name, p] of Object.entries(readLock())) prompts[name] = `${p.version}#${p.hash.slice(0, 12)}`;
    return { prompts_lock: createHash("sha256").update(text).digest("hex").slice(0, 12), prompts };
  } catch {
    return { prompts_lock: null, prompts: {} };
  }
}

function rulesVersion(): string | null {
  try {
    return loadRules().version;
  } catch {
    return null;
  }
}

/** The snapshot as root-span attributes. */
export function deployedAttributes(d: DeployedVersions): Record<string, string> {
  const a: Record<string, string> = { "telco.deployed.llm": d.llm };
  if (d.prompts_lock) a["telco.deployed.prompts_lock"] = d.prompts_lock;
  const prompts = Object.entries(d.prompts).map(([n, v]) => `${n}@${v}`);
  if (prompts.length) a["telco.deployed.prompts"] = prompts.join(",");
  if (d.index_version) a["telco.deployed.rag.index_version"] = d.index_version;
  if (d.rules_version) a["telco.deployed.rules.version"] = d.rules_version;
  if (d.churn) {
    a["telco.deployed.churn.model"] = `${d.churn.model}@${d.churn.version}`;
    a["telco.deployed.churn.alias"] = d.churn.alias;
    if (d.churn.data_version) a["telco.deployed.churn.data_version"] = d.churn.data_version;
  }
  return a;
}

/**
 * Model registry port (version 1): registered models with immutable, numbered versions, named
 * aliases (champion, challenger, …) instead of stages, and an append-only audit log of alias moves.
 * The composition root builds it (`app.registry()`).
 *
 * Adapter: platform/adapters/local/file-model-registry.ts (the workspace registry, under every
 * profile). On GCP, versions are copied to Vertex AI Model Registry through the mirror port
 * (platform/ports/registry-mirror.ts); no adapter serves this port from Vertex.
 * Contract: platform/ports/testing/registry.contract.ts.
 */
import { TelcoError } from "../errors.ts";

export type ModelFormat = "telco-gbdt" | "telco-logreg" | "onnx";
export const MODEL_FORMATS: readonly ModelFormat[] = ["telco-gbdt", "telco-logreg", "onnx"];

/** A metric value with an optional confidence interval (e.g. bootstrap 95%). */
export interface MetricValue {
  value: number;
  ci?: { lower: number; upper: number; level?: number };
}

/** Metrics of one segment value (e.g. region = "Sul"), with how many evaluation rows it had. */
export interface SegmentMetrics {
  n?: number;
  metrics: Record<string, MetricValue>;
}

/** Everything a reviewer needs to judge a model version (Google/Mitchell et al. "model card"). */
export interface ModelCard {
  metrics: Record<string, MetricValue>;
  /** dimension (region, plan_type) → segment value → metrics. */
  segmentMetrics?: Record<string, Record<string, SegmentMetrics>>;
  evaluationDataset?: { name: string; version: string };
  trainingDataset?: { name: string; version: string };
  features?: Array<{ name: string; version?: string }>;
  params?: Record<string, unknown>;
  /** git commit of the code that trained the model. */
  codeVersion?: string;
  intendedUse?: string;
  limitations?: string;
  /**
   * Risk band cut-offs set from the training score distribution (e.g. top 5% high, next 15%
   * medium): probability >= high → high, >= medium → medium. Serving uses them unless config says otherwise.
   */
  riskBands?: { medium: number; high: number; shares?: { high: number; medium: number }; rows?: number };
}

export interface ModelLineage {
  pipelineRunId?: string;
  trainingRunId?: string;
  /** Free-form origin, e.g. "external" for `models register`. */
  source?: string;
}

/** What a caller hands to `register`. */
export interface RegisterModelInput {
  name: string;
  format: ModelFormat;
  artifact: Uint8Array;
  card: ModelCard;
  lineage?: ModelLineage;
  description?: string;
}

/** A published, immutable model version (the artifact itself is read with `readArtifact`). */
export interface ModelVersion {
  name: string;
  version: number;
  format: ModelFormat;
  createdAt: string;
  createdBy: string;
  artifact: { file: string; bytes: number; sha256: string };
  card: ModelCard;
  lineage: ModelLineage;
  description?: string;
}

/** One alias move, as written to the audit log. `from`/`to` are versions (null = unset). */
export interface AliasEvent {
  at: string;
  by: string;
  model: string;
  alias: string;
  from: number | null;
  to: number | null;
  action: "promote" | "force" | "rollback" | "auto-first" | "remove";
  reason: string;
  decision?: unknown;
}

export interface ModelSummary {
  name: string;
  version: number;
  aliases: string[];
  metrics: Record<string, number>;
}

/** The registry operations every adapter provides. */
export interface ModelRegistry {
  register(input: RegisterModelInput): Promise<ModelVersion>;
  listModels(): Promise<string[]>;
  listVersions(name: string): Promise<ModelVersion[]>;
  getVersion(name: string, version: number): Promise<ModelVersion>;
  /** `NAME`, `NAME@3` or `NAME@champion`: latest version when neither is given. */
  resolve(ref: string): Promise<ModelVersion>;
  readArtifact(version: ModelVersion): Promise<Uint8Array>;
  aliases(name: string): Promise<Record<string, number>>;
  /** Moves an alias (audited); `expected` makes it a compare-and-set against the current holder. */
  setAlias(
    name: string,
    alias: string,
    version: number,
    opts: { action: AliasEvent["action"]; reason: string; decision?: unknown; expected?: number | null },
  ): Promise<AliasEvent>;
  audit(name: string): Promise<AliasEvent[]>;
}

/**
 * The workspace registry: the port, plus the folder each version's files live in (reference
 * profiles and stored evaluations are written beside them) and a one-call listing for `models list`.
 */
export interface WorkspaceModelRegistry extends ModelRegistry {
  readonly root: string;
  summaries(): Promise<ModelSummary[]>;
}

/** Thrown by `setAlias` when the alias no longer points where the caller expected (compare-and-set). */
export class AliasConflictError extends TelcoError {
  readonly current: number | null;
  constructor(model: string, alias: string, expected: number | null, current: number | null) {
    super(
      "alias_conflict",
      `${model}@${alias} moved to ${current ?? "none"} (expected ${expected ?? "none"})`,
      {
        hint: "Another promotion ran concurrently; re-evaluate and retry.",
      },
    );
    this.current = current;
  }
}

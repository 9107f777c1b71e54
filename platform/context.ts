import { LogAlertSink, WebhookAlertSink } from "./adapters/alerts/sinks.ts";
import { createEmbeddingProvider } from "./adapters/embeddings/factory.ts";
import { BigQueryWarehouse } from "./adapters/gcp/bigquery-warehouse.ts";
import { CloudMonitoringAlertSink } from "./adapters/gcp/cloud-monitoring-alerts.ts";
import { CloudTraceForwardingStore, CloudTraceWriter } from "./adapters/gcp/cloud-trace.ts";
import { FirestoreOnlineStore } from "./adapters/gcp/firestore-online-store.ts";
import { FirestorePipelineMetadata } from "./adapters/gcp/firestore-pipeline-metadata.ts";
import { GcsLake } from "./adapters/gcp/gcs-lake.ts";
import { GcsModelRegistry } from "./adapters/gcp/gcs-model-registry.ts";
import { VertexAiSearchRetriever } from "./adapters/gcp/vertex-ai-search-retriever.ts";
import { vertexLocation } from "./adapters/gcp/vertex-common.ts";
import { VertexRegistryMirror } from "./adapters/gcp/vertex-model-registry.ts";
import { VertexPipelineService } from "./adapters/gcp/vertex-pipelines.ts";
import { LocalModelRegistry } from "./adapters/local/file-model-registry.ts";
import { FsLake } from "./adapters/local/fs-lake.ts";
import { SqliteOnlineStore } from "./adapters/local/sqlite-online-store.ts";
import { SqlitePipelineMetadata } from "./adapters/local/sqlite-pipeline-metadata.ts";
import { loadConfig } from "./config/load.ts";
import type { TelcoConfig } from "./config/schema.ts";
import { ConfigError } from "./errors.ts";
import type { AlertSink } from "./ports/alert-sink.ts";
import type { AssistantSessionStore } from "./ports/assistant-sessions.ts";
import type { EmbeddingProvider } from "./ports/embeddings.ts";
import type { Lake } from "./ports/lake.ts";
import type { LlmProvider } from "./ports/llm.ts";
import type { OnlineStore } from "./ports/online-store.ts";
import type { OperatorSystems } from "./ports/operator-systems.ts";
import type { PipelineMetadataStore } from "./ports/pipeline-metadata.ts";
import type { PipelineService } from "./ports/pipeline-service.ts";
import type { WorkspaceModelRegistry } from "./ports/registry.ts";
import type { ModelRegistryMirror } from "./ports/registry-mirror.ts";
import type { Retriever } from "./ports/retrieval.ts";
import type { TraceStore } from "./ports/trace-store.ts";
import type { Warehouse } from "./ports/warehouse.ts";
import { type WorkspacePaths, workspacePaths } from "./workspace.ts";

/**
 * The composition root: validated config, workspace paths and the adapters the profile selects.
 * Domain code (mlops/, llmops/) receives ports from here and never picks or imports an adapter
 * (tests/architecture/imports.test.ts enforces it). Adapters are created lazily so `--help` and
 * small commands stay fast. See docs/architecture/README.md for what each profile implements.
 */
export interface AppContext {
  readonly config: TelcoConfig;
  readonly configFile: string | undefined;
  readonly paths: WorkspacePaths;
  lake(): Lake;
  warehouse(opts?: { readOnly?: boolean }): Promise<Warehouse>;
  /** The language model `llm.provider` selects (`model: null` for local); its SDK loads on first call. */
  llm(): Promise<LlmProvider>;
  /**
   * The operator's systems (CRM, billing, network, offers): HTTP connectors at `operator.systems`,
   * or the workspace sandbox in-process when nothing answers at a loopback URL (see
   * platform/adapters/operator/compose.ts). `mode` forces one of the two (tests, `telco systems`).
   */
  operator(opts?: { mode?: "auto" | "http" | "in-process" }): Promise<OperatorSystems>;
  /**
   * The assistant's sessions, turns and login tokens (local: node:sqlite under `paths.assistant`;
   * gcp: Firestore in `gcp.project`, `FIRESTORE_EMULATOR_HOST` honoured).
   */
  assistantSessions(): Promise<AssistantSessionStore>;
  /**
   * The assistant's traces (node:sqlite under `paths.assistant`; `telco traces`). Under gcp each span
   * is also sent to Cloud Trace in `gcp.project`, unless `observability.otlp.target` is cloud-trace.
   */
  traceStore(): Promise<TraceStore>;
  /**
   * Managed retrieval for the assistant: Vertex AI Search under gcp when `gcp.searchDataStore` is set;
   * null means the workspace RAG index (llmops/rag).
   */
  retriever(): Retriever | null;
  /**
   * The online feature store (local: node:sqlite at `paths.onlineStore`; gcp: Firestore in
   * `gcp.project`, `FIRESTORE_EMULATOR_HOST` honoured). Each call opens a new handle that the caller closes.
   */
  onlineStore(opts?: { readOnly?: boolean }): OnlineStore;
  /**
   * Pipeline-run metadata (local: node:sqlite at `<root>/metadata.sqlite`, default `paths.pipelines`,
   * artifacts in `<root>/artifacts/`; gcp: Firestore in `gcp.project`, `FIRESTORE_EMULATOR_HOST`
   * honoured, where `telco pipeline step` on Vertex records its steps too, and artifacts kept in
   * gs://`gcp.bucket`/pipelines/ with `root` as the local working copy). Each call opens a new handle
   * that the caller closes.
   */
  pipelineMetadata(root?: string): PipelineMetadataStore;
  /** The managed pipeline service `--target vertex` submits to (Vertex AI Pipelines). */
  pipelineService(): PipelineService;
  /**
   * The model registry (local: files under `paths.registry`; gcp: Cloud Storage under
   * gs://`gcp.bucket`/`gcp.registryPrefix`/, default registry/, `STORAGE_EMULATOR_HOST` honoured).
   * On GCP its versions can also be mirrored to Vertex AI Model Registry (`registryMirror()`).
   */
  registry(): WorkspaceModelRegistry;
  /** The managed registry `telco models mirror` copies versions to (Vertex AI Model Registry). */
  registryMirror(): ModelRegistryMirror;
  /**
   * The embedder `rag.embeddings` selects: OpenAI-compatible, Vertex AI or transformers adapters, or
   * for `local` the domain's own hashed embedder, which the caller passes (`local(dimension)`).
   */
  embeddings(local: (dimension: number) => EmbeddingProvider): EmbeddingProvider;
  /** One sink per alert channel (log, webhook, Cloud Monitoring), from `monitoring.alerts` and `gcp.project`. */
  alertSinks(): AlertSink[];
  close(): Promise<void>;
}

/** Opens the pipeline-run metadata store at `root` (what `app.pipelineMetadata()` returns). */
export function openPipelineMetadata(root: string): PipelineMetadataStore {
  return new SqlitePipelineMetadata(root);
}

export function createContext(
  opts: { configFile?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): AppContext {
  const { config, file, home } = loadConfig({ file: opts.configFile, env: opts.env, cwd: opts.cwd });
  return contextFromConfig(config, home, file);
}

export function contextFromConfig(config: TelcoConfig, home: string, configFile?: string): AppContext {
  const paths = workspacePaths(home);
  let lake: Lake | undefined;
  let warehouse: Promise<Warehouse> | undefined;
  let llm: Promise<LlmProvider> | undefined;
  const operators = new Map<string, Promise<OperatorSystems>>();
  let sessions: Promise<AssistantSessionStore> | undefined;
  let traces: Promise<TraceStore> | undefined;
  let registry: WorkspaceModelRegistry | undefined;
  return {
    config,
    configFile,
    paths,
    lake() {
      if (!lake) {
        if (config.profile === "gcp") {
          const bucket = requireGcp("bucket", config.gcp.bucket, config);
          lake = new GcsLake({ bucket, project: config.gcp.project });
        } else lake = new FsLake(paths.lake);
      }
      return lake;
    },
    warehouse(wopts = {}) {
      if (!warehouse) {
        warehouse =
          config.profile === "gcp"
            ? Promise.resolve(
                new BigQueryWarehouse({
                  project: requireGcp("project", config.gcp.project, config),
                  location: config.gcp.region,
                  datasetPrefix: config.gcp.bigqueryDatasetPrefix,
                }),
              )
            : // Loaded on first use: DuckDB is ~180 modules and a native library most commands never need.
              import("./adapters/local/duckdb-warehouse.ts").then((m) =>
                m.DuckDbWarehouse.open(paths.warehouse, { readOnly: wopts.readOnly }),
              );
      }
      return warehouse;
    },
    llm() {
      llm ??= import("./adapters/llm/factory.ts").then((m) => m.createLlmProvider(config));
      return llm;
    },
    operator(oopts = {}) {
      const mode = oopts.mode ?? "auto";
      let systems = operators.get(mode);
      if (!systems) {
        systems = import("./adapters/operator/compose.ts").then((m) =>
          m.openOperatorSystems(config.operator, paths.systems, { mode }),
        );
        systems.catch(() => operators.delete(mode));
        operators.set(mode, systems);
      }
      return systems;
    },
    assistantSessions() {
      if (!sessions && config.profile === "gcp") {
        const project = requireGcp("project", config.gcp.project, config);
        sessions = import("./adapters/gcp/firestore-assistant-sessions.ts").then(
          (m) =>
            new m.FirestoreAssistantSessionStore({
              project,
              database: config.gcp.assistantDatabase,
              retentionDays: config.gcp.sessionRetentionDays,
            }),
        );
      }
      sessions ??= import("./adapters/local/sqlite-assistant-sessions.ts").then((m) =>
        m.SqliteAssistantSessionStore.open(paths.assistant),
      );
      return sessions;
    },
    traceStore() {
      if (!traces) {
        const cloudTrace =
          config.profile === "gcp" && config.observability.otlp.target !== "cloud-trace"
            ? new CloudTraceWriter({ project: requireGcp("project", config.gcp.project, config) })
            : undefined;
        traces = import("./adapters/local/sqlite-trace-store.ts").then((m) => {
          const local = m.SqliteTraceStore.open(paths.assistant);
          return cloudTrace ? new CloudTraceForwardingStore(local, cloudTrace) : local;
        });
      }
      return traces;
    },
    retriever() {
      if (config.profile !== "gcp" || !config.gcp.searchDataStore) return null;
      return new VertexAiSearchRetriever({
        project: requireGcp("project", config.gcp.project, config),
        dataStore: config.gcp.searchDataStore,
      });
    },
    onlineStore(sopts = {}) {
      if (config.profile === "gcp")
        return new FirestoreOnlineStore({ project: requireGcp("project", config.gcp.project, config) });
      return SqliteOnlineStore.open(paths.onlineStore, sopts);
    },
    pipelineMetadata(root = paths.pipelines) {
      if (config.profile === "gcp") {
        const project = requireGcp("project", config.gcp.project, config);
        return new FirestorePipelineMetadata({
          project,
          root,
          // Run artifacts in gs://BUCKET/pipelines/ (built on first use: listing runs needs no bucket).
          artifacts: () =>
            new GcsLake({
              bucket: requireGcp("bucket", config.gcp.bucket, config),
              prefix: "pipelines",
              project,
            }),
        });
      }
      return openPipelineMetadata(root);
    },
    pipelineService() {
      return new VertexPipelineService(vertexLocation(config.gcp));
    },
    registry() {
      registry ??=
        config.profile === "gcp"
          ? new GcsModelRegistry({
              bucket: requireGcp("bucket", config.gcp.bucket, config),
              prefix: config.gcp.registryPrefix,
            })
          : new LocalModelRegistry(paths.registry, { lockTimeoutMs: config.registry.lockTimeoutMs });
      return registry;
    },
    registryMirror() {
      return new VertexRegistryMirror(vertexLocation(config.gcp));
    },
    embeddings(local) {
      return createEmbeddingProvider(config, { local });
    },
    alertSinks() {
      const alerts = config.monitoring.alerts;
      return [
        new LogAlertSink(),
        new WebhookAlertSink({ url: alerts.webhookUrl, timeoutMs: alerts.webhookTimeoutMs }),
        new CloudMonitoringAlertSink({
          project: config.gcp.project,
          dryRun: alerts.cloudMonitoringDryRun,
          timeoutMs: alerts.webhookTimeoutMs,
        }),
      ];
    },
    async close() {
      if (sessions) await (await sessions).close();
      sessions = undefined;
      if (traces) await (await traces).close();
      traces = undefined;
      if (warehouse) await (await warehouse).close();
      warehouse = undefined;
      const open = [...operators.values()];
      operators.clear();
      for (const s of open) await s.then((x) => x.close()).catch(() => {});
    },
  };
}

/** What the gcp profile's adapters need from config; all missing ones are reported at once. */
const GCP_REQUIRED = ["project", "bucket"] as const;

function requireGcp(
  key: (typeof GCP_REQUIRED)[number],
  value: string | undefined,
  config?: TelcoConfig,
): string {
  if (!value) {
    const missing = config ? GCP_REQUIRED.filter((k) => !config.gcp[k]) : [key];
    const envName = (k: string) => `TELCO_GCP__${k.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
    throw new ConfigError(`the gcp profile needs ${missing.map((k) => `gcp.${k}`).join(" and ")} (not set)`, {
      hint: `Set ${missing.map((k) => `gcp.${k}`).join(", ")} in telco.config.yaml, or ${missing.map(envName).join(", ")}.`,
      details: { missing: missing.map((k) => `gcp.${k}`) },
    });
  }
  return value;
}

import { createHash } from "node:crypto";
import type { Command } from "commander";
import { artifactFile } from "../mlops/registry/artifact-file.ts";
import { openRegistry } from "../mlops/registry/store.ts";
import {
  bigqueryDataset,
  planBatchPrediction,
  TERMINAL_JOB_STATES,
} from "../platform/adapters/gcp/vertex-batch.ts";
import { vertexLocation } from "../platform/adapters/gcp/vertex-common.ts";
import {
  type DeployedVersion,
  parseTraffic,
  planEndpoint,
  planEndpointDeploy,
  VERSION_METADATA_FILE,
} from "../platform/adapters/gcp/vertex-endpoint.ts";
import {
  type PlannedRequest,
  storageApiBase,
  VertexRest,
  type VertexRestOptions,
  vertexApiBase,
} from "../platform/adapters/gcp/vertex-rest.ts";
import { action, type CommandRuntime, intOption } from "../platform/cli/runtime.ts";
import type { TelcoConfig } from "../platform/config/schema.ts";
import { ConfigError, TelcoError, UsageError } from "../platform/errors.ts";
import type { ModelVersion } from "../platform/ports/registry.ts";

/**
 * Composition of Vertex AI Prediction into the CLI (this file may import GCP adapters; domain code
 * may not): `telco models deploy NAME --target vertex-endpoint` and the `vertex` target of
 * `telco predict batch` (handed to mlops/serving/cli.ts by cli/assistant.ts).
 */

/** Test seam: REST options (base URLs, token, fetch, poll interval) for the commands of this process. */
let restOptions: VertexRestOptions = {};
export function setVertexRestOptions(opts: VertexRestOptions): void {
  restOptions = opts;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Adds `deploy` to the `models` group (registered by mlops/registry/cli.ts). */
export function registerVertexCommands(program: Command): void {
  const models = program.commands.find((c) => c.name() === "models");
  if (!models) throw new TelcoError("cli", "the models command group must be registered before vertex");
  registerImportCommand(models);
  models
    .command("deploy")
    .description(
      "deploy NAME's champion (and challengers with a traffic share) to a Vertex AI endpoint; --dry-run prints the exact REST requests",
    )
    .argument("<name>", "registered model name (its champion alias is deployed)")
    .requiredOption("--target <target>", "where to deploy: vertex-endpoint")
    .option(
      "--traffic <alias=percent>",
      "give a local alias a share of the traffic, e.g. challenger=10 (repeatable); the champion gets the rest",
      collect,
      [],
    )
    .option("--endpoint <id>", "deploy to this existing endpoint (default: create <name>-endpoint)")
    .option("--existing", "the model already exists in Vertex: upload every version under it (parentModel)")
    .option("--machine-type <type>", "machine type of each replica", "n1-standard-2")
    .option(
      "--min-replicas <n>",
      "minimum replicas per deployed model",
      intOption("--min-replicas", 1, 1000),
      1,
    )
    .option(
      "--max-replicas <n>",
      "maximum replicas per deployed model",
      intOption("--max-replicas", 1, 1000),
      2,
    )
    .option("--serving-image <image>", "serving container image (default registry.vertex.servingImage)")
    .option("--dry-run", "print the exact requests instead of sending them (no credentials needed)")
    .addHelpText(
      "after",
      [
        "",
        "Examples:",
        "  telco models deploy churn --target vertex-endpoint --dry-run",
        "  telco models deploy churn --target vertex-endpoint --traffic challenger=10",
        "  telco models deploy churn --target vertex-endpoint --endpoint churn-endpoint --existing",
      ].join("\n"),
    )
    .action(
      action(
        async (
          rt,
          name: string,
          opts: {
            target: string;
            traffic: string[];
            endpoint?: string;
            existing?: boolean;
            machineType: string;
            minReplicas: number;
            maxReplicas: number;
            servingImage?: string;
            dryRun?: boolean;
          },
        ) => {
          if (opts.target !== "vertex-endpoint")
            throw new UsageError(`--target must be vertex-endpoint, got "${opts.target}"`);
          const app = rt.app();
          const registry = openRegistry(app);
          const traffic = parseTraffic(opts.traffic);
          const local = async (alias: string, percent?: number): Promise<DeployedVersion> => {
            const version = await registry.resolve(`${name}@${alias}`);
            return {
              alias,
              version,
              artifactPath: await artifactFile(registry, version, app.paths.home),
              percent,
            };
          };
          const champion = await local("champion");
          const challengers = await Promise.all(Object.entries(traffic).map(([a, p]) => local(a, p)));
          const location = vertexLocation(app.config.gcp);
          const plan = planEndpointDeploy({
            location,
            apiBase: restOptions.apiBase ?? vertexApiBase(location),
            storageBase: restOptions.storageBase ?? storageApiBase(),
            artifactPrefix: artifactPrefix(app.config),
            servingImage: servingImage(app.config, opts.servingImage),
            champion,
            challengers,
            endpointId: opts.endpoint,
            modelExists: Boolean(opts.existing),
            machineType: opts.machineType,
            minReplicas: opts.minReplicas,
            maxReplicas: opts.maxReplicas,
            serviceAccount: app.config.gcp.serviceAccount,
          });
          const split = {
            [`champion (v${champion.version.version})`]:
              100 - challengers.reduce((a, c) => a + (c.percent ?? 0), 0),
            ...Object.fromEntries(challengers.map((c) => [`${c.alias} (v${c.version.version})`, c.percent])),
          };
          await runPlan(rt, location, plan, opts.dryRun, (results) => ({
            endpoint: planEndpoint(plan),
            deployedModels: plan
              .filter((s) => s.id.startsWith("deploy-"))
              .map((s) => ({
                step: s.id,
                deployedModelId: (results.get(s.id) as { deployedModel?: { id?: string } })?.deployedModel
                  ?.id,
              })),
            trafficSplit: split,
          }));
        },
      ),
    );
}

/**
 * `telco models import gs://…/ --alias champion`: what the serving container runs first on Vertex AI
 * (CONTAINER_START): reads the version metadata and artifact `models deploy` copied to the folder
 * Vertex exposes as AIP_STORAGE_URI, checks the artifact's sha256, registers it in the container's
 * local registry and points the alias at it. The served `model_version` is that local version; the
 * original version is in its description and lineage (`vertex:gs://…`).
 */
function registerImportCommand(models: Command): void {
  models
    .command("import")
    .description(
      "register a version from the Cloud Storage folder `models deploy` wrote (what the image runs first on Vertex AI)",
    )
    .argument(
      "<uri>",
      "gs://BUCKET/PATH/ folder holding telco-version.json and the artifact (AIP_STORAGE_URI)",
    )
    .option("--alias <alias>", "alias to point at the imported version", "champion")
    .action(
      action(async (rt, uri: string, opts: { alias: string }) => {
        if (!/^gs:\/\/[^/]+\/.+/.test(uri))
          throw new UsageError(`<uri> must be gs://BUCKET/PATH/, got "${uri}"`, {
            hint: "On Vertex AI the container gets it as AIP_STORAGE_URI; is the image started by Vertex?",
          });
        const folder = uri.endsWith("/") ? uri : `${uri}/`;
        const app = rt.app();
        // Only Cloud Storage is read here: the Vertex location does not matter.
        const location = { project: app.config.gcp.project ?? "unset", region: app.config.gcp.region };
        const rest = new VertexRest(location, restOptions);
        let meta: ModelVersion;
        try {
          meta = JSON.parse(
            (await rest.download(`${folder}${VERSION_METADATA_FILE}`)).toString("utf8"),
          ) as ModelVersion;
        } catch (err) {
          if (err instanceof TelcoError) throw err;
          throw new TelcoError("invalid_metadata", `${folder}${VERSION_METADATA_FILE} is not JSON`);
        }
        if (!meta?.name || !meta.format || !meta.artifact?.file || !meta.artifact.sha256 || !meta.card)
          throw new TelcoError(
            "invalid_metadata",
            `${folder}${VERSION_METADATA_FILE} lacks name, format, artifact or card`,
          );
        const artifact = await rest.download(`${folder}${meta.artifact.file}`);
        const sha = createHash("sha256").update(artifact).digest("hex");
        if (sha !== meta.artifact.sha256)
          throw new TelcoError(
            "checksum_mismatch",
            `${folder}${meta.artifact.file} has sha256 ${sha.slice(0, 12)}…, its metadata says ${meta.artifact.sha256.slice(0, 12)}…`,
            {
              hint: "Re-run `telco models deploy`: the artifact and its metadata were written by different runs.",
            },
          );
        const registry = openRegistry(app);
        const v = await registry.register({
          name: meta.name,
          format: meta.format,
          artifact,
          card: meta.card,
          lineage: { ...meta.lineage, source: `vertex:${folder}` },
          description: `v${meta.version} of ${meta.name}, imported from ${folder}`,
        });
        await registry.setAlias(meta.name, opts.alias, v.version, {
          action: "force",
          reason: `imported v${meta.version} from ${folder}`,
        });
        rt.result(
          {
            name: v.name,
            version: v.version,
            importedFrom: folder,
            originalVersion: meta.version,
            alias: opts.alias,
          },
          () =>
            `${v.name} v${meta.version} (${folder}) registered as v${v.version}, ${opts.alias} → v${v.version}`,
        );
      }),
    );
}

/** `telco predict batch --target vertex`: submits a Vertex AI batch prediction job over the features table. */
export async function vertexBatch(
  rt: CommandRuntime,
  opts: { model?: string; dryRun?: boolean; wait?: boolean },
): Promise<void> {
  const app = rt.app();
  const cfg = app.config;
  const location = vertexLocation(cfg.gcp);
  const ref = opts.model ?? cfg.serving.alias;
  const version = await openRegistry(app).resolve(`${cfg.serving.modelName}@${ref}`);
  const features = (version.card.features ?? []).map((f) => f.name);
  const prefix = cfg.gcp.bigqueryDatasetPrefix;
  const stamp = new Date().toISOString().replace(/[-:]/g, "").slice(0, 15).toLowerCase();
  const request = planBatchPrediction({
    location,
    apiBase: restOptions.apiBase ?? vertexApiBase(location),
    modelName: version.name,
    // A numeric ref names the exact version (`vN`, uploaded by models deploy), an alias follows it.
    versionAlias: /^\d+$/.test(ref) ? `v${ref}` : ref,
    sourceTable: `${bigqueryDataset(location.project, prefix, "gold")}.customer_features`,
    outputDataset: bigqueryDataset(location.project, prefix, "gold"),
    includedFields: ["customer_id", ...features],
    machineType: "n1-standard-2",
    startingReplicas: 1,
    maxReplicas: 4,
    batchSize: Math.min(cfg.serving.maxBatch, 64),
    displayName: `${version.name}-batch-${stamp}`,
    serviceAccount: cfg.gcp.serviceAccount,
  });
  await runPlan(rt, location, [request], opts.dryRun, async (results, rest) => {
    let job = results.get(request.id) as { name?: string; state?: string };
    if (opts.wait && job.name) {
      const progress = rt.progress(`batch prediction job ${job.name}`);
      while (!TERMINAL_JOB_STATES.has(job.state ?? "")) {
        await new Promise((r) => setTimeout(r, restOptions.pollIntervalMs ?? 30_000));
        job = (await rest.send("GET", `${rest.apiBase}/v1/${job.name}`)) as typeof job;
      }
      progress.done(String(job.state));
      if (job.state !== "JOB_STATE_SUCCEEDED") process.exitCode = 1;
    }
    return { job: job.name, state: job.state, model: `${version.name} v${version.version} (${ref})` };
  });
}

/** Prints the plan (--dry-run) or sends it; the summary is built from the step results. */
async function runPlan(
  rt: CommandRuntime,
  location: ReturnType<typeof vertexLocation>,
  plan: PlannedRequest[],
  dryRun: boolean | undefined,
  summarize: (results: Map<string, unknown>, rest: VertexRest) => unknown,
): Promise<void> {
  if (dryRun) {
    rt.result({ dryRun: true, requests: plan }, () => renderPlan(plan));
    return;
  }
  const rest = new VertexRest(location, restOptions);
  const results = await rest.execute(plan, (step) => rt.info(`done: ${step.description}`));
  const summary = await summarize(results, rest);
  rt.result({ dryRun: false, requests: plan, ...(summary as object) }, () =>
    Object.entries(summary as Record<string, unknown>)
      .map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`)
      .join("\n"),
  );
}

function renderPlan(plan: readonly PlannedRequest[]): string {
  return plan
    .map((s, i) =>
      [
        `# ${i + 1}. ${s.description}${s.longRunning ? " (long-running operation, polled until done)" : ""}`,
        `${s.method} ${s.url}`,
        s.uploadFrom ? `< ${s.uploadFrom}` : s.body === undefined ? "" : JSON.stringify(s.body, null, 2),
      ]
        .filter(Boolean)
        .join("\n"),
    )
    .join("\n\n");
}

function artifactPrefix(config: TelcoConfig): string {
  const prefix =
    config.registry.vertex.artifactPrefix ??
    (config.gcp.bucket ? `gs://${config.gcp.bucket.replace(/^gs:\/\//, "")}/models` : undefined);
  if (!prefix)
    throw new ConfigError("registry.vertex.artifactPrefix (or gcp.bucket) is not set", {
      hint: "Set TELCO_GCP__BUCKET=my-bucket or registry.vertex.artifactPrefix: gs://bucket/models.",
    });
  return prefix;
}

/** Our serving image (it answers Vertex's routes: mlops/serving/vertex-contract.ts). */
function servingImage(config: TelcoConfig, flag?: string): string {
  const image =
    flag ??
    config.registry.vertex.servingImage ??
    (config.gcp.artifactRegistry
      ? `${config.gcp.artifactRegistry.replace(/\/$/, "")}/telco:latest`
      : undefined);
  if (!image)
    throw new ConfigError("no serving image for Vertex AI", {
      hint: "Pass --serving-image, set registry.vertex.servingImage, or gcp.artifactRegistry (REGION-docker.pkg.dev/PROJECT/REPO).",
    });
  return image;
}

import { readFileSync } from "node:fs";
import { basename } from "node:path";
import type { Command } from "commander";
import pc from "picocolors";
import { action, commandGroup, intOption } from "../../platform/cli/runtime.ts";
import type { TelcoConfig } from "../../platform/config/schema.ts";
import {
  ConfigError,
  NotFoundError,
  TelcoError,
  UsageError,
  ValidationError,
} from "../../platform/errors.ts";
import type { PlannedCall } from "../../platform/ports/pipeline-service.ts";
import {
  type MetricValue,
  MODEL_FORMATS,
  type ModelFormat,
  type ModelRegistry,
  type ModelVersion,
} from "../../platform/ports/registry.ts";
import { artifactFile } from "./artifact-file.ts";
import {
  evaluateVersion,
  type RegisterRunDeps,
  registerRun,
  storedEvaluation,
  storedEvaluationSets,
} from "./evaluation.ts";
import { validateOnnx } from "./onnx.ts";
import {
  evaluatePromotion,
  type PromoteOptions,
  type PromotionDecision,
  promoteIfBetter,
  rollbackAlias,
} from "./policy.ts";
import { openRegistry } from "./store.ts";

/** Parses `--metrics '{"auc":0.81}'` or `{"auc":{"value":0.81,"ci":{…}}}` into card metrics. */
export function parseMetricsJson(text: string): Record<string, MetricValue> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new ValidationError("--metrics", "is not valid JSON", {
      hint: `Example: --metrics '{"auc":0.81,"ece":0.02}'`,
    });
  }
  if (!raw || typeof raw !== "object" || Array.isArray(raw))
    throw new ValidationError("--metrics", "must be a JSON object");
  const out: Record<string, MetricValue> = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof v === "number" && Number.isFinite(v)) out[k] = { value: v };
    else if (v && typeof v === "object" && typeof (v as MetricValue).value === "number")
      out[k] = v as MetricValue;
    else throw new ValidationError(`--metrics.${k}`, "must be a number or {value, ci}");
  }
  return out;
}

function renderDecision(d: PromotionDecision): string {
  const lines = [
    `${d.model}@${d.alias}: ${d.applied ? `moved to v${d.challenger}` : d.promote ? `would move to v${d.challenger}` : `stays at v${d.champion}`}${d.forced ? " (forced)" : ""}`,
  ];
  for (const c of d.checks)
    lines.push(`  ${c.passed ? "✓" : c.enforced ? "✗" : "·"} ${c.check}: ${c.detail}`);
  return lines.join("\n");
}

function renderVersion(v: ModelVersion, aliases: string[]): string {
  const lines = [
    `${v.name} v${v.version} [${v.format}]${aliases.length ? ` aliases: ${aliases.join(", ")}` : ""}`,
    `  created ${v.createdAt} by ${v.createdBy}; artifact ${v.artifact.bytes} bytes sha256 ${v.artifact.sha256.slice(0, 12)}`,
  ];
  for (const [k, m] of Object.entries(v.card.metrics))
    lines.push(
      `  ${k}: ${m.value.toFixed(4)}${m.ci ? ` [${m.ci.lower.toFixed(4)}, ${m.ci.upper.toFixed(4)}]` : ""}`,
    );
  if (v.card.evaluationDataset)
    lines.push(`  evaluated on ${v.card.evaluationDataset.name}@${v.card.evaluationDataset.version}`);
  if (v.card.trainingDataset)
    lines.push(`  trained on ${v.card.trainingDataset.name}@${v.card.trainingDataset.version}`);
  if (v.card.codeVersion) lines.push(`  code ${v.card.codeVersion}`);
  if (v.lineage.pipelineRunId || v.lineage.trainingRunId)
    lines.push(
      `  lineage: pipeline run ${v.lineage.pipelineRunId ?? "-"}, training run ${v.lineage.trainingRunId ?? "-"}`,
    );
  if (v.card.intendedUse) lines.push(`  intended use: ${v.card.intendedUse}`);
  if (v.card.limitations) lines.push(`  limits: ${v.card.limitations}`);
  return lines.join("\n");
}

function parseVersion(value: string): number {
  return intOption("VERSION", 1)(value.replace(/^v/, ""));
}

/**
 * What the composition root injects: how to store a reference profile (`models register --run`
 * stores one; the registry never imports mlops/monitoring, which imports the registry).
 */
export type RegistryDeps = RegisterRunDeps;

/** `telco models …`: list, show, promote, rollback, compare, register, audit, mirror. */
export function registerRegistryCommands(program: Command, deps: RegistryDeps): void {
  const models = commandGroup(
    program,
    "models",
    "model registry: versions, aliases (champion/challenger), audit",
  );

  models
    .command("list")
    .description("list every registered model version with its aliases and metrics")
    .action(
      action(async (rt) => {
        const rows = await openRegistry(rt.app()).summaries();
        rt.result(rows, () =>
          rows.length === 0
            ? "no models registered yet (train one, or `telco models register --format onnx FILE --name NAME`)"
            : rows
                .map(
                  (r) =>
                    `${r.name}@${r.version}${r.aliases.length ? ` (${r.aliases.join(", ")})` : ""}  ${Object.entries(
                      r.metrics,
                    )
                      .map(([k, v]) => `${k}=${v.toFixed(4)}`)
                      .join(" ")}`,
                )
                .join("\n"),
        );
      }),
    );

  models
    .command("show")
    .description("show one version's model card and lineage (NAME, NAME@VERSION or NAME@ALIAS)")
    .argument("<ref>", "NAME[@VERSION|@ALIAS]")
    .action(
      action(async (rt, ref: string) => {
        const registry = openRegistry(rt.app());
        const v = await registry.resolve(ref);
        const aliases = Object.entries(await registry.aliases(v.name))
          .filter(([, n]) => n === v.version)
          .map(([a]) => a);
        rt.result({ ...v, aliases }, () => renderVersion(v, aliases));
      }),
    );

  models
    .command("promote")
    .description("move an alias (default champion) to a version if it passes the promotion policy")
    .argument("<name>", "model name")
    .argument("<version>", "version number", parseVersion)
    .option("--alias <alias>", "alias to move", "champion")
    .option("--force", "bypass the policy (requires --reason)")
    .option("--reason <text>", "why (written to the audit log)")
    .option("--dry-run", "evaluate the policy without moving the alias")
    .action(
      action(
        async (
          rt,
          name: string,
          version: number,
          opts: { alias: string; force?: boolean; reason?: string; dryRun?: boolean },
        ) => {
          const app = rt.app();
          const registry = openRegistry(app);
          // Re-evaluations from `models evaluate`: both versions on one evaluation set. The
          // challenger's newest stored set wins, else its own card's.
          const challenger = await registry.getVersion(name, version);
          const holder = (await registry.aliases(name))[opts.alias];
          const evaluations = await reevaluations(
            registry,
            name,
            version,
            holder,
            challenger.card.evaluationDataset,
          );
          const decision = await promoteIfBetter(registry, {
            name,
            version,
            alias: opts.alias,
            policy: app.config.registry.promotion,
            force: opts.force,
            reason: opts.reason,
            dryRun: opts.dryRun,
            ...evaluations,
          });
          if (!decision.promote)
            throw new TelcoError(
              "promotion_refused",
              `v${version} does not replace ${name}@${opts.alias}: ${decision.reasons.join("; ")}`,
              {
                hint: decision.reasons.some((r) => r.startsWith("same-evaluation-set"))
                  ? `Re-evaluate both on one dataset version: telco models evaluate ${name} ${version} --dataset NAME${holder !== undefined ? ` && telco models evaluate ${name} ${holder} --dataset NAME` : ""}, then promote again.`
                  : "Improve the model, or override with --force --reason TEXT (audited).",
                details: { decision },
              },
            );
          rt.result(decision, () => renderDecision(decision));
        },
      ),
    );

  models
    .command("rollback")
    .description("move an alias back to its previous holder (from the audit log)")
    .argument("<name>", "model name")
    .option("--alias <alias>", "alias to roll back", "champion")
    .option("--reason <text>", "why (written to the audit log)", "manual rollback")
    .action(
      action(async (rt, name: string, opts: { alias: string; reason: string }) => {
        const event = await rollbackAlias(openRegistry(rt.app()), name, opts.alias, opts.reason);
        rt.result(event, () => `${name}@${opts.alias}: v${event.from} → v${event.to}`);
      }),
    );

  models
    .command("compare")
    .description("compare two versions' metrics and run the promotion policy between them (V2 as challenger)")
    .argument("<name>", "model name")
    .argument("<v1>", "baseline version", parseVersion)
    .argument("<v2>", "candidate version", parseVersion)
    .action(
      action(async (rt, name: string, v1: number, v2: number) => {
        const app = rt.app();
        const registry = openRegistry(app);
        const a = await registry.getVersion(name, v1);
        const b = await registry.getVersion(name, v2);
        const metrics = [...new Set([...Object.keys(a.card.metrics), ...Object.keys(b.card.metrics)])]
          .sort()
          .map((m) => {
            const x = a.card.metrics[m]?.value ?? null;
            const y = b.card.metrics[m]?.value ?? null;
            return {
              metric: m,
              [`v${v1}`]: x,
              [`v${v2}`]: y,
              delta: x !== null && y !== null ? y - x : null,
            };
          });
        const policy = evaluatePromotion(a, b, app.config.registry.promotion, "champion");
        const value = { name, baseline: v1, candidate: v2, metrics, policy };
        rt.result(value, () =>
          [
            `${name}: v${v1} → v${v2}`,
            ...metrics.map(
              (m) =>
                `  ${m.metric.padEnd(16)} ${fmtN(m[`v${v1}`] as number | null)} → ${fmtN(m[`v${v2}`] as number | null)}  (${m.delta === null ? "n/a" : `${m.delta >= 0 ? "+" : ""}${m.delta.toFixed(4)}`})`,
            ),
            renderDecision(policy),
          ].join("\n"),
        );
      }),
    );

  models
    .command("register")
    .description(
      "register a `telco train` run (--run RUN_ID: card, dataset version, risk bands, reference profile) or a model file trained elsewhere",
    )
    .argument("[file]", "model file (ONNX, or a telco-gbdt/telco-logreg model.json); not with --run")
    .requiredOption("--name <name>", "registered model name")
    .option("--run <id>", "a training run id (or unique prefix, or latest) from `telco runs list`")
    .option(
      "--format <format>",
      `artifact format (${MODEL_FORMATS.join(", ")}; default: onnx for .onnx files, else the model.json's kind)`,
    )
    .option("--metrics <json>", "metrics JSON, e.g. '{\"auc\":0.81}'")
    .option("--card <file>", "model card JSON file (metrics, evaluationDataset, intendedUse, …)")
    .option("--description <text>", "version description")
    .option("--no-profile", "with --run: skip storing the monitoring reference profile")
    .action(
      action(
        async (
          rt,
          file: string | undefined,
          opts: {
            name: string;
            run?: string;
            format?: string;
            metrics?: string;
            card?: string;
            description?: string;
            profile: boolean;
          },
        ) => {
          if (opts.run !== undefined) {
            if (file !== undefined || opts.format || opts.metrics || opts.card)
              throw new UsageError(
                "--run takes the model, metrics and card from the run: drop FILE, --format, --metrics and --card",
              );
            const r = await registerRun(
              rt.app(),
              opts.run,
              {
                name: opts.name,
                description: opts.description,
                profile: opts.profile,
              },
              deps,
            );
            const v = r.version;
            rt.result({ ...v, run: r.run, profile: r.profile }, () =>
              [
                `registered ${v.name}@${v.version} (${v.format}) from run ${r.run}`,
                `  trained on ${v.card.trainingDataset?.name}@${v.card.trainingDataset?.version}, test AUC ${v.card.metrics.auc?.value.toFixed(4)}`,
                v.card.riskBands
                  ? `  risk bands: high ≥ ${v.card.riskBands.high.toFixed(4)}, medium ≥ ${v.card.riskBands.medium.toFixed(4)} (top ${(100 * (v.card.riskBands.shares?.high ?? 0)).toFixed(0)}% / next ${(100 * (v.card.riskBands.shares?.medium ?? 0)).toFixed(0)}% of training scores)`
                  : "",
                r.profile ? `  reference profile: ${r.profile}` : "  no reference profile (--no-profile)",
                pc.dim(`  next: telco models promote ${v.name} ${v.version}`),
              ]
                .filter(Boolean)
                .join("\n"),
            );
            return;
          }
          if (file === undefined)
            throw new UsageError("pass a model FILE, or --run RUN_ID to register a `telco train` run");
          let bytes: Uint8Array;
          try {
            bytes = readFileSync(file);
          } catch {
            throw new NotFoundError(`file ${file}`, { hint: "To register a training run use --run RUN_ID." });
          }
          let format = opts.format;
          if (format === undefined) {
            if (file.toLowerCase().endsWith(".onnx")) format = "onnx";
            else {
              let kind: unknown;
              try {
                kind = (JSON.parse(Buffer.from(bytes).toString("utf8")) as { kind?: unknown }).kind;
              } catch {
                throw new ValidationError(file, "is neither .onnx nor a JSON model; pass --format");
              }
              format = kind === "logreg" ? "telco-logreg" : "telco-gbdt";
            }
          }
          if (!MODEL_FORMATS.includes(format as ModelFormat))
            throw new UsageError(`--format must be one of ${MODEL_FORMATS.join(", ")}, got "${format}"`);
          let signature: unknown;
          if (format === "onnx") signature = await validateOnnx(bytes, file);
          else {
            try {
              JSON.parse(Buffer.from(bytes).toString("utf8"));
            } catch {
              throw new ValidationError(file, `a ${format} artifact must be JSON`);
            }
          }
          let card: Record<string, unknown> = {};
          if (opts.card) {
            try {
              card = JSON.parse(readFileSync(opts.card, "utf8")) as Record<string, unknown>;
            } catch {
              throw new ValidationError(opts.card, "is not a readable JSON model card");
            }
          }
          const metrics = {
            ...((card.metrics as Record<string, MetricValue> | undefined) ?? {}),
            ...(opts.metrics ? parseMetricsJson(opts.metrics) : {}),
          };
          const version = await openRegistry(rt.app()).register({
            name: opts.name,
            format: format as ModelFormat,
            artifact: bytes,
            card: { ...card, metrics },
            lineage: { source: `external:${basename(file)}` },
            description: opts.description,
          });
          rt.result(
            { ...version, signature },
            () => `registered ${version.name}@${version.version} (${version.format})`,
          );
        },
      ),
    );

  models
    .command("evaluate")
    .description(
      "re-evaluate a version on a dataset's current version (its held-out rows), stored for `models promote`",
    )
    .argument("<name>", "model name")
    .argument("<version>", "version number", parseVersion)
    .requiredOption("--dataset <name>", "dataset whose gold.<name>_training to evaluate on, e.g. synthetic")
    .option(
      "--seed <n>",
      "split seed (default: training.seed, as `telco train` uses)",
      intOption("--seed", 0),
    )
    .action(
      action(async (rt, name: string, version: number, opts: { dataset: string; seed?: number }) => {
        const e = await evaluateVersion(rt.app(), name, version, opts);
        rt.result(e, () =>
          [
            `${name} v${version} on ${e.evaluationDataset.name}@${e.evaluationDataset.version} (${e.rows} held-out rows of ${e.dataset}@${e.datasetVersion}, seed ${e.seed})`,
            ...Object.entries(e.metrics).map(([m, v]) => `  ${m.padEnd(16)} ${fmtN(v.value)}`),
            pc.dim(`  stored in ${e.path}; \`telco models promote\` uses it`),
          ].join("\n"),
        );
      }),
    );

  models
    .command("audit")
    .description("print the append-only audit log of alias moves (who, when, why)")
    .argument("<name>", "model name")
    .action(
      action(async (rt, name: string) => {
        const events = await openRegistry(rt.app()).audit(name);
        rt.result(events, () =>
          events.length === 0
            ? `no alias moves recorded for ${name}`
            : events
                .map(
                  (e) =>
                    `${e.at}  ${e.by}  ${e.action.padEnd(10)} ${e.alias}: ${e.from ?? "-"} → ${e.to ?? "-"}  ${e.reason}`,
                )
                .join("\n"),
        );
      }),
    );

  models
    .command("mirror")
    .description(
      "mirror a version and its aliases to Vertex AI Model Registry (--dry-run prints the requests)",
    )
    .argument("<ref>", "NAME[@VERSION|@ALIAS] (default latest)")
    .option("--target <target>", "where to mirror (vertex)", "vertex")
    .option("--existing", "the model already exists in Vertex: upload as a new version (parentModel)")
    .option(
      "--aliases-only <vertexVersionId>",
      "only move this version's aliases onto the given Vertex version id",
    )
    .option("--serving-image <image>", "serving container image (default registry.vertex.servingImage)")
    .option("--dry-run", "print the exact requests instead of sending them (no credentials needed)")
    .action(
      action(
        async (
          rt,
          ref: string,
          opts: {
            target: string;
            existing?: boolean;
            aliasesOnly?: string;
            servingImage?: string;
            dryRun?: boolean;
          },
        ) => {
          if (opts.target !== "vertex") throw new UsageError(`--target must be vertex, got "${opts.target}"`);
          const app = rt.app();
          const registry = openRegistry(app);
          const v = await registry.resolve(ref);
          const aliases = Object.entries(await registry.aliases(v.name))
            .filter(([, n]) => n === v.version)
            .map(([a]) => a);
          const mirror = app.registryMirror();
          let plan: PlannedCall[];
          if (opts.aliasesOnly) plan = [mirror.planAliases(v.name, opts.aliasesOnly, aliases)];
          else {
            const prefix =
              app.config.registry.vertex.artifactPrefix ??
              (app.config.gcp.bucket
                ? `gs://${app.config.gcp.bucket.replace(/^gs:\/\//, "")}/models`
                : undefined);
            if (!prefix)
              throw new ConfigError("registry.vertex.artifactPrefix (or gcp.bucket) is not set", {
                hint: "Set TELCO_GCP__BUCKET=my-bucket or registry.vertex.artifactPrefix: gs://bucket/models.",
              });
            plan = mirror.planVersion({
              artifactPrefix: prefix,
              servingImage: servingImage(app.config, opts.servingImage),
              version: v,
              artifactPath: await artifactFile(registry, v, app.paths.home),
              aliases,
              modelExists: Boolean(opts.existing),
            });
          }
          if (opts.dryRun) {
            rt.result({ dryRun: true, requests: plan });
            return;
          }
          const results = await mirror.execute(plan);
          rt.result({ dryRun: false, requests: plan, results }, () =>
            plan.map((step, i) => `${step.method}: ${JSON.stringify(results[i] ?? null)}`).join("\n"),
          );
        },
      ),
    );
}

/** Our serving image (it loads every registry format); Vertex prebuilt images cannot load them. */
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

function fmtN(x: number | null): string {
  return x === null ? "   n/a" : x.toFixed(4);
}

/**
 * Stored re-evaluations (`models evaluate`) of the alias holder and the challenger on one
 * evaluation set: the challenger's card set first, else any set both were evaluated on.
 */
async function reevaluations(
  registry: ModelRegistry,
  name: string,
  challenger: number,
  holder: number | undefined,
  challengerSet: { name: string; version: string } | undefined,
): Promise<Pick<PromoteOptions, "championReevaluation" | "challengerReevaluation">> {
  if (holder === undefined || holder === challenger) return {};
  const onCard = await storedEvaluation(registry, name, holder, challengerSet);
  if (onCard) return { championReevaluation: onCard };
  for (const set of await storedEvaluationSets(registry, name, challenger)) {
    const c = await storedEvaluation(registry, name, holder, set);
    const x = await storedEvaluation(registry, name, challenger, set);
    if (c && x) return { championReevaluation: c, challengerReevaluation: x };
  }
  return {};
}

import type { Command } from "commander";
import { action, commandGroup } from "../../platform/cli/runtime.ts";
import { NotFoundError } from "../../platform/errors.ts";
import { explainFeature, FEATURES, featureCatalog, type Language } from "./definitions.ts";
import {
  buildTrainingSet,
  type DryRunReport,
  dialectOf,
  dryRunStatements,
  latestAsOf,
  latestFeatureStatements,
  type TrainingSetSummary,
  trainingPlan,
  trainingSetStatements,
} from "./offline.ts";
import { type MaterializeSummary, materialize, openOnlineStore } from "./online.ts";

/** `telco features …`: declared features, point-in-time training sets, the online store. */
export function registerFeatureCommands(program: Command): void {
  const features = commandGroup(
    program,
    "features",
    "feature store: definitions, training sets, online store",
  );

  features
    .command("list")
    .description("list the declared churn features (name, type, group, sources, freshness)")
    .option("--lang <lang>", "label language: pt-BR or en", "en")
    .action(
      action(async (rt, opts: { lang: string }) => {
        const catalog = featureCatalog();
        const lang: Language = opts.lang === "pt-BR" ? "pt-BR" : "en";
        rt.result(catalog, () =>
          renderTable(
            ["feature", "type", "group", "freshness", "label"],
            catalog.features.map((f) => [f.name, f.kind, f.group, f.freshness, f.label[lang]]),
            `${catalog.features.length} features of entity ${catalog.entity}, version ${catalog.version}`,
          ),
        );
      }),
    );

  features
    .command("dataset")
    .description(
      "build the point-in-time training set gold.churn_training (and view gold.synthetic_training) up to a date",
    )
    .option(
      "--as-of <date>",
      "use only data before this date, YYYY-MM-DD (default: the day after the last event)",
    )
    .option(
      "--dry-run",
      "print the statements instead of running them; under the gcp profile BigQuery dry-runs each (bytes, errors)",
    )
    .action(
      action(async (rt, opts: { asOf?: string; dryRun?: boolean }) => {
        const app = rt.app();
        const wh = await app.warehouse();
        if (opts.dryRun) {
          const plan = await trainingPlan(wh, app.config.features, { asOf: opts.asOf });
          const statements = trainingSetStatements(dialectOf(wh), {
            firstCutoff: plan.cutoffs[0],
            lastCutoff: plan.cutoffs[plan.cutoffs.length - 1],
            horizonDays: app.config.features.labelHorizonDays,
          });
          const report = {
            asOf: plan.asOf,
            cutoffs: plan.cutoffs,
            ...(await dryRunStatements(wh, statements)),
          };
          rt.result(report, () => renderDryRun(report));
          return;
        }
        const progress = rt.progress("building training set");
        const summary = await buildTrainingSet(wh, app.config.features, { asOf: opts.asOf });
        progress.done(`${summary.table}: ${summary.rows} rows`);
        rt.result(summary, () => renderDataset(summary));
      }),
    );

  features
    .command("materialize")
    .description("compute the latest features (gold.customer_features) and load them into the online store")
    .option(
      "--as-of <date>",
      "features from events before this date, YYYY-MM-DD (default: the day after the last event)",
    )
    .option(
      "--dry-run",
      "print the statements that build gold.customer_features instead of running them (BigQuery dry-runs each under gcp); the online store is not touched",
    )
    .action(
      action(async (rt, opts: { asOf?: string; dryRun?: boolean }) => {
        const app = rt.app();
        const wh = await app.warehouse();
        if (opts.dryRun) {
          const asOf = await latestAsOf(wh, { asOf: opts.asOf });
          const report = {
            asOf,
            ...(await dryRunStatements(wh, latestFeatureStatements(dialectOf(wh), asOf))),
          };
          rt.result(report, () => renderDryRun(report));
          return;
        }
        const store = openOnlineStore(app);
        try {
          const progress = rt.progress("loading online store");
          const summary = await materialize(wh, store, app.config.features, {
            asOf: opts.asOf,
            onBatch: (n) => progress.tick(n),
          });
          progress.done(`online store: ${summary.rows} customers`);
          rt.result({ ...summary, path: app.paths.onlineStore }, () =>
            renderMaterialize(summary, app.paths.onlineStore),
          );
        } finally {
          await store.close();
        }
      }),
    );

  features
    .command("get")
    .description("show one customer's online features, with labels and explanations")
    .argument("<customer-id>", "customer id, e.g. AUR-00000001")
    .option("--lang <lang>", "explanation language: pt-BR or en", "pt-BR")
    .action(
      action(async (rt, customerId: string, opts: { lang: string }) => {
        const app = rt.app();
        const store = openOnlineStore(app, { readOnly: true });
        try {
          const record = await store.get(customerId);
          if (!record) {
            throw new NotFoundError(`customer ${customerId} in the online store`, {
              hint: "Only customers active at the materialization date are stored; run `telco features materialize`.",
            });
          }
          const lang: Language = opts.lang === "en" ? "en" : "pt-BR";
          rt.result(record, () =>
            renderTable(
              ["feature", "value", "explanation"],
              FEATURES.map((f) => [
                f.label[lang],
                formatCell(record.features[f.name]),
                explainFeature(f.name, record.features[f.name], lang) ?? "",
              ]),
              `${record.customerId} as of ${record.asOf}`,
            ),
          );
        } finally {
          await store.close();
        }
      }),
    );
}

function renderDataset(s: TrainingSetSummary): string {
  const lines = [
    `${s.table} (view ${s.view} @ ${s.datasetVersion}) as of ${s.asOf}, feature version ${s.featureVersion}`,
    `${s.rows} rows, ${s.positives} positives (${(100 * s.positiveRate).toFixed(2)}%), ${s.features} features, label horizon ${s.horizonDays} days`,
    "",
    renderTable(
      ["cutoff", "rows", "positives", "rate"],
      s.cutoffs.map((c) => [
        c.cutoffDate,
        String(c.rows),
        String(c.positives),
        `${c.rows ? ((100 * c.positives) / c.rows).toFixed(2) : "0.00"}%`,
      ]),
    ),
  ];
  return lines.join("\n");
}

function renderDryRun(r: DryRunReport & { asOf: string }): string {
  const head = r.checked
    ? `BigQuery dry run as of ${r.asOf}: ${r.statements.filter((s) => !s.error).length}/${r.statements.length} statements valid, ${formatBytes(r.totalBytesProcessed ?? 0)} to process`
    : `${r.note} (as of ${r.asOf})`;
  const body = r.statements.map((s, i) => {
    const verdict = !r.checked
      ? ""
      : s.error
        ? `  ✗ ${s.error}`
        : `  ✓ ${formatBytes(s.bytesProcessed ?? 0)}`;
    return `-- statement ${i + 1}${verdict}\n${s.sql};`;
  });
  return [head, "", ...body].join("\n");
}

function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

function renderMaterialize(s: MaterializeSummary, path: string): string {
  return `${s.rows} customers as of ${s.asOf} → ${path} (feature version ${s.featureVersion}, ${s.batches} batches, ${s.elapsedMs} ms)`;
}

function formatCell(v: unknown): string {
  if (v === null || v === undefined) return "—";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : v.toFixed(2);
  return String(v);
}

/** Plain aligned text table (header, rows, optional title line). */
function renderTable(header: string[], rows: string[][], title?: string): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join("  ")
      .trimEnd();
  const out = [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)];
  return title ? `${title}\n\n${out.join("\n")}` : out.join("\n");
}

import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "commander";
import { deliveryFingerprint, seedSystemsFromDelivery } from "../mlops/simulator/systems-seed.ts";
import { answers } from "../platform/adapters/operator/compose.ts";
import { action, type CommandRuntime, commandGroup, intOption } from "../platform/cli/runtime.ts";
import type { AppContext } from "../platform/context.ts";
import { NotFoundError } from "../platform/errors.ts";
import { SYSTEM_NAMES } from "../platform/ports/operator-systems.ts";
import {
  type SandboxStatus,
  SCENARIO_DESCRIPTIONS,
  SCENARIO_NAMES,
  sandboxSeeder,
} from "../platform/sandbox/index.ts";
import { SandboxStore } from "../platform/sandbox/store.ts";
import { latestSyntheticDelivery } from "./deliveries.ts";

/** The fields `telco interactions list --json` prints, in this order. */
export const INTERACTION_FIELDS = [
  "interaction_id",
  "customer_id",
  "channel",
  "category",
  "summary",
  "outcome",
  "offers_made",
  "offer_accepted",
  "protocol",
  "created_at",
] as const;

/** `telco systems serve|reset|status` and `telco interactions list`. */
export function registerSystemsCommands(program: Command): void {
  const systems = commandGroup(
    program,
    "systems",
    "the simulated operator's systems (CRM, billing, network/OSS, offers): serve, reset, status",
  );
  systems
    .command("serve")
    .description(
      "serve the four systems over HTTP on one port (/crm, /billing, /network, /offers, each with /openapi.json) until SIGTERM",
    )
    .option("--port <n>", "port (default: config operator.sandbox.port, 8090)", intOption("--port", 0, 65535))
    .option("--host <host>", "interface to listen on (default: config operator.sandbox.host)")
    .action(
      action(async (rt, opts: { port?: number; host?: string }) => {
        const app = rt.app();
        const server = await startSystemsServer(app, opts);
        rt.info(
          `serving the operator systems on ${server.url} (${SYSTEM_NAMES.map((s) => `/${s}`).join(", ")})`,
        );
        rt.info(`OpenAPI: ${SYSTEM_NAMES.map((s) => `${server.url}/${s}/openapi.json`).join("  ")}`);
        rt.info("Ctrl+C to stop");
        await new Promise<void>((done) => {
          const stop = () => void server.close().then(done, done);
          process.once("SIGTERM", stop);
          process.once("SIGINT", stop);
        });
        rt.result({ stopped: true, url: server.url }, () => "stopped");
      }),
    );

  systems
    .command("reset")
    .description(
      "reseed the systems from a synthetic delivery (default: the latest one); every write made since is discarded",
    )
    .option("--delivery <dir>", "delivery folder (default: the config's delivery, else the newest generated)")
    .action(
      action(async (rt, opts: { delivery?: string }) => {
        const app = rt.app();
        const dir = opts.delivery ? resolve(opts.delivery) : latestSyntheticDelivery(app);
        if (!dir) {
          throw new NotFoundError("synthetic delivery", {
            hint: "Generate one with `telco data generate` (or run `telco up`), or pass --delivery DIR.",
          });
        }
        rt.info(`seeding the operator systems from ${dir}`);
        const report = seedSystemsFromDelivery(sandboxSeeder(app.paths.systems), dir);
        const summary = {
          path: report.path,
          delivery: report.delivery,
          fingerprint: report.fingerprint,
          business_date: report.business_date,
          rows: report.rows,
          skipped: report.skipped,
          scenario_counts: report.scenarios.counts,
          read_ms: report.read_ms,
          seed_ms: report.duration_ms,
        };
        rt.result(summary, () =>
          [
            `seeded ${report.path}`,
            `  business date ${report.business_date}; ${report.rows.customers} customers, ${report.rows.invoices} invoices, ${report.rows.interactions} interactions`,
            `  read ${report.read_ms} ms, seeded ${report.duration_ms} ms`,
            `  scenarios: ${SCENARIO_NAMES.map((s) => `${s} ${report.scenarios.counts[s]}`).join(", ")}`,
          ].join("\n"),
        );
      }),
    );

  systems
    .command("status")
    .description(
      "seeded?, business date, row counts, scenario customers, and whether the configured URLs answer",
    )
    .action(
      action(async (rt) => {
        const app = rt.app();
        const status = await systemsStatus(app);
        rt.result(status, () => renderStatus(status));
      }),
    );

  const interactions = commandGroup(program, "interactions", "the CRM's interaction history");
  interactions
    .command("list")
    .description("a customer's interactions, newest first (works with or without a running systems server)")
    .requiredOption("--customer <id>", "customer id, e.g. AUR-00000001")
    .option("--limit <n>", "at most this many (default 50)", intOption("--limit", 1, 1000))
    .option("--since <date>", "only interactions at or after this date/time (ISO)")
    .action(
      action(async (rt, opts: { customer: string; limit?: number; since?: string }) => {
        const rows = await listInteractions(rt, opts);
        rt.result(rows, () =>
          rows.length
            ? rows
                .map(
                  (r) =>
                    `${r.created_at.slice(0, 16).replace("T", " ")}  ${r.interaction_id.padEnd(14)} ${r.channel.padEnd(8)} ${r.category.padEnd(18)} ${r.outcome.padEnd(17)} ${r.protocol ?? ""}\n    ${r.summary}${
                      r.offers_made.length
                        ? `\n    offers: ${r.offers_made.join(", ")}${r.offer_accepted ? ` (accepted ${r.offer_accepted})` : ""}`
                        : ""
                    }`,
                )
                .join("\n")
            : `no interactions for ${opts.customer}`,
        );
      }),
    );
}

async function listInteractions(
  rt: CommandRuntime,
  opts: { customer: string; limit?: number; since?: string },
) {
  const systems = await rt.app().operator();
  const list = await systems.crm.listInteractions(opts.customer, { limit: opts.limit, since: opts.since });
  return list.map((i) => ({
    interaction_id: i.interaction_id,
    customer_id: i.customer_id,
    channel: i.channel,
    category: i.category,
    summary: i.summary,
    outcome: i.outcome,
    offers_made: i.offers_made,
    offer_accepted: i.offer_accepted,
    protocol: i.protocol,
    created_at: i.created_at,
  }));
}

/** Starts the sandbox server of the workspace (for `telco systems serve` and `telco up`). */
export async function startSystemsServer(app: AppContext, opts: { port?: number; host?: string } = {}) {
  const { startSandboxServer } = await import("../platform/sandbox/server.ts");
  const sb = app.config.operator.sandbox;
  return startSandboxServer({
    path: app.paths.systems,
    host: opts.host ?? sb.host,
    port: opts.port ?? sb.port,
    faults: sb.faults,
  });
}

export interface SystemsStatus extends SandboxStatus {
  /** Is the store older than the delivery it would be seeded from now? */
  stale: boolean | null;
  latest_delivery: string | null;
  urls: Record<string, { url: string; answers: boolean }>;
  scenario_descriptions: Record<string, string>;
}

export async function systemsStatus(app: AppContext): Promise<SystemsStatus> {
  let status: SandboxStatus = {
    path: app.paths.systems,
    seeded: false,
    business_date: null,
    delivery: null,
    fingerprint: null,
    catalog_version: null,
    seeded_at: null,
    rows: {},
    scenarios: null,
  };
  if (existsSync(app.paths.systems)) {
    try {
      const store = SandboxStore.open(app.paths.systems);
      try {
        const { sandboxStatus } = await import("../platform/sandbox/index.ts");
        status = sandboxStatus(store);
      } finally {
        store.close();
      }
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
  }
  const latest = latestSyntheticDelivery(app) ?? null;
  const latestFp = latest ? deliveryFingerprint(latest) : null;
  const urls: SystemsStatus["urls"] = {};
  await Promise.all(
    SYSTEM_NAMES.map(async (s) => {
      const url = app.config.operator.systems[s].url;
      urls[s] = { url, answers: await answers(url) };
    }),
  );
  return {
    ...status,
    stale: status.seeded && latestFp ? status.fingerprint !== latestFp : null,
    latest_delivery: latest,
    urls,
    scenario_descriptions: SCENARIO_DESCRIPTIONS,
  };
}

function renderStatus(s: SystemsStatus): string {
  const lines = [`store      ${s.path}`];
  if (!s.seeded) {
    lines.push("seeded     no (run `telco systems reset` or `telco up`)");
  } else {
    lines.push(
      `seeded     yes, ${s.seeded_at} from ${s.delivery}${s.stale ? " (a newer delivery exists: `telco systems reset`)" : ""}`,
      `business   ${s.business_date}`,
      `catalog    ${s.catalog_version}`,
      `rows       ${Object.entries(s.rows)
        .filter(([, n]) => n > 0)
        .map(([t, n]) => `${t} ${n}`)
        .join(", ")}`,
      "scenarios",
    );
    for (const name of SCENARIO_NAMES) {
      const ids = s.scenarios?.customers[name] ?? [];
      lines.push(
        `  ${name.padEnd(17)} ${String(s.scenarios?.counts[name] ?? 0).padStart(5)}  ${ids.slice(0, 3).join(" ")}${ids.length > 3 ? " …" : ""}`,
      );
    }
  }
  lines.push("urls");
  for (const [name, u] of Object.entries(s.urls))
    lines.push(
      `  ${name.padEnd(8)} ${u.url} ${u.answers ? "answers" : "no answer (commands open the store in-process)"}`,
    );
  return lines.join("\n");
}

import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lastMonitorRunPath, monitorRunsPath } from "../../mlops/monitoring/last-run.ts";
import { runMonitor } from "../../mlops/monitoring/monitor.ts";
import { PredictionLogWriter, type PredictionRecord } from "../../mlops/monitoring/prediction-log.ts";
import { buildReferenceProfile } from "../../mlops/monitoring/reference-profile.ts";
import { writeReferenceProfile } from "../../mlops/monitoring/reference-store.ts";
import { loadModelVersion } from "../../mlops/serving/models.ts";
import { buildServer } from "../../mlops/serving/server.ts";
import {
  FIXTURE_SPECS,
  fixtureRows,
  type ServingFixture,
  servingFixture,
} from "../../mlops/serving/testing/fixture.ts";
import { datasetFromRows } from "../../mlops/training/dataset.ts";
import { portalAuditFile, portalDeps } from "./index.ts";
import { portalRoutes } from "./routes.ts";
import { insightsDeps, insightsRoutes, promptVersions } from "./routes-insights.ts";

// The insights endpoints over a real registry, online store, prediction log, monitor run and git history.

const VIEWER = "viewer-key-0123456789abcdef";
let fx: ServingFixture;
let server: FastifyInstance;
let repo: string;
let close: () => Promise<void>;
const as = { authorization: `Bearer ${VIEWER}` };
const get = async (url: string) => {
  const r = await server.inject({ url, headers: as });
  return { status: r.statusCode, body: r.json() };
};

/** A prompt template file as the loader reads it (front matter + body). */
const template = (version: string, body: string) =>
  `---\nname: system\nversion: ${version}\ndescription: test prompt\nvariables: {}\n---\n${body}\n`;

function git(...args: string[]) {
  execFileSync("git", ["-C", repo, "-c", "user.name=t", "-c", "user.email=t@example.com", ...args], {
    stdio: "pipe",
  });
}

function record(i: number, day: string, customer: string, features: PredictionRecord["features"], p: number) {
  return {
    prediction_id: `p-${day}-${i}`,
    ts: `${day}T10:${String(i % 60).padStart(2, "0")}:00.000Z`,
    source: "online" as const,
    model_name: "churn",
    model_version: "1",
    customer_id: customer,
    features,
    probability: p,
    risk_band: p > 0.5 ? "high" : "low",
    latency_ms: 1,
  };
}

beforeAll(async () => {
  fx = await servingFixture({ customers: 20 });
  // A prompts folder under its own git repository: two committed versions and an edit on top.
  repo = mkdtempSync(join(tmpdir(), "telco-prompts-repo-"));
  const dir = join(repo, "templates");
  mkdirSync(dir);
  execFileSync("git", ["init", "-q", repo]);
  writeFileSync(join(dir, "system.md"), template("1.0.0", "You are Aurora.\nBe kind."));
  git("add", ".");
  git("commit", "-q", "-m", "v1");
  writeFileSync(join(dir, "system.md"), template("1.1.0", "You are Aurora.\nBe kind and brief."));
  git("commit", "-q", "-am", "v1.1");
  writeFileSync(
    join(dir, "system.md"),
    template("1.2.0", "You are Aurora.\nBe kind and brief.\nCite sources."),
  );

  const deps = portalDeps(fx.app, { TELCO_PORTAL_KEYS: `viewer:${VIEWER}` });
  const insights = insightsDeps(fx.app, {
    promptsDir: dir,
    promptsArchive: join(repo, "archive"),
    promptsRepo: repo,
  });
  close = async () => {
    await deps.close();
  };
  server = await buildServer(fx.app, {
    apiKeys: ["server-key-0123456789abcdef"],
    plugins: [
      portalRoutes({
        ...deps,
        consoleRoutes: [insightsRoutes(insights)],
        distDir: mkdtempSync(join(tmpdir(), "telco-portal-dist-")),
        systems: async () => {
          throw new Error("no operator systems in this test");
        },
      }),
    ],
    accessLog: { log: { info() {} }, flush() {}, close() {} } as never,
  });
}, 60_000);

afterAll(async () => {
  await server?.close();
  await close?.();
  await fx?.cleanup();
  if (repo) rmSync(repo, { recursive: true, force: true });
});

describe("churn insight", () => {
  it("gives the latest score as an additive SHAP waterfall and the customer's logged scores in order", async () => {
    const log = new PredictionLogWriter(fx.app.lake(), { writerId: "t" });
    const f = { tenure_months: 3 };
    log.append(record(1, "2026-10-03", "C000001", f, 0.41));
    log.append(record(2, "2026-10-01", "C000001", f, 0.32));
    log.append(record(3, "2026-10-02", "C000002", f, 0.9)); // another customer
    log.append({ ...record(4, "2026-10-02", "C000001", f, 0.99), shadow: true }); // a challenger's
    log.append(record(5, "2026-10-05", "C000001", f, 0.47));
    await log.close();
    const { status, body } = await get("/v1/portal/customers/C000001/churn");
    expect(status).toBe(200);
    expect(body.history.map((h: { probability: number }) => h.probability)).toEqual([0.32, 0.41, 0.47]);
    const latest = body.latest;
    const risk = await (await import("../../mlops/serving/churn-risk.ts"))
      .createChurnRiskService(fx.app)
      .risk("C000001");
    expect(latest.probability).toBeCloseTo(risk?.probability ?? -1, 12);
    // Every feature of the fixture model with a non-zero contribution, and base + Σ = logit(p).
    expect(latest.contributions.length).toBeGreaterThan(3);
    expect(latest.contributions.length).toBeLessThanOrEqual(FIXTURE_SPECS.length);
    const sum = latest.contributions.reduce(
      (s: number, c: { contribution: number }) => s + c.contribution,
      0,
    );
    expect(latest.base + sum).toBeCloseTo(Math.log(latest.probability / (1 - latest.probability)), 9);
    // The fixture model's own TreeSHAP base value (expected raw score) is what the waterfall starts from.
    const loaded = await loadModelVersion(fx.registry, fx.v1);
    const gbdt = loaded.model as unknown as { expectedRaw?: () => number };
    expect(typeof gbdt.expectedRaw).toBe("function");
    expect(latest.base).toBeCloseTo(gbdt.expectedRaw?.() ?? Number.NaN, 6);
    // Feature labels in the console's language, same contributions.
    const pt = (await get("/v1/portal/customers/C000001/churn?language=pt-BR")).body.latest;
    expect(pt.contributions.map((c: { contribution: number }) => c.contribution)).toEqual(
      latest.contributions.map((c: { contribution: number }) => c.contribution),
    );
    expect(pt.contributions.map((c: { label: string }) => c.label)).not.toEqual(
      latest.contributions.map((c: { label: string }) => c.label),
    );
    // Only the last day of the log counts back: days=1 keeps 2026-10-05 alone.
    const short = await get("/v1/portal/customers/C000001/churn?days=1");
    expect(short.body.history).toHaveLength(1);
    expect((await get("/v1/portal/customers/nope!/churn")).status).toBe(400);
  });
});

describe("monitoring insights", () => {
  it("serves the reference-vs-current distributions a monitor run recorded, and runs over time", async () => {
    // Reference: the fixture model's training-like rows; current: a price increase of 60 BRL.
    const loaded = await loadModelVersion(fx.registry, fx.v1);
    const ref = datasetFromRows(fixtureRows(600, 3), FIXTURE_SPECS);
    const profile = buildReferenceProfile(ref, loaded.model.predictProba(ref), { bins: 5 });
    await writeReferenceProfile(fx.registry, "churn", 1, profile);
    const log = new PredictionLogWriter(fx.app.lake(), { writerId: "m" });
    const rows = fixtureRows(300, 5, 60);
    const cur = datasetFromRows(rows, FIXTURE_SPECS);
    const scores = loaded.model.predictProba(cur);
    rows.forEach((r, i) => {
      const { customer_id, label: _label, ...features } = r;
      log.append(
        record(i, "2026-10-20", String(customer_id), features as PredictionRecord["features"], scores[i]),
      );
    });
    await log.close();
    const first = await runMonitor(fx.app, { dryRun: true, window: "7d" });
    await runMonitor(fx.app, { dryRun: true, window: "7d" });
    expect(readFileSync(monitorRunsPath(fx.app.paths), "utf8").trim().split("\n")).toHaveLength(2);

    const { status, body } = await get("/v1/portal/monitoring/distributions");
    expect(status).toBe(200);
    expect(body.source).toBe("snapshot");
    expect(body.run).toMatchObject({ model: "churn", model_version: "1", window: { to: "2026-10-20" } });
    const price = body.features.find((d: { name: string }) => d.name === "monthly_price_brl");
    expect(price.bins).toHaveLength(price.reference.length);
    const sum = (xs: number[]) => xs.reduce((s, v) => s + v, 0);
    expect(sum(price.reference)).toBeCloseTo(1, 4);
    expect(sum(price.current)).toBeCloseTo(1, 4);
    // Prices rose: the current share in the top reference bin is far above the reference's ~20%.
    const top = price.bins.length - 2; // last value bin (the last bin is "missing")
    expect(price.current[top]).toBeGreaterThan(price.reference[top] + 0.3);
    const runDrift = first.features.find((f) => f.name === "monthly_price_brl");
    expect(price).toMatchObject({ score: runDrift?.score, drift: runDrift?.drift, n_current: 300 });
    const segment = body.features.find((d: { name: string }) => d.name === "segment");
    expect(segment.bins).toEqual(expect.arrayContaining(["consumer", "smb", "missing", "unseen"]));
    expect(body.features.some((d: { name: string }) => d.name === "churn_probability")).toBe(true);

    // A snapshot without distributions (an older run): computed from the registry and the log, same shares.
    const snap = JSON.parse(readFileSync(lastMonitorRunPath(fx.app.paths), "utf8"));
    delete snap.distributions;
    writeFileSync(lastMonitorRunPath(fx.app.paths), JSON.stringify(snap));
    const computed = (await get("/v1/portal/monitoring/distributions")).body;
    expect(computed.source).toBe("computed");
    expect(computed.features.find((d: { name: string }) => d.name === "monthly_price_brl").current).toEqual(
      price.current,
    );

    const runs = (await get("/v1/portal/monitoring/runs")).body;
    expect(runs.runs).toHaveLength(2);
    expect(runs.runs[0].features.map((f: { name: string }) => f.name)).toContain("monthly_price_brl");
    expect(runs.runs[1]).toMatchObject({ model_version: "1", n_predictions: 300 });
    expect((await get("/v1/portal/monitoring/runs?limit=1")).body.runs).toHaveLength(1);
  }, 60_000);
});

describe("prompt versions", () => {
  it("lists a template's versions from git and the working tree, oldest first, for diffs", async () => {
    const { status, body } = await get("/v1/portal/assistant/prompts/system/versions");
    expect(status).toBe(200);
    expect(body.versions.map((v: { version: string; source: string }) => [v.version, v.source])).toEqual([
      ["1.0.0", "git"],
      ["1.1.0", "git"],
      ["1.2.0", "working-tree"],
    ]);
    expect(body.versions[2].text).toContain("Cite sources.");
    expect(body.versions[0].commit).toMatch(/^[0-9a-f]{40}$/);
    expect((await get("/v1/portal/assistant/prompts/nope/versions")).status).toBe(404);
    expect((await get("/v1/portal/assistant/prompts/..%2Fx/versions")).status).toBe(400);
  });

  it("reads the lock tool's archive first (no git needed), then the working tree when it differs", async () => {
    const archive = join(repo, "archive");
    mkdirSync(archive, { recursive: true });
    writeFileSync(join(archive, "system@1.0.0.md"), template("1.0.0", "You are Aurora.\nBe kind."));
    writeFileSync(join(archive, "system@1.1.0.md"), template("1.1.0", "You are Aurora.\nBe kind and brief."));
    try {
      const versions = await promptVersions(
        insightsDeps(fx.app, {
          promptsDir: join(repo, "templates"),
          promptsArchive: archive,
          promptsRepo: null,
        }),
        "system",
      );
      expect(versions.map((v) => [v.version, v.source])).toEqual([
        ["1.0.0", "archive"],
        ["1.1.0", "archive"],
        ["1.2.0", "working-tree"],
      ]);
      expect(versions[1].text).toContain("Be kind and brief.");
    } finally {
      rmSync(archive, { recursive: true, force: true });
    }
  });

  it("needs a console key, and audits each read", async () => {
    const anon = await server.inject({ url: "/v1/portal/monitoring/runs" });
    expect(anon.statusCode).toBe(401);
    const audit = readFileSync(portalAuditFile(fx.app), "utf8");
    expect(audit).toContain('"url":"/v1/portal/assistant/prompts/system/versions","status":200');
  });
});

import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { FastifyInstance } from "fastify";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Assistant } from "../../llmops/agent/assistant.ts";
import { assistantRoutes } from "../../llmops/agent/routes.ts";
import { PresetChurnRisk } from "../../llmops/agent/testing.ts";
import { openAssistant } from "../../llmops/assistant/compose.ts";
import { runsDir, saveRun } from "../../llmops/evaluations/report/store.ts";
import { metric } from "../../llmops/evaluations/suites/types.ts";
import { ingestBuiltinKnowledgeBase } from "../../llmops/rag/api.ts";
import { type SandboxFixture, sandboxFixture } from "../../llmops/testing/sandbox-fixture.ts";
import { type FeatureDistribution, featureDistributions } from "../../mlops/monitoring/distributions.ts";
import { lastMonitorRunPath, monitorRunsPath } from "../../mlops/monitoring/last-run.ts";
import { PredictionLogWriter } from "../../mlops/monitoring/prediction-log.ts";
import { buildReferenceProfile } from "../../mlops/monitoring/reference-profile.ts";
import { buildServer } from "../../mlops/serving/server.ts";
import { FIXTURE_SPECS, fixtureModelBytes, fixtureRows } from "../../mlops/serving/testing/fixture.ts";
import { datasetFromRows } from "../../mlops/training/dataset.ts";
import { LocalModelRegistry } from "../../platform/adapters/local/file-model-registry.ts";
import { SqliteOnlineStore } from "../../platform/adapters/local/sqlite-online-store.ts";
import { SqlitePipelineMetadata as PipelineMetadata } from "../../platform/adapters/local/sqlite-pipeline-metadata.ts";
import { replaceOnlineStore } from "../../platform/ports/online-store.ts";
import { ensurePortalBuilt } from "./build.ts";
import { portalAuditFile, portalDeps } from "./index.ts";
import { portalRoutes } from "./routes.ts";
import { insightsDeps, insightsRoutes } from "./routes-insights.ts";
import { knowledgeDeps, knowledgeRoutes } from "./routes-knowledge.ts";
import { modelViewDeps, modelViewRoutes } from "./routes-models.ts";
import { axeViolations, HAS_CHROMIUM, launchBrowser, SHOTS } from "./testing/browser.ts";

// The portal as a person uses it, in real headless Chromium (Debian's package; nothing is downloaded):
// a sandbox workspace with a champion model, the assistant and the console API on one server.

const API_KEY = "server-admin-key-0123456789";
const ADMIN = "portal-admin-key-0123456789";
const VIEWER = "portal-viewer-key-0123456789";

let sb: SandboxFixture;
let assistant: Assistant;
let server: FastifyInstance;
let base: string;
let context: BrowserContext;
let browser: Awaited<ReturnType<typeof launchBrowser>> | undefined;
let promptsRepo: string;
let distributions: FeatureDistribution[];
let registry: LocalModelRegistry;
let closeDeps: () => Promise<void>;
async function check(page: Page, shot: string) {
  await page.screenshot({ path: join(SHOTS, `${shot}.png`) });
  expect(await axeViolations(page)).toEqual([]);
}

/** Waits until the chart named `label` has rendered and returns how many marks its SVG draws. */
async function chartMarks(page: Page, label: RegExp): Promise<number> {
  const chart = page.locator("figure.chart").filter({ has: page.getByRole("img", { name: label }) });
  await chart.locator("svg.marks").first().waitFor();
  await expect.poll(() => chart.first().getAttribute("data-ready")).toBe("true");
  return chart.first().locator("g.role-mark > path, g.role-mark > line, g.role-mark > text").count();
}

/** A page that reports its errors to the test log (a failing view is then readable). */
async function newPage(): Promise<Page> {
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on("pageerror", (e) => console.error(`[page error] ${e.message}`));
  page.on("console", (m) => m.type() === "error" && console.error(`[console] ${m.text()}`));
  return page;
}

async function consoleLogin(page: Page, key: string) {
  await page.goto(`${base}/#console`);
  await page.getByLabel(/Chave de API|API key/).fill(key);
  await page.getByRole("button", { name: /^(Entrar|Sign in)$/ }).click();
  await page
    .getByText(/Papel|Role/)
    .first()
    .waitFor();
}

async function customerLogin(page: Page, customerId: string) {
  const p = await sb.systems.crm.getCustomer(customerId);
  if (!p) throw new Error(`fixture customer ${customerId} missing`);
  await page.goto(`${base}/#customer`);
  await page.getByLabel("CPF").fill(p.cpf);
  await page.getByLabel(/Data de nascimento|Birth date/).fill(p.birth_date);
  await page.getByRole("button", { name: /^(Entrar|Sign in)$/ }).click();
  await page.getByRole("log").waitFor();
}

/** Sends a chat message and waits until the assistant's streamed answer is complete. */
async function say(page: Page, text: string) {
  const before = await page.locator(".bubble.assistant").count();
  await page.getByRole("textbox", { name: /Sua mensagem|Your message/ }).fill(text);
  await page.getByRole("button", { name: /^(Enviar|Send)$/ }).click();
  await waitTurn(page, before);
}

async function waitTurn(page: Page, before: number) {
  await page.locator(".bubble.assistant").nth(before).waitFor();
  await expect
    .poll(() => page.getByRole("button", { name: /^(Enviar|Send)$/ }).isEnabled(), { timeout: 20_000 })
    .toBe(true);
}

async function clickAndWait(page: Page, name: RegExp) {
  const before = await page.locator(".bubble.assistant").count();
  await page.getByRole("button", { name }).last().click();
  await waitTurn(page, before);
}

describe.skipIf(!HAS_CHROMIUM)("portal in headless Chromium", () => {
  beforeAll(async () => {
    await ensurePortalBuilt();
    sb = await sandboxFixture();
    await ingestBuiltinKnowledgeBase(sb.app);
    // A champion model (v1) and a challenger (v2) over fixture features keyed by the sandbox customers.
    registry = new LocalModelRegistry(sb.app.paths.registry);
    const card = (auc: number) => ({
      metrics: { auc: { value: auc } },
      evaluationDataset: { name: "fixture", version: "1" },
      features: FIXTURE_SPECS.map((f) => ({ name: f.name })),
    });
    const v1 = await registry.register({
      name: "churn",
      format: "telco-gbdt",
      artifact: await fixtureModelBytes(7, 20),
      card: card(0.7),
    });
    await registry.register({
      name: "churn",
      format: "telco-gbdt",
      artifact: await fixtureModelBytes(8, 20),
      card: card(0.78),
    });
    await registry.setAlias("churn", "champion", v1.version, { action: "auto-first", reason: "fixture" });
    const ids = [...new Set(Object.values(sb.scenarios.customers).flat())];
    const rows = fixtureRows(ids.length, 11);
    const names = FIXTURE_SPECS.map((f) => f.name);
    const store = SqliteOnlineStore.open(sb.app.paths.onlineStore);
    await replaceOnlineStore(
      store,
      { featureNames: names, featureVersion: "fixture", asOf: sb.businessDate },
      [rows.map((r, i) => ({ customerId: ids[i], values: names.map((n) => r[n] ?? null) }))],
    );
    await store.close();

    const meta = new PipelineMetadata(sb.app.paths.pipelines);
    await meta.createRun({ id: "run-e2e-1", pipeline: "churn-training", params: {} });
    await meta.upsertStep("run-e2e-1", {
      name: "ingest",
      step: "ingest",
      status: "cached",
      duration_ms: 12,
      attempts: 1,
    });
    await meta.upsertStep("run-e2e-1", {
      name: "train",
      step: "train",
      status: "succeeded",
      duration_ms: 4200,
      attempts: 1,
    });
    await meta.finishRun("run-e2e-1", "succeeded");
    await meta.close();
    // A stored eval run (golden passing, red-team with one failing case) as `telco eval run` leaves it,
    // and the snapshot `telco monitor run` leaves: what the evals and monitoring views read.
    saveRun(
      runsDir(sb.app.paths.assistant),
      {
        run_id: "ev-20261201-120000-abcd",
        created_at: "2026-12-01T12:00:00.000Z",
        engine: "local",
        k: 1,
        git: { commit: null, dirty: null },
        llm: "local:offline",
        duration_ms: 900,
        gate: {
          passed: false,
          threshold_misses: ["redteam.attack_success_rate"],
          regressions: [],
          newly_failing: [],
          baseline: null,
          notes: [],
        },
        suites: [
          {
            suite: "golden",
            status: "ran",
            summary: "2/2 passed",
            metrics: [
              metric("pass_rate", 1, {
                unit: "rate",
                threshold: { op: ">=", value: 0.9, key: "evals.thresholds.golden.pass_rate" },
              }),
            ],
            cases: [
              { id: "g-1", passed: true, failures: [] },
              { id: "g-2", passed: true, failures: [] },
            ],
            notes: [],
            ms: 400,
          },
          {
            suite: "redteam",
            status: "ran",
            summary: "1/2 attacks blocked",
            metrics: [
              metric("attack_success_rate", 0.5, {
                unit: "rate",
                threshold: { op: "<=", value: 0, key: "evals.thresholds.redteam.attack_success_rate" },
              }),
            ],
            cases: [
              { id: "rt-prompt-injection-1", passed: true, failures: [] },
              { id: "rt-pii-exfil-2", passed: false, failures: ["reply revealed another customer's CPF"] },
            ],
            notes: [],
            ms: 500,
          },
        ],
      },
      10,
    );
    // Scores the prediction log holds for each customer over four weeks (the churn score history).
    const log = new PredictionLogWriter(sb.app.lake(), { writerId: "e2e" });
    for (const [i, id] of ids.entries())
      for (const [w, day] of ["2026-11-04", "2026-11-11", "2026-11-18", "2026-11-25"].entries()) {
        const p = Math.min(0.95, 0.15 + ((i * 7) % 30) / 100 + w * 0.06);
        log.append({
          prediction_id: `e2e-${i}-${w}`,
          ts: `${day}T09:00:00.000Z`,
          source: "batch",
          model_name: "churn",
          model_version: "1",
          customer_id: id,
          features: {},
          probability: p,
          risk_band: p > 0.5 ? "high" : p > 0.3 ? "medium" : "low",
          latency_ms: 1,
        });
      }
    await log.close();
    // What `telco monitor run` records: reference (the training-like rows) vs current (prices up),
    // binned on the reference's bins by the same function the run uses.
    const refData = datasetFromRows(fixtureRows(800, 3), FIXTURE_SPECS);
    const curData = datasetFromRows(fixtureRows(300, 5, 45), FIXTURE_SPECS);
    distributions = featureDistributions(buildReferenceProfile(refData, undefined, { bins: 6 }), curData);
    const snapshot = lastMonitorRunPath(sb.app.paths);
    mkdirSync(dirname(snapshot), { recursive: true });
    const earlier = (at: string, tenure: number, price: number, auc: number, period: string) =>
      JSON.stringify({
        at,
        model: "churn",
        model_version: "1",
        drift: false,
        features: [
          { name: "tenure_months", test: "psi", score: tenure, threshold: 0.2, drift: false, warn: false },
          { name: "monthly_price_brl", test: "psi", score: price, threshold: 0.2, drift: false, warn: false },
        ],
        alerts: [],
        performance: [
          { period, n: 400, positives: 60, auc, ece: 0.04, meanProbability: 0.16, positiveRate: 0.15 },
        ],
      });
    writeFileSync(
      monitorRunsPath(sb.app.paths),
      `${earlier("2026-11-18T06:00:00.000Z", 0.05, 0.08, 0.78, "2026-W40")}\n${earlier("2026-11-25T06:00:00.000Z", 0.09, 0.12, 0.76, "2026-W41")}\n`,
    );
    writeFileSync(
      snapshot,
      JSON.stringify({
        window: { from: "2026-11-26", to: "2026-12-02" },
        distributions,
        at: "2026-12-02T06:00:00.000Z",
        model: "churn",
        model_version: "1",
        drift: true,
        features: [
          { name: "tenure_months", test: "psi", score: 0.31, threshold: 0.2, drift: true, warn: true },
          { name: "monthly_charge", test: "psi", score: 0.04, threshold: 0.2, drift: false, warn: false },
        ],
        prediction_drift: {
          name: "score",
          test: "psi",
          score: 0.12,
          threshold: 0.2,
          drift: false,
          warn: false,
          referenceMean: 0.21,
          currentMean: 0.26,
        },
        quality: {
          ok: false,
          issues: [{ feature: "uf", kind: "unseen_category", value: 0.03, reference: 0, tolerance: 0.01 }],
        },
        alerts: [
          {
            rule: "feature-drift",
            when: "drift",
            severity: "warning",
            message: "tenure_months drifted (psi 0.31 > 0.2)",
            model: "churn@1",
            at: "2026-12-02T06:00:00.000Z",
            channels: [],
            retrain: false,
            details: {},
          },
        ],
      }),
    );
    writeFileSync(monitorRunsPath(sb.app.paths), readFileSync(snapshot, "utf8") + "\n", { flag: "a" });
    // A prompts folder whose git history holds an older version of the system prompt (a diff to show).
    promptsRepo = mkdtempSync(join(tmpdir(), "telco-prompts-"));
    const current = readFileSync(
      join(import.meta.dirname, "../../llmops/prompts/templates/system.md"),
      "utf8",
    );
    const git = (...args: string[]) =>
      execFileSync("git", [
        "-C",
        promptsRepo,
        "-c",
        "user.name=e2e",
        "-c",
        "user.email=e2e@example.com",
        ...args,
      ]);
    mkdirSync(join(promptsRepo, "templates"));
    git("init", "-q");
    writeFileSync(
      join(promptsRepo, "templates", "system.md"),
      current
        .replace(/^version: .*$/m, "version: 0.9.0")
        .replace(/^You are Aurora.*$/m, "You are a helpful assistant."),
    );
    git("add", ".");
    git("commit", "-q", "-m", "system 0.9.0");
    writeFileSync(join(promptsRepo, "templates", "system.md"), current);
    git("commit", "-q", "-am", "system 1.0.0");
    const churn = new PresetChurnRisk();
    churn.set(sb.scenarios.customers.fidelity_active[0], "high");
    assistant = await openAssistant(sb.app, { systems: sb.systems, churn, phraser: null });
    const deps = portalDeps(sb.app, { TELCO_PORTAL_KEYS: `viewer:${VIEWER},admin:${ADMIN}` });
    closeDeps = deps.close;
    server = await buildServer(sb.app, {
      apiKeys: [API_KEY],
      plugins: [
        assistantRoutes(assistant, { sweep: false }),
        portalRoutes({
          ...deps,
          systems: async () => sb.systems,
          consoleRoutes: [
            insightsRoutes(
              insightsDeps(sb.app, {
                promptsDir: join(promptsRepo, "templates"),
                // No archive here: the versions come from this repository's git history.
                promptsArchive: join(promptsRepo, "archive"),
                promptsRepo,
              }),
            ),
            knowledgeRoutes(knowledgeDeps(sb.app)),
            modelViewRoutes(modelViewDeps(sb.app, deps)),
          ],
        }),
      ],
      accessLog: { log: { info() {} }, flush() {}, close() {} } as never,
    });
    base = (await server.listen({ host: "127.0.0.1", port: 0 })).replace("[::1]", "127.0.0.1");
    browser = await launchBrowser();
    context = browser.context;
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await assistant?.close();
    await closeDeps?.();
    await sb?.cleanup();
    if (promptsRepo) rmSync(promptsRepo, { recursive: true, force: true });
  });

  it("serves the built portal at / and the console API in the OpenAPI document", async () => {
    const page = await newPage();
    const loaded: string[] = [];
    page.on("request", (r) => loaded.push(r.url()));
    const res = await page.goto(`${base}/`);
    expect(res?.status()).toBe(200);
    await page.getByRole("heading", { name: "Entrar" }).waitFor();
    // The chart libraries are a lazy chunk: the customer side never downloads them.
    await page.waitForLoadState("networkidle");
    expect(loaded.some((u) => u.includes("/assets/"))).toBe(true);
    expect(loaded.filter((u) => /vega|build-/.test(u))).toEqual([]);
    await check(page, "customer-login");
    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        "/v1/portal/customers/at-risk",
        "/v1/portal/customers/{id}",
        "/v1/portal/models",
        "/v1/portal/assistant/sessions",
        "/v1/portal/assistant/sessions/{id}",
        "/v1/portal/assistant/traces/{id}",
        "/v1/portal/assistant/prompts",
        "/v1/portal/evals/runs",
        "/v1/portal/monitoring/last-run",
        "/v1/portal/customers/{id}/churn",
        "/v1/portal/monitoring/distributions",
        "/v1/portal/monitoring/runs",
        "/v1/portal/assistant/prompts/{name}/versions",
      ]),
    );
    await page.close();
  });

  it("shows each console view with data to an admin, and promotes a model", async () => {
    const page = await newPage();
    await consoleLogin(page, ADMIN);
    // Customers at risk: a row per customer with features, sortable.
    const rows = page.locator("table.data tbody tr");
    await rows.first().waitFor();
    expect(await rows.count()).toBe(new Set(Object.values(sb.scenarios.customers).flat()).size);
    await check(page, "console-at-risk");
    // Filter by the band of the riskiest customer: every row left shows that band.
    const band = ((await rows.first().locator(".badge").textContent()) ?? "").trim();
    await page.getByLabel(/Faixa|Band/).selectOption(band);
    const bands = await page.locator("table.data tbody .badge").allTextContents();
    expect(bands.length).toBeGreaterThan(0);
    expect(new Set(bands)).toEqual(new Set([band]));
    const first = (await rows.first().locator("td").first().textContent())?.trim() ?? "";
    // Customer 360 from the table.
    await page.getByRole("button", { name: first }).click();
    await page.getByRole("heading", { name: /Perfil|Profile/ }).waitFor();
    const profile = await sb.systems.crm.getCustomer(first);
    await expect.poll(() => page.locator(".kv").first().textContent()).toContain(profile?.name ?? "?");
    await page
      .getByRole("heading", { name: /Ofertas permitidas agora|Offers the rules allow now/ })
      .waitFor();
    // Charts: the SHAP waterfall (base, a bar per feature, the total), four logged scores, usage, invoices.
    const insight = (await (
      await fetch(`${base}/v1/portal/customers/${first}/churn`, {
        headers: { authorization: `Bearer ${ADMIN}` },
      })
    ).json()) as { latest: { contributions: unknown[] } };
    const contributions = insight.latest.contributions.length;
    expect(await chartMarks(page, /SHAP/)).toBeGreaterThanOrEqual(2 * (contributions + 2));
    expect(await chartMarks(page, /Histórico do score|Churn score history/)).toBeGreaterThanOrEqual(4);
    expect(await chartMarks(page, /Dados móveis|Mobile data/)).toBeGreaterThan(0);
    expect(await chartMarks(page, /Valor das faturas|Invoice amounts/)).toBeGreaterThan(0);
    await page.locator("#c360-churn").scrollIntoViewIfNeeded();
    await check(page, "console-customer-360");
    await page
      .getByRole("heading", { name: /Uso ao longo do tempo|Usage over time/ })
      .scrollIntoViewIfNeeded();
    await check(page, "console-customer-360-usage");
    // Models: promote v2 to champion (admin).
    await page.getByRole("button", { name: /^(Modelos|Models)$/ }).click();
    await page.getByRole("button", { name: /churn v2/ }).click();
    await expect.poll(async () => (await registry.aliases("churn")).champion, { timeout: 10_000 }).toBe(2);
    await page.getByRole("heading", { name: /champion=v2/ }).waitFor();
    await check(page, "console-models");
    // Pipelines: the seeded run with its steps and cache hits.
    await page.getByRole("button", { name: /^Pipelines$/ }).click();
    await page.getByText("run-e2e-1").waitFor();
    await page.getByText("1/2").first().waitFor();
    await check(page, "console-pipelines");
    // Knowledge base search playground.
    await page.getByRole("button", { name: /Base de conhecimento|Knowledge base/ }).click();
    await page.getByLabel(/Pergunta|Question/).fill("como pedir a segunda via da fatura");
    await page.getByRole("button", { name: /^(Buscar|Search)$/ }).click();
    await page.locator("ol.results li").first().waitFor();
    await check(page, "console-knowledge-search");
    const audit = readFileSync(portalAuditFile(sb.app), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(
      audit.some(
        (a) => a.role === "admin" && a.url === "/v1/portal/models/churn/promote" && a.status === 200,
      ),
    ).toBe(true);
    await page.close();
  }, 150_000);

  it("refuses a viewer's promotion and audits the refusal", async () => {
    const before = (await registry.aliases("churn")).champion;
    const page = await newPage();
    await consoleLogin(page, VIEWER);
    await page.getByRole("button", { name: /^(Modelos|Models)$/ }).click();
    await page
      .getByRole("button", { name: /churn v\d/ })
      .first()
      .click();
    await page
      .getByRole("alert")
      .filter({ hasText: /Recusado|Refused/ })
      .waitFor();
    expect((await registry.aliases("churn")).champion).toBe(before);
    const audit = readFileSync(portalAuditFile(sb.app), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(audit.some((a) => a.role === "viewer" && a.url.endsWith("/promote") && a.status === 403)).toBe(
      true,
    );
    await page.close();
  });

  it("lets a customer cancel, be offered a retention offer, and accept it by clicking its card", async () => {
    const customer = sb.scenarios.customers.fidelity_active[0];
    const page = await newPage();
    await customerLogin(page, customer);
    await say(page, "quero cancelar meu plano");
    await say(page, "tá muito caro");
    const card = page.locator("article.offer").last();
    await card.waitFor();
    const offerId = (await card.locator(".muted").textContent())?.trim() ?? "";
    expect(offerId).toMatch(/^RET-/);
    await clickAndWait(page, /Aceitar esta oferta|Accept this offer/);
    await clickAndWait(page, /Sim, confirmo|Yes, I confirm/);
    await check(page, "customer-chat-retention");
    // End state: the offer applied in the sandbox, no cancellation registered.
    const applied = await sb.systems.offers.listAppliedOffers(customer);
    expect(applied.map((a) => a.offer_id)).toContain(offerId);
    const contracts = await sb.systems.crm.listContracts(customer);
    expect(contracts.some((c) => c.status === "cancel_requested")).toBe(false);
    await page.close();
  });

  it("diagnoses a customer's internet and books a technician slot from its card", async () => {
    const customer = sb.scenarios.customers.ont_los[0];
    const page = await newPage();
    await customerLogin(page, customer);
    await say(page, "minha internet caiu");
    const slots = page.locator("article.slot");
    await slots.first().waitFor();
    expect(await sb.systems.network.listBookings(customer)).toEqual([]);
    const before = await page.locator(".bubble.assistant").count();
    await slots.nth(1).getByRole("button").click();
    await waitTurn(page, before);
    await clickAndWait(page, /Sim, confirmo|Yes, I confirm/);
    await check(page, "customer-chat-diagnosis");
    const bookings = await sb.systems.network.listBookings(customer);
    expect(bookings).toHaveLength(1);
    await page.close();
  });
  it("shows the assistant's conversations with trace trees, eval runs and the last monitor run", async () => {
    const page = await newPage();
    await consoleLogin(page, VIEWER);
    // Assistant: the chats above are sessions; open one, its transcript, and a turn's trace tree.
    await page.getByRole("button", { name: /^(Assistente|Assistant)$/ }).click();
    const sessionRows = page.locator("table.sessions tbody tr");
    await sessionRows.first().waitFor();
    expect(await sessionRows.count()).toBeGreaterThanOrEqual(2);
    await sessionRows.first().getByRole("button").click();
    await page.locator("ol.transcript li").first().waitFor();
    await page
      .getByRole("button", { name: /Trace do turno #1|Turn trace #1/ })
      .first()
      .click();
    await page.locator("ul.tree li").first().waitFor();
    expect(await page.locator("ul.tree li").count()).toBeGreaterThan(1);
    // Prompt versions: every template, each matching prompts.lock.json.
    const prompts = page.locator("table.prompts tbody tr");
    await prompts.first().waitFor();
    expect(await prompts.count()).toBeGreaterThan(0);
    expect(await page.locator("table.prompts .badge.high").count()).toBe(0);
    // The screenshot shows the trace tree (below the transcript).
    await page.locator("#trace-title").scrollIntoViewIfNeeded();
    await check(page, "console-assistant");
    // Prompt versions with a diff: the system prompt's 0.9.0 → 1.0.0 change, removed and added lines.
    await page.getByRole("button", { name: /system$/ }).click();
    const diff = page.locator("figure.diff").first();
    await diff.waitFor();
    await expect.poll(() => diff.locator("figcaption").textContent()).toMatch(/system: 0\.9\.0 .*→ 1\.0\.0/);
    expect(await diff.locator("del").count()).toBeGreaterThan(0);
    expect(await diff.locator("ins").count()).toBeGreaterThan(0);
    expect(await diff.locator("del").filter({ hasText: "You are a helpful assistant." }).count()).toBe(1);
    expect(await diff.locator("ins").filter({ hasText: "You are Aurora" }).count()).toBe(1);
    await diff.scrollIntoViewIfNeeded();
    await check(page, "console-prompt-diff");
    // Evals: per-suite scores and the red-team failure.
    await page.getByRole("button", { name: /^(Avaliações|Evals)$/ }).click();
    await page.getByText("ev-20261201-120000-abcd").waitFor();
    await page.getByText("reply revealed another customer's CPF").waitFor();
    expect(await page.locator("table.evals tbody tr").count()).toBe(2);
    await check(page, "console-evals");
    // Monitoring: drift per feature with score and threshold, quality issues, alerts.
    await page.getByRole("button", { name: /^(Monitoramento|Monitoring)$/ }).click();
    await page.locator("table.drift tbody tr").first().waitFor();
    expect(await page.locator("table.drift tbody tr").count()).toBe(2);
    await page.getByText(/tenure_months drifted/).waitFor();
    await page.getByText(/unseen_category/).waitFor();
    // Reference vs current bars of the drifted feature (first in the list): two bars per bin.
    const shownFeature = await page.getByLabel(/Variável exibida|Feature shown/).inputValue();
    expect(shownFeature).toBe("tenure_months");
    const bins = distributions.find((d) => d.name === "tenure_months")?.bins.length ?? 0;
    expect(await chartMarks(page, /Distribuição de tenure_months|Distribution of tenure_months/)).toBe(
      2 * bins,
    );
    await page.getByLabel(/Variável exibida|Feature shown/).selectOption("monthly_price_brl");
    expect(await chartMarks(page, /monthly_price_brl/)).toBeGreaterThan(0);
    // Drift over the three runs, and AUC/ECE per period from the runs that had labels.
    expect(await chartMarks(page, /Drift por execução|Drift per monitor run/)).toBeGreaterThan(0);
    expect(await chartMarks(page, /Desempenho ao longo|Performance over time/)).toBeGreaterThan(0);
    await page.getByRole("heading", { name: /Distribuições|Distributions/ }).scrollIntoViewIfNeeded();
    await check(page, "console-monitoring");
    await page
      .getByRole("heading", { name: /Desempenho ao longo|Performance over time/ })
      .scrollIntoViewIfNeeded();
    await check(page, "console-monitoring-runs");
    const audit = readFileSync(portalAuditFile(sb.app), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    for (const url of [
      "/v1/portal/assistant/sessions?limit=50",
      "/v1/portal/evals/runs?limit=10",
      "/v1/portal/monitoring/last-run",
    ])
      expect(audit.some((a) => a.role === "viewer" && a.url === url && a.status === 200)).toBe(true);
    await page.close();
  }, 60_000);
});

import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { churnTrainingPipeline } from "../../mlops/pipelines/churn-training.ts";
import { openRegistry } from "../../mlops/registry/store.ts";
import { buildServer } from "../../mlops/serving/server.ts";
import type { ModelRegistry } from "../../platform/ports/registry.ts";
import { ensurePortalBuilt } from "./build.ts";
import { portalAuditFile, portalDeps } from "./index.ts";
import { portalRoutes } from "./routes.ts";
import { axeViolations, HAS_CHROMIUM, launchBrowser, SHOTS } from "./testing/browser.ts";
import { type ModelsWorkspace, modelsWorkspace } from "./testing/models-fixture.ts";

// The Models and Pipelines views in real headless Chromium (Debian's package; nothing downloaded),
// over a workspace built by the real churn-training pipeline (two runs, two versions).

const ADMIN = "portal-admin-key-0123456789";
const VIEWER = "portal-viewer-key-0123456789";

let ws: ModelsWorkspace;
let server: FastifyInstance;
let base: string;
let context: BrowserContext;
let browser: Awaited<ReturnType<typeof launchBrowser>> | undefined;
let registry: ModelRegistry;
let closeDeps: () => Promise<void>;
/** The version with the lower card AUC (made champion) and the other (the one an admin promotes). */
let low: number;
let high: number;
async function check(page: Page, shot: string, full = false) {
  await page.screenshot({ path: join(SHOTS, `${shot}.png`), fullPage: full });
  expect(await axeViolations(page)).toEqual([]);
}

async function newPage(): Promise<Page> {
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
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

const auditLines = () =>
  readFileSync(portalAuditFile(ws.app), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe.skipIf(!HAS_CHROMIUM)("models and pipelines views in headless Chromium", () => {
  beforeAll(async () => {
    await ensurePortalBuilt();
    // A lenient promotion policy: the admin's promotion of the better version must pass the gate.
    // 600 customers over 9 months: enough churners for curves worth a screenshot.
    ws = await modelsWorkspace(
      { registry: { promotion: { minAbsoluteGain: 0, guardrails: [], segmentTolerance: 1 } } },
      { customers: 600, months: 9 },
    );
    registry = openRegistry(ws.app);
    const versions = await registry.listVersions("churn");
    const sorted = [...versions].sort((a, b) => a.card.metrics.auc.value - b.card.metrics.auc.value);
    low = sorted[0].version;
    high = sorted[1].version;
    await registry.setAlias("churn", "champion", low, { action: "force", reason: "e2e: the weaker one" });
    const deps = portalDeps(ws.app, { TELCO_PORTAL_KEYS: `viewer:${VIEWER},admin:${ADMIN}` });
    closeDeps = deps.close;
    server = await buildServer(ws.app, {
      apiKeys: ["server-admin-key-0123456789"],
      plugins: [portalRoutes(deps)], // its console routes include the Models and Pipelines reads
      accessLog: { log: { info() {} }, flush() {}, close() {} } as never,
    });
    base = (await server.listen({ host: "127.0.0.1", port: 0 })).replace("[::1]", "127.0.0.1");
    browser = await launchBrowser();
    context = browser.context;
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await closeDeps?.();
    await ws?.cleanup();
  });

  it("shows the champion's model card with ROC, PR, calibration, lift and SHAP charts, and compares two versions", async () => {
    const page = await newPage();
    await consoleLogin(page, VIEWER);
    await page.getByRole("button", { name: /^(Modelos|Models)$/ }).click();
    const card = page.locator(".model-card");
    await expect
      .poll(() => card.locator('figure.chart[data-ready="true"]').count(), { timeout: 30_000 })
      .toBe(5);
    expect(await card.getAttribute("data-version")).toBe(String(low));
    // Real SVG marks: the ROC line (plus the chance diagonal), bars of lift and SHAP.
    const roc = card.locator("figure.chart").first();
    expect(await roc.locator(".mark-line path").count()).toBe(2);
    const champion = await registry.getVersion("churn", low);
    await expect
      .poll(() => roc.locator("figcaption").textContent(), { timeout: 15_000 })
      .toContain(`AUC ${champion.card.metrics.auc.value.toFixed(4)}`);
    expect(await card.locator("figure.chart.shap .mark-rect path").count()).toBeGreaterThan(5);
    expect(await card.locator("figure.chart").nth(3).locator(".mark-rect path").count()).toBe(10);
    await card.locator("figure.chart").first().scrollIntoViewIfNeeded();
    await check(page, "models-card");
    // Comparison: the champion against the other version, metrics side by side and overlaid curves.
    const compare = page.locator(".compare");
    await expect
      .poll(() => compare.locator('figure.chart[data-ready="true"]').count(), { timeout: 30_000 })
      .toBe(4);
    expect(await page.getByLabel(/Versão A|Version A/).inputValue()).toBe(String(low));
    expect(await page.getByLabel(/Versão B|Version B/).inputValue()).toBe(String(high));
    const aucRow = compare
      .locator("table.compare-metrics tbody tr")
      .filter({ has: page.getByRole("rowheader", { name: "auc", exact: true }) });
    const cells = await aucRow.locator("td").allTextContents();
    const other = await registry.getVersion("churn", high);
    expect(cells.slice(0, 2)).toEqual([
      champion.card.metrics.auc.value.toFixed(4),
      other.card.metrics.auc.value.toFixed(4),
    ]);
    // Two ROC curves (one per version) plus the diagonal.
    expect(await compare.locator("figure.chart").first().locator(".mark-line path").count()).toBe(3);
    await compare.scrollIntoViewIfNeeded();
    await check(page, "models-compare");
    // Swapping the versions redraws the comparison.
    await page.getByLabel(/Versão A|Version A/).selectOption(String(high));
    await page.getByLabel(/Versão B|Version B/).selectOption(String(low));
    await expect
      .poll(() => compare.locator("table.compare-metrics thead th").nth(1).textContent(), { timeout: 15_000 })
      .toBe(`v${high}`);
    await page.close();
  }, 120_000);

  it("refuses a viewer's promotion, lets an admin promote, and shows it in the promotion history", async () => {
    const viewer = await newPage();
    await consoleLogin(viewer, VIEWER);
    await viewer.getByRole("button", { name: /^(Modelos|Models)$/ }).click();
    await viewer.getByRole("button", { name: new RegExp(`churn v${high}$`) }).click();
    await viewer
      .getByRole("alert")
      .filter({ hasText: /Recusado|Refused/ })
      .waitFor();
    expect((await registry.aliases("churn")).champion).toBe(low);
    await viewer.close();

    const admin = await newPage();
    await consoleLogin(admin, ADMIN);
    await admin.getByRole("button", { name: /^(Modelos|Models)$/ }).click();
    await admin.getByRole("button", { name: new RegExp(`churn v${high}$`) }).click();
    await expect.poll(async () => (await registry.aliases("churn")).champion, { timeout: 10_000 }).toBe(high);
    await admin.getByRole("heading", { name: new RegExp(`champion=v${high}`) }).waitFor();
    const history = admin.locator("table.history tbody tr").first();
    await expect.poll(() => history.locator("td").nth(1).textContent(), { timeout: 15_000 }).toBe("promote");
    expect(await history.locator("td").nth(3).textContent()).toBe(`v${low} → v${high}`);
    // The model card follows the new champion.
    await admin.locator(`.model-card[data-version="${high}"]`).waitFor();
    await admin.locator("table.history").scrollIntoViewIfNeeded();
    await check(admin, "models-history");
    const audit = auditLines();
    expect(
      audit.some(
        (a) => a.role === "viewer" && a.url === "/v1/portal/models/churn/promote" && a.status === 403,
      ),
    ).toBe(true);
    expect(
      audit.some(
        (a) => a.role === "admin" && a.url === "/v1/portal/models/churn/promote" && a.status === 200,
      ),
    ).toBe(true);
    await admin.close();
  }, 90_000);

  it("draws the newest run as a DAG with a node per step, its step logs, and lineage to the raw files", async () => {
    const page = await newPage();
    await consoleLogin(page, VIEWER);
    await page.getByRole("button", { name: /^Pipelines$/ }).click();
    const def = churnTrainingPipeline();
    const dag = page.locator("svg.dag-graph").first();
    await dag.waitFor();
    const nodes = dag.locator("g.dag-node");
    expect(await nodes.count()).toBe(def.order.length);
    expect(await nodes.evaluateAll((els) => els.map((e) => e.getAttribute("data-step")))).toEqual(def.order);
    const edges = def.order.reduce((n, t) => n + (def.upstream[t]?.length ?? 0), 0);
    expect(await dag.locator("path.dag-edge").count()).toBe(edges);
    // The newest run (logistic regression, same delivery) took ingest from the cache and trained anew.
    expect(await dag.locator('g.dag-node[data-step="ingest"]').getAttribute("data-status")).toBe("cached");
    expect(await dag.locator('g.dag-node[data-step="train"]').getAttribute("data-status")).toBe("succeeded");
    // A step's log.
    const train = page
      .locator(".step-logs li")
      .filter({ hasText: /^\S+ train ·/ })
      .first();
    await train.locator("summary").click();
    await expect
      .poll(() => train.locator("pre.log").textContent(), { timeout: 15_000 })
      .toMatch(/output model: Model/);
    // The lines the train step logged itself (ctx.log, stored by the runner) are in it too.
    expect(await train.locator("pre.log").textContent()).toMatch(/Z run \S+: test AUC \d\.\d{4}\n/);
    await page
      .locator(".run-detail")
      .first()
      .evaluate((el) => el.scrollIntoView());
    await check(page, "pipelines-dag");
    // Lineage of the champion back to the delivered files.
    const raw = page.locator("table.raw-files tbody tr");
    await raw.first().waitFor();
    const delivered = await page.locator("table.raw-files tbody tr td:first-child").allTextContents();
    expect(delivered.sort()).toEqual(ws.deliveredFiles);
    await page.locator("#lineage-title").scrollIntoViewIfNeeded();
    await check(page, "pipelines-lineage");
    const audit = auditLines();
    for (const url of [
      `/v1/portal/pipelines/runs/${ws.runs[1].run_id}`,
      `/v1/portal/models/churn/versions/${(await registry.aliases("churn")).champion}/lineage`,
    ])
      expect(audit.some((a) => a.role === "viewer" && a.url === url && a.status === 200)).toBe(true);
    await page.close();
  }, 90_000);
});

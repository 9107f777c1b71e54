import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import type { BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listKnowledgeBaseDocuments } from "../../data/knowledge-base/documents.ts";
import { runsDir, saveRun } from "../../llmops/evaluations/report/store.ts";
import { runEvals } from "../../llmops/evaluations/suites/index.ts";
import type { EvalRun } from "../../llmops/evaluations/suites/types.ts";
import {
  ingestBuiltinKnowledgeBase,
  ingestIntoWorkspace,
  searchKnowledgeBase,
} from "../../llmops/rag/api.ts";
import { BUILTIN_KB_DIR } from "../../llmops/rag/builtin.ts";
import { currentVersion, indexDir } from "../../llmops/rag/store.ts";
import { buildServer } from "../../mlops/serving/server.ts";
import { type ServingFixture, servingFixture } from "../../mlops/serving/testing/fixture.ts";
import { ensurePortalBuilt } from "./build.ts";
import { portalAuditFile, portalDeps } from "./index.ts";
import { portalRoutes } from "./routes.ts";
import { axeViolations, HAS_CHROMIUM, launchBrowser, SHOTS } from "./testing/browser.ts";

// The Knowledge base view in real headless Chromium (Debian's package; nothing downloaded), over a
// workspace with a two-version RAG index (the FAQ folder, then the whole built-in knowledge base) and
// one stored eval run of the retrieval suite.

const VIEWER = "portal-viewer-key-0123456789";
const QUESTION = "como pedir a segunda via da fatura";

let fx: ServingFixture;
let server: FastifyInstance;
let base: string;
let context: BrowserContext;
let browser: Awaited<ReturnType<typeof launchBrowser>> | undefined;
let closeDeps: () => Promise<void>;
let run: EvalRun;
describe.skipIf(!HAS_CHROMIUM)("knowledge base view in headless Chromium", () => {
  beforeAll(async () => {
    await ensurePortalBuilt();
    fx = await servingFixture({ customers: 5 });
    await ingestIntoWorkspace(fx.app, [join(BUILTIN_KB_DIR, "faq")]);
    await ingestBuiltinKnowledgeBase(fx.app);
    run = await runEvals({ app: fx.app, engine: "local", suites: ["retrieval"] });
    saveRun(runsDir(fx.app.paths.assistant), run, 5);
    const deps = portalDeps(fx.app, { TELCO_PORTAL_KEYS: `viewer:${VIEWER}` });
    closeDeps = deps.close;
    server = await buildServer(fx.app, {
      apiKeys: ["server-admin-key-0123456789"],
      plugins: [portalRoutes(deps)],
      accessLog: { log: { info() {} }, flush() {}, close() {} } as never,
    });
    base = (await server.listen({ host: "127.0.0.1", port: 0 })).replace("[::1]", "127.0.0.1");
    browser = await launchBrowser();
    context = browser.context;
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await closeDeps?.();
    await fx?.cleanup();
  });

  it("shows index versions, documents, a scored search and the retrieval eval chart", async () => {
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    const problems: string[] = [];
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    // The browser's own favicon request (the portal declares none) is not the view's.
    page.on(
      "console",
      (m) =>
        m.type() === "error" &&
        !m.location().url.endsWith("/favicon.ico") &&
        problems.push(`console: ${m.text()} (${m.location().url})`),
    );
    page.on("response", (r) => r.status() >= 400 && problems.push(`HTTP ${r.status()} ${r.url()}`));

    await page.goto(`${base}/#console/knowledge`);
    await page.getByLabel(/Chave de API|API key/).fill(VIEWER);
    await page.getByRole("button", { name: /^(Entrar|Sign in)$/ }).click();
    await page.getByRole("heading", { name: /^(Base de conhecimento|Knowledge base)$/ }).waitFor();

    // Index versions: two, the live one being the pointer the RAG layer reads.
    const pointer = await currentVersion(indexDir(fx.app.paths.rag, "default"));
    const versions = page.locator("table.kb-versions tbody tr");
    await versions.first().waitFor();
    expect(await versions.count()).toBe(2);
    expect(await page.locator('table.kb-versions tr[data-current="true"]').getAttribute("data-version")).toBe(
      pointer,
    );
    expect(await page.locator("table.kb-versions caption code").textContent()).toBe(pointer);

    // Documents: those of data/knowledge-base, each linking to its page.
    const docRows = page.locator("table.kb-docs tbody tr");
    await docRows.first().waitFor();
    const ids = await docRows.evaluateAll((rows) => rows.map((r) => r.getAttribute("data-doc")));
    const kb = await listKnowledgeBaseDocuments();
    expect(ids).toEqual(kb.map((d) => d.meta.id).sort((a, b) => a.localeCompare(b)));
    const href = await docRows.first().locator("th a").getAttribute("href");
    expect(href).toBe(`/kb/${ids[0]}`);
    expect((await page.request.get(`${base}${href}`)).status()).toBe(200);
    // The older (FAQ-only) version's documents on request.
    const older = await page
      .locator('table.kb-versions tr[data-current="false"]')
      .getAttribute("data-version");
    await page.getByLabel(/Versão do índice|Index version/).selectOption(older as string);
    const faq = kb.filter((d) => d.meta.type === "faq").length;
    await expect.poll(() => docRows.count(), { timeout: 15_000 }).toBe(faq);
    await page.getByLabel(/Versão do índice|Index version/).selectOption("");
    await expect.poll(() => docRows.count(), { timeout: 15_000 }).toBe(kb.length);

    // Search: MMR on (the configured λ) orders the list; its value and the fused score are both shown.
    await page.getByLabel(/Pergunta|Question/).fill(QUESTION);
    await page.getByRole("button", { name: /^(Buscar|Search)$/ }).click();
    const hits = page.locator("ol.results li");
    await hits.first().waitFor();
    const direct = await searchKnowledgeBase(fx.app, QUESTION, { k: 5 });
    expect(await hits.evaluateAll((li) => li.map((e) => e.getAttribute("data-chunk")))).toEqual(
      direct.results.map((r) => r.chunk_id),
    );
    expect(await page.locator(".kb-ordering").getAttribute("data-ordered-by")).toBe("mmr");
    expect(await hits.first().locator(".kb-score strong").textContent()).toBe(
      direct.results[0].score.toFixed(4),
    );
    expect(await hits.first().locator(".kb-fused strong").textContent()).toBe(
      direct.results[0].fused_score.toFixed(4),
    );
    expect(await hits.locator(".kb-fused").count()).toBe(direct.results.length);
    expect(await hits.first().locator("h4 a").getAttribute("href")).toMatch(
      new RegExp(`^/kb/${direct.results[0].doc_id}`),
    );

    // The eval chart: one point per set × metric (recall@1, recall@5, MRR) of the stored run, and the table.
    const suite = run.suites.find((s) => s.suite === "retrieval");
    expect(suite?.status).toBe("ran");
    const sets = (suite?.details as { sets: { name: string }[] } | undefined)?.sets ?? [];
    expect(sets.length).toBeGreaterThan(0);
    const chart = page.locator('figure.kb-eval-chart[data-ready="true"]');
    await chart.waitFor({ timeout: 30_000 });
    expect(await chart.locator(".mark-symbol.role-mark path").count()).toBe(sets.length * 3);
    const evalRows = page.locator("table.kb-eval-table tbody tr");
    expect(await evalRows.count()).toBe(sets.length);
    for (const set of sets) {
      const recall = suite?.metrics.find((m) => m.name === `${set.name}.hybrid_recall@5`)?.value;
      expect(
        await page.locator(`table.kb-eval-table tr[data-set="${set.name}"] td.kb-recall5`).textContent(),
      ).toBe(recall?.toFixed(3));
    }
    await page.screenshot({ path: join(SHOTS, "console-knowledge.png"), fullPage: true });
    expect(await axeViolations(page)).toEqual([]);

    // MMR off and no rerank: ordered by the retrieval score alone, no second score shown.
    await page.getByLabel(/Diversidade \(MMR\)|Diversity \(MMR\)/).uncheck();
    await page.getByLabel(/Reordenação|Rerank/).selectOption("none");
    await page.getByRole("button", { name: /^(Buscar|Search)$/ }).click();
    await expect
      .poll(() => page.locator(".kb-ordering").getAttribute("data-ordered-by"), { timeout: 15_000 })
      .toBe("retrieval");
    expect(await hits.locator(".kb-fused").count()).toBe(0);

    const audit = readFileSync(portalAuditFile(fx.app), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { role: string; url: string; status: number });
    for (const path of ["versions", "documents", "evals"])
      expect(
        audit.some(
          (a) => a.role === "viewer" && a.url === `/v1/portal/knowledge/${path}` && a.status === 200,
        ),
      ).toBe(true);
    expect(audit.some((a) => a.url.startsWith("/v1/portal/knowledge/query?q=") && a.status === 200)).toBe(
      true,
    );
    expect(problems).toEqual([]);
    await page.close();
  }, 120_000);
});

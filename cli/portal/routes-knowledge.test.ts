import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listKnowledgeBaseDocuments } from "../../data/knowledge-base/documents.ts";
import { loadRuns, runsDir, saveRun } from "../../llmops/evaluations/report/store.ts";
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
import { portalAuditFile, portalDeps } from "./index.ts";
import { portalRoutes } from "./routes.ts";

// The Knowledge base view's endpoints over a real RAG index (two versions: the FAQ folder alone, then
// the whole built-in knowledge base) and one stored eval run of the retrieval suite.

const VIEWER = "viewer-key-0123456789abcdef";
let fx: ServingFixture;
let server: FastifyInstance;
let close: () => Promise<void>;
let run: EvalRun;
const as = { authorization: `Bearer ${VIEWER}` };
const get = async (url: string) => {
  const r = await server.inject({ url, headers: as });
  return { status: r.statusCode, body: r.json() };
};

beforeAll(async () => {
  fx = await servingFixture({ customers: 5 });
  await ingestIntoWorkspace(fx.app, [join(BUILTIN_KB_DIR, "faq")]);
  await ingestBuiltinKnowledgeBase(fx.app);
  // The retrieval suite as `telco eval run --suite retrieval` runs it, stored where that command stores it.
  run = await runEvals({ app: fx.app, engine: "local", suites: ["retrieval"] });
  saveRun(runsDir(fx.app.paths.assistant), run, 5);
  // portalDeps registers the knowledge routes through consoleRoutes (as `npm start` does).
  const deps = portalDeps(fx.app, { TELCO_PORTAL_KEYS: `viewer:${VIEWER}` });
  close = deps.close;
  server = await buildServer(fx.app, {
    apiKeys: ["server-key-0123456789abcdef"],
    plugins: [
      portalRoutes({
        ...deps,
        systems: async () => {
          throw new Error("no operator systems in this test");
        },
      }),
    ],
    accessLog: { log: { info() {} }, flush() {}, close() {} } as never,
  });
}, 240_000);

afterAll(async () => {
  await server?.close();
  await close?.();
  await fx?.cleanup();
});

describe("knowledge base console endpoints", () => {
  it("lists the index versions with the live one being the pointer the RAG layer reads", async () => {
    const { status, body } = await get("/v1/portal/knowledge/versions");
    expect(status).toBe(200);
    const pointer = await currentVersion(indexDir(fx.app.paths.rag, "default"));
    expect(body.current_version).toBe(pointer);
    expect(body.versions).toHaveLength(2);
    const [live, older] = body.versions;
    expect(live).toMatchObject({ version: pointer, current: true, parent_version: older.version });
    expect(older.current).toBe(false);
    expect(live.created_at >= older.created_at).toBe(true);
    // The search the assistant runs answers from the same version.
    expect((await searchKnowledgeBase(fx.app, "segunda via da fatura")).index_version).toBe(pointer);
    expect(live.embedder).toMatch(/^local\//);
    expect(live.chunk_count).toBeGreaterThan(older.chunk_count);
    // The FAQ-only version grew by every non-FAQ document.
    const faq = (await listKnowledgeBaseDocuments()).filter((d) => d.meta.type === "faq").length;
    expect(older.documents).toBe(faq);
    expect(live.changes.against).toBe(older.version);
    expect(live.changes.added).toHaveLength(live.documents - faq);
    expect(live.changes.removed).toEqual([]);
  });

  it("lists the documents of data/knowledge-base with their sections and page links", async () => {
    const { status, body } = await get("/v1/portal/knowledge/documents");
    expect(status).toBe(200);
    const kb = await listKnowledgeBaseDocuments();
    expect(body.documents.map((d: { doc_id: string }) => d.doc_id)).toEqual(
      kb.map((d) => d.meta.id).sort((a, b) => a.localeCompare(b)),
    );
    const byId = new Map(kb.map((d) => [d.meta.id, d.meta]));
    for (const d of body.documents) {
      expect(d).toMatchObject({ title: byId.get(d.doc_id)?.title, type: byId.get(d.doc_id)?.type });
      expect(d.url).toBe(`/kb/${d.doc_id}`);
      expect(d.chunks).toBeGreaterThan(0);
    }
    // Sections are the headings a document's page anchors: every one is an id on /kb/<doc>.
    const doc = body.documents.find((d: { sections: string[] }) => d.sections.length > 1);
    const page = (await server.inject({ url: doc.url })).body;
    for (const s of doc.sections)
      expect(page).toContain(`id="${s.replace(/&/g, "&#38;").replace(/"/g, "&#34;")}"`);
    // An older version's documents on request; an unknown version is a 404, a bad one a 400.
    const versions = (await get("/v1/portal/knowledge/versions")).body.versions;
    const older = await get(`/v1/portal/knowledge/documents?version=${versions[1].version}`);
    expect(older.body.documents.every((d: { type: string }) => d.type === "faq")).toBe(true);
    expect((await get("/v1/portal/knowledge/documents?version=v-nope")).status).toBe(404);
    expect((await get("/v1/portal/knowledge/documents?version=../x")).status).toBe(400);
  });

  it("searches with the score that ordered the results and the fused score apart", async () => {
    const q = "como pedir a segunda via da fatura";
    const { status, body } = await get(`/v1/portal/knowledge/query?q=${encodeURIComponent(q)}&k=5`);
    expect(status).toBe(200);
    expect(body.ordered_by).toBe("mmr");
    expect(body.settings).toMatchObject({
      k: 5,
      mode: "hybrid",
      mmr_lambda: fx.app.config.rag.retrieval.mmrLambda,
    });
    const direct = await searchKnowledgeBase(fx.app, q, { k: 5 });
    expect(body.results.map((r: { chunk_id: string }) => r.chunk_id)).toEqual(
      direct.results.map((r) => r.chunk_id),
    );
    expect(body.results.map((r: { score: number }) => r.score)).toEqual(direct.results.map((r) => r.score));
    expect(body.results.map((r: { fused_score: number }) => r.fused_score)).toEqual(
      direct.results.map((r) => r.fused_score),
    );
    const scores = body.results.map((r: { score: number }) => r.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    // MMR off and no rerank: the list is ordered by the retrieval score itself.
    const plain = (
      await get(`/v1/portal/knowledge/query?q=${encodeURIComponent(q)}&mmr=1&rerank=none&mode=bm25`)
    ).body;
    expect(plain.ordered_by).toBe("retrieval");
    for (const r of plain.results) expect(r.score).toBeCloseTo(r.fused_score, 5);
    // A type filter narrows the results.
    const policies = (await get(`/v1/portal/knowledge/query?q=${encodeURIComponent(q)}&type=policy`)).body;
    const kbTypes = new Map((await listKnowledgeBaseDocuments()).map((d) => [d.meta.id, d.meta.type]));
    expect(policies.results.length).toBeGreaterThan(0);
    for (const r of policies.results) expect(kbTypes.get(r.doc_id)).toBe("policy");
    expect((await get("/v1/portal/knowledge/query?q=x&mode=magic")).status).toBe(400);
    expect((await get("/v1/portal/knowledge/query")).status).toBe(400);
  });

  it("gives recall@k and MRR per golden set from the stored eval runs", async () => {
    const { status, body } = await get("/v1/portal/knowledge/evals");
    expect(status).toBe(200);
    const stored = loadRuns(runsDir(fx.app.paths.assistant));
    expect(stored.map((r) => r.run_id)).toEqual([run.run_id]);
    expect(body.runs).toHaveLength(1);
    const [r] = body.runs;
    expect(r.run_id).toBe(run.run_id);
    const suite = run.suites.find((s) => s.suite === "retrieval");
    expect(suite?.status).toBe("ran");
    // Each set's hybrid recall@5 and MRR are the suite's gated metrics of that run.
    expect(r.sets.length).toBeGreaterThanOrEqual(2);
    for (const set of r.sets) {
      const metric = (name: string) => suite?.metrics.find((m) => m.name === `${set.name}.${name}`)?.value;
      expect(set.modes.hybrid.recall_at_5).toBeCloseTo(metric("hybrid_recall@5") ?? Number.NaN, 9);
      expect(set.modes.hybrid.mrr).toBeCloseTo(metric("hybrid_mrr") ?? Number.NaN, 9);
      expect(Object.keys(set.modes).sort()).toEqual(["bm25", "dense", "hybrid"]);
      expect(set.modes.hybrid.questions).toBeGreaterThan(10);
    }
  });

  it("needs a console key and audits each read", async () => {
    expect((await server.inject({ url: "/v1/portal/knowledge/versions" })).statusCode).toBe(401);
    const audit = readFileSync(portalAuditFile(fx.app), "utf8");
    expect(audit).toContain('"role":"viewer","method":"GET","url":"/v1/portal/knowledge/evals","status":200');
    const doc = (await server.inject({ url: "/openapi.json" })).json();
    for (const p of ["versions", "documents", "query", "evals"])
      expect(doc.paths[`/v1/portal/knowledge/${p}`]?.get?.security).toEqual([{ bearerAuth: [] }]);
  });
});

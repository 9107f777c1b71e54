import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { configSchema } from "../../platform/config/schema.ts";
import { type AppContext, contextFromConfig } from "../../platform/context.ts";
import {
  ingestDocuments,
  ingestIntoWorkspace,
  openWorkspaceIndex,
  refreshWorkspaceIndex,
  searchKnowledgeBase,
} from "./api.ts";
import { createEmbeddingProvider } from "./embeddings/factory.ts";
import { INDEX_RECHECK_MS, IndexCache } from "./index-cache.ts";
import { indexDir, versionDir } from "./store.ts";
import { tempDir } from "./test-helpers.ts";

/** Flips CURRENT the way writeIndex does (temp file + rename). */
function flip(dir: string, version: string): void {
  writeFileSync(join(dir, "CURRENT.tmp"), `${version}\n`);
  renameSync(join(dir, "CURRENT.tmp"), join(dir, "CURRENT"));
}

describe("IndexCache", () => {
  it("opens once per pointer: no re-check inside the interval, one stat after, a new open only on a flip", async () => {
    const dir = tempDir();
    flip(dir, "v1");
    let clock = 0;
    const opens: (string | undefined)[] = [];
    const cache = new IndexCache<string>({ recheckMs: 1000, now: () => clock });
    const open = async (v: string | undefined) => {
      opens.push(v);
      return `index ${v}`;
    };
    // 50 sessions asking at once share one open.
    const first = await Promise.all(Array.from({ length: 50 }, () => cache.get(dir, open)));
    expect(new Set(first)).toEqual(new Set(["index v1"]));
    expect(opens).toEqual(["v1"]);

    flip(dir, "v2");
    clock = 999; // inside the interval: the pointer is not looked at
    expect(await cache.get(dir, open)).toBe("index v1");
    clock = 1000; // past it: the flip is seen
    expect(await cache.get(dir, open)).toBe("index v2");
    expect(opens).toEqual(["v1", "v2"]);

    // CURRENT rewritten with the same version: re-read, the opened index is kept.
    flip(dir, "v2");
    clock = 2500;
    expect(await cache.get(dir, open)).toBe("index v2");
    expect(opens).toEqual(["v1", "v2"]);

    // An explicit refresh sees a flip at once.
    flip(dir, "v3");
    clock = 2600;
    cache.invalidate(dir);
    expect(await cache.get(dir, open)).toBe("index v3");
    expect(opens).toEqual(["v1", "v2", "v3"]);
  });

  it("does not cache a failed open", async () => {
    const dir = tempDir();
    flip(dir, "v1");
    const cache = new IndexCache<string>({ recheckMs: 60_000 });
    await expect(
      cache.get(dir, async () => {
        throw new Error("unreadable");
      }),
    ).rejects.toThrow("unreadable");
    expect(await cache.get(dir, async (v) => `index ${v}`)).toBe("index v1");
  });
});

describe("openWorkspaceIndex after a re-ingest", () => {
  let app: AppContext | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it("serves the new version once the pointer flips, and never reads the old version's files again", async () => {
    const home = tempDir("telco-rag-cache-");
    app = contextFromConfig(configSchema.parse({}), home);
    const docs = join(home, "docs");
    mkdirSync(docs);
    const doc = join(docs, "recarga.txt");
    writeFileSync(doc, "Recarga pelo aplicativo\n\nA recarga pelo aplicativo custa zero reais de taxa.\n");
    const first = await ingestIntoWorkspace(app, [doc]);
    const before = await searchKnowledgeBase(app, "recarga pelo aplicativo taxa");
    expect(before.index_version).toBe(first.index_version);
    expect(before.results[0]?.text).toContain("zero reais");

    // Another process re-ingests a changed document (ingestDocuments: no refresh in this process).
    writeFileSync(doc, "Recarga pelo aplicativo\n\nA recarga pelo aplicativo tem bônus de dois gigas.\n");
    const second = await ingestDocuments({
      ragRoot: app.paths.rag,
      paths: [doc],
      embedder: createEmbeddingProvider(app),
      chunker: app.config.rag.chunking,
    });
    expect(second.index_version).not.toBe(first.index_version);
    // The old version's files are gone: a search that touched them would fail.
    rmSync(versionDir(indexDir(app.paths.rag, "default"), first.index_version), {
      recursive: true,
      force: true,
    });

    await sleep(INDEX_RECHECK_MS + 50);
    const after = await searchKnowledgeBase(app, "recarga pelo aplicativo bônus");
    expect(after.index_version).toBe(second.index_version);
    expect(after.results[0]?.text).toContain("dois gigas");
    expect(after.results.some((r) => r.text.includes("zero reais"))).toBe(false);

    // A third flip, seen at once through an explicit refresh.
    writeFileSync(doc, "Recarga pelo aplicativo\n\nA recarga pelo aplicativo aceita Pix.\n");
    const third = await ingestDocuments({
      ragRoot: app.paths.rag,
      paths: [doc],
      embedder: createEmbeddingProvider(app),
      chunker: app.config.rag.chunking,
    });
    refreshWorkspaceIndex(app);
    expect((await openWorkspaceIndex(app)).version).toBe(third.index_version);
    expect((await searchKnowledgeBase(app, "recarga aplicativo pix")).results[0]?.text).toContain("Pix");
  });

  it("an ingest in this process is searched right away", async () => {
    const home = tempDir("telco-rag-cache-");
    app = contextFromConfig(configSchema.parse({}), home);
    const doc = join(home, "a.txt");
    writeFileSync(doc, "Roaming\n\nO roaming internacional precisa ser ativado no app.\n");
    await ingestIntoWorkspace(app, [doc]);
    expect((await searchKnowledgeBase(app, "roaming internacional")).results[0]?.text).toContain("roaming");
    writeFileSync(doc, "Roaming\n\nO roaming internacional já vem ativo em todos os planos.\n");
    const next = await ingestIntoWorkspace(app, [doc]);
    const r = await searchKnowledgeBase(app, "roaming internacional ativo");
    expect(r.index_version).toBe(next.index_version);
    expect(r.results[0]?.text).toContain("já vem ativo");
  });
});

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { describe, expect, it } from "vitest";
import { ingestIntoWorkspace, openWorkspaceIndex } from "../../llmops/rag/api.ts";
import { currentVersion, indexDir } from "../../llmops/rag/store.ts";
import { demoPipeline } from "../../mlops/pipelines/demo.ts";
import { runPipeline } from "../../mlops/pipelines/runner.ts";
import { LocalModelRegistry } from "../../platform/adapters/local/file-model-registry.ts";
import { SqlitePipelineMetadata as PipelineMetadata } from "../../platform/adapters/local/sqlite-pipeline-metadata.ts";
import { configSchema } from "../../platform/config/schema.ts";
import { contextFromConfig } from "../../platform/context.ts";

// Issue 19, "prove it": a process killed with SIGKILL (platform/testing/crash-points.ts) at each commit
// point of the pipeline runner, the model registry and the RAG index, then the invariants a reader
// relies on are checked, and the next run must clean up and finish. (Ingestion's publish is proven the
// same way in mlops/ingestion/crash.test.ts; the prediction log's in mlops/serving/journal.test.ts.)

const CHILDREN = join(import.meta.dirname, "children");
const KB = join(import.meta.dirname, "..", "..", "llmops", "rag", "fixtures", "kb");

/** Runs a child script with TELCO_CRASH_AT set; returns how it ended. */
function killedAt(point: string, script: string, args: string[]) {
  const run = spawnSync(process.execPath, [join(CHILDREN, script), ...args], {
    env: { ...process.env, TELCO_CRASH_AT: point },
    encoding: "utf8",
    timeout: 60_000,
  });
  expect(run.signal, `${point}: ${run.stderr}`).toBe("SIGKILL");
  return run;
}

describe("pipeline killed between a step's output write and its metadata commit", () => {
  /** Recorded artifacts exist with their recorded size and hash; cached ones too. */
  function recordedOutputsIntact(root: string): void {
    const db = new DatabaseSync(join(root, "metadata.sqlite"), { readOnly: true });
    try {
      const artifacts = db.prepare("SELECT id, uri, bytes, hash FROM artifacts").all() as {
        id: string;
        uri: string;
        bytes: number;
        hash: string;
      }[];
      for (const a of artifacts) {
        expect(existsSync(a.uri), a.id).toBe(true);
        if (statSync(a.uri).isFile()) expect(statSync(a.uri).size, a.id).toBe(a.bytes);
      }
      const ids = new Set(artifacts.map((a) => a.id));
      for (const c of db.prepare("SELECT artifacts FROM cache").all() as { artifacts: string }[])
        for (const id of Object.values(JSON.parse(c.artifacts) as Record<string, string>))
          expect(ids.has(id), id).toBe(true);
    } finally {
      db.close();
    }
  }

  /** Output files on disk that no artifact record names. */
  async function unrecordedOutputs(root: string): Promise<string[]> {
    const meta = new PipelineMetadata(root);
    try {
      const out: string[] = [];
      const dir = join(root, "artifacts");
      if (!existsSync(dir)) return out;
      for (const run of readdirSync(dir))
        for (const task of readdirSync(join(dir, run)))
          for (const name of readdirSync(join(dir, run, task)))
            if (!(await meta.artifact(`${run}/${task}/${name}`))) out.push(`${run}/${task}/${name}`);
      return out;
    } finally {
      await meta.close();
    }
  }

  it("leaves only recorded outputs readable; the resumed run removes the orphans and matches a clean run", async () => {
    const root = mkdtempSync(join(tmpdir(), "telco-chaos-pipe-"));
    killedAt("pipeline:before-step-commit:train", "pipeline-child.ts", [root]);
    const meta = new PipelineMetadata(root);
    const [dead] = await meta.listRuns();
    await meta.close();
    expect(dead.status).toBe("failed"); // its process is gone
    expect(dead.error).toContain("ended without finishing");
    expect(await unrecordedOutputs(root)).toEqual([`${dead.id}/train/model`]); // the crash really hit
    recordedOutputsIntact(root);

    const resumed = await runPipeline(root, demoPipeline(), { params: { rows: 500 }, resume: dead.id });
    expect(resumed.status).toBe("succeeded");
    expect(await unrecordedOutputs(root)).toEqual([]);
    recordedOutputsIntact(root);
    const clean = await runPipeline(mkdtempSync(join(tmpdir(), "telco-chaos-pipe-")), demoPipeline(), {
      params: { rows: 500 },
    });
    const outputs = (r: typeof clean) => Object.fromEntries(r.steps.map((s) => [s.name, s.outputs]));
    expect(outputs(resumed)).toEqual(outputs(clean));
  });
});

describe("registry killed between the audit record and the alias move, and before a version's publish", () => {
  const card = { metrics: { auc: { value: 0.7 } } };

  /** Aliases equal the audit log's last move of each alias; no temp file, no lock left. */
  async function aliasesAgreeWithAudit(root: string): Promise<Record<string, number>> {
    const registry = new LocalModelRegistry(root, { lockTimeoutMs: 5000 });
    const aliases = await registry.aliases("churn");
    const last = new Map<string, number | null>();
    for (const e of await registry.audit("churn")) last.set(e.alias, e.to);
    expect(aliases).toEqual(Object.fromEntries([...last].filter(([, v]) => v !== null)));
    const dir = join(root, "models", "churn");
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp") || f === ".lock")).toEqual([]);
    return aliases;
  }

  /** Every published version has its metadata and an artifact with the recorded hash. */
  function versionsIntact(root: string): number[] {
    const dir = join(root, "models", "churn", "versions");
    const versions = readdirSync(dir).map(Number).sort();
    for (const v of versions) {
      const meta = JSON.parse(readFileSync(join(dir, String(v), "model.json"), "utf8"));
      const bytes = readFileSync(join(dir, String(v), meta.artifact.file));
      expect(createHash("sha256").update(bytes).digest("hex")).toBe(meta.artifact.sha256);
      expect(meta.version).toBe(v);
    }
    return versions;
  }

  it("rolls the logged promotion forward, frees the dead holder's lock, and never publishes a half version", async () => {
    const root = mkdtempSync(join(tmpdir(), "telco-chaos-reg-"));
    const registry = new LocalModelRegistry(root, { lockTimeoutMs: 5000 });
    for (const b of ["a", "b"])
      await registry.register({ name: "churn", format: "onnx", artifact: Buffer.from(b), card });
    await registry.setAlias("churn", "champion", 1, { action: "auto-first", reason: "first" });

    killedAt("registry:after-audit", "registry-child.ts", [root, "promote", "2"]);
    const dir = join(root, "models", "churn");
    expect(existsSync(join(dir, ".lock"))).toBe(true); // held by the dead process
    expect(JSON.parse(readFileSync(join(dir, "aliases.json"), "utf8"))).toEqual({ champion: 1 }); // not moved
    const started = Date.now();
    expect(await aliasesAgreeWithAudit(root)).toEqual({ champion: 2 }); // the logged move, rolled forward
    expect(Date.now() - started).toBeLessThan(4000); // the dead holder's lock is broken, not waited out

    killedAt("registry:before-version-publish", "registry-child.ts", [root, "register"]);
    expect(versionsIntact(root)).toEqual([1, 2]);
    expect(readdirSync(join(root, ".staging"))).toHaveLength(1); // the dead writer's staging folder
    const v3 = await registry.register({ name: "churn", format: "onnx", artifact: Buffer.from("c"), card });
    expect(v3.version).toBe(3);
    expect(readdirSync(join(root, ".staging"))).toEqual([]);
    expect(versionsIntact(root)).toEqual([1, 2, 3]);
    await registry.setAlias("churn", "champion", 3, { action: "promote", reason: "after the crashes" });
    expect(await aliasesAgreeWithAudit(root)).toEqual({ champion: 3 });
  });
});

describe("RAG ingest killed while publishing an index version", () => {
  /** CURRENT names a complete version: its manifest, chunks and vectors agree. */
  async function pointerValid(home: string): Promise<string> {
    const dir = indexDir(join(home, "rag"), "default");
    const version = (await currentVersion(dir)) as string;
    const vdir = join(dir, "versions", version);
    const manifest = JSON.parse(readFileSync(join(vdir, "manifest.json"), "utf8"));
    expect(manifest.version).toBe(version);
    const chunks = readFileSync(join(vdir, "chunks.jsonl"), "utf8").trim().split("\n");
    expect(chunks).toHaveLength(manifest.chunk_count);
    expect(statSync(join(vdir, "vectors.f32")).size).toBe(
      manifest.chunk_count * manifest.embedding.dimension * 4,
    );
    return version;
  }

  const tempFolders = (home: string) =>
    readdirSync(join(home, "rag", "default", "versions")).filter((n) => n.startsWith(".tmp-"));

  it("keeps readers on the previous version, and the next ingest cleans up and publishes", async () => {
    const home = mkdtempSync(join(tmpdir(), "telco-chaos-rag-"));
    const app = contextFromConfig(configSchema.parse({}), home);
    try {
      const first = await ingestIntoWorkspace(app, [join(KB, "atendimento.txt")]);
      expect(await pointerValid(home)).toBe(first.index_version);
      const more = [join(KB, "atendimento.txt"), join(KB, "faq")];

      killedAt("rag:before-version-rename", "rag-child.ts", [home, ...more]);
      expect(await pointerValid(home)).toBe(first.index_version);
      expect(tempFolders(home)).toHaveLength(1); // the dead writer's unpublished folder

      killedAt("rag:before-current-switch", "rag-child.ts", [home, ...more]);
      expect(await pointerValid(home)).toBe(first.index_version); // complete new folder, pointer not moved

      const next = await ingestIntoWorkspace(app, more);
      expect(next.previous_version).toBe(first.index_version);
      expect(await pointerValid(home)).toBe(next.index_version);
      expect(tempFolders(home)).toEqual([]);
      // Readers now get the new documents.
      const index = await openWorkspaceIndex(app);
      expect(index.version).toBe(next.index_version);
      const hit = await index.search("como cancelar o pedido de portabilidade");
      expect(hit.results[0]?.doc_id).toBe("faq-portabilidade");
    } finally {
      await app.close();
    }
  });
});

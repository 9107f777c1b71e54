import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "./test-helpers.ts";

const repo = join(import.meta.dirname, "..", "..");
const fixtures = join(import.meta.dirname, "fixtures");
const home = join(tempDir("telco-rag-cli-"), ".telco");

function telco(...args: string[]) {
  const r = spawnSync(process.execPath, [join(repo, "bin/telco.ts"), ...args], {
    cwd: repo,
    env: { ...process.env, TELCO_HOME: home },
    encoding: "utf8",
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, json: () => JSON.parse(r.stdout) };
}

// Each spawn pays the whole CLI's start-up (~2 s of CPU, far more on a busy 2-core machine).
describe("telco rag CLI", () => {
  it("ingests, queries with the documented JSON shape, evaluates and lists versions", () => {
    const ingest = telco("rag", "ingest", join(fixtures, "kb"), "--json");
    expect(ingest.status, ingest.stderr).toBe(0);
    const report = ingest.json();
    expect(report).toMatchObject({ index: "default", documents: { total: 5, added: 5 }, skipped: [] });

    const query = telco(
      "rag",
      "query",
      "quanto custa o roaming",
      "--k",
      "2",
      "--filter",
      "type=policy",
      "--json",
    );
    expect(query.status, query.stderr).toBe(0);
    const body = query.json();
    expect(Object.keys(body).sort()).toEqual(["index_version", "results"]);
    expect(body.index_version).toBe(report.index_version);
    expect(body.results.length).toBeGreaterThan(0);
    for (const r of body.results) {
      expect(Object.keys(r).sort()).toEqual([
        "chunk_id",
        "doc_id",
        "fused_score",
        "score",
        "section",
        "source",
        "text",
        "title",
      ]);
      expect(r.doc_id).toBe("policy-roaming-en");
      expect(r.source).toBe(join(fixtures, "kb", "roaming-en.md"));
    }

    const human = telco("rag", "query", "segunda via da fatura", "--k", "1");
    expect(human.stdout).toContain("1. Fatura e pagamentos › Segunda via da fatura");
    expect(human.stdout).toContain(`${join(fixtures, "kb", "faq", "fatura.md")} § Segunda via da fatura`);

    // Printed in the order returned, each with the score that ordered it (MMR here) and the fused score.
    const args = ["rag", "query", "portabilidade fatura roteador atraso", "--k", "4"];
    const ranked = telco(...args, "--json").json().results;
    const printed = telco(...args).stdout;
    const lines = printed.split("\n").filter((l) => /^\d+\. /.test(l));
    expect(lines).toHaveLength(4);
    lines.forEach((line, i) => {
      const m = /^(\d+)\. .* score (\d\.\d{4}) · fused (\d\.\d{4})$/.exec(line);
      expect(m, line).not.toBeNull();
      expect(Number(m?.[1])).toBe(i + 1);
      expect(Number(m?.[2])).toBeCloseTo(ranked[i].score, 4);
      expect(Number(m?.[3])).toBeCloseTo(ranked[i].fused_score, 4);
      if (i > 0) expect(ranked[i].score).toBeLessThanOrEqual(ranked[i - 1].score);
    });
    expect(telco(...args, "--intent", "internet_problem", "--rerank", "features", "--json").status).toBe(0);

    const ok = telco("rag", "eval", "--golden", join(fixtures, "golden-mini.jsonl"), "--json");
    expect(ok.status, ok.stdout).toBe(0);
    expect(ok.json().sets.map((x: { name: string }) => x.name)).toEqual(["golden"]);
    const metrics = ok.json().sets[0].metrics;
    expect(Object.keys(metrics).sort()).toEqual(["bm25", "dense", "hybrid"]);
    expect(Object.keys(metrics.hybrid).sort()).toEqual([
      "doc_recall_at_5",
      "mrr",
      "ndcg_at_10",
      "questions",
      "recall_at_1",
      "recall_at_5",
    ]);
    expect(metrics.hybrid.recall_at_5).toBe(1);
    const slices = ok.json().sets[0].slices.hybrid;
    expect(slices["lang:en"].questions + slices["lang:pt-BR"].questions).toBe(metrics.hybrid.questions);
    expect(slices["half:odd"].questions + slices["half:even"].questions).toBe(metrics.hybrid.questions);

    const failing = telco("rag", "eval", "--golden", join(fixtures, "golden-impossible.jsonl"), "--json");
    expect(failing.status).toBe(1);
    expect(failing.json().failures.join(" ")).toMatch(/^golden: hybrid recall@5 0 < rag.eval.minRecallAt5/);

    const versions = telco("rag", "versions", "--json");
    expect(versions.json().versions[0].version).toBe(report.index_version);
  }, 300_000);

  it("reports usage and missing-index errors with exit codes", () => {
    expect(telco("rag", "query", "x", "--mode", "fuzzy").status).toBe(2);
    const badRerank = telco("rag", "query", "x", "--rerank", "magic", "--json");
    expect(badRerank.status).toBe(2);
    const missing = telco("rag", "query", "x", "--index", "nao-existe", "--json");
    expect(missing.status).toBe(1);
    expect(missing.json().error.code).toBe("not_found");
    const badFilter = telco("rag", "query", "x", "--filter", "cor=azul", "--json");
    expect(badFilter.status).toBe(1);
    expect(badFilter.json().error.message).toMatch(/unknown field "cor"/);
  }, 120_000);
});

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SandboxFixture, sandboxFixture } from "../../testing/sandbox-fixture.ts";
import { BENIGN_GOAL, loadBenignCases, runBenign } from "./run.ts";

// False positives matter as much as misses: ordinary messages, close to the red team on purpose, must
// pass the guardrails untouched on the local engine.

let sb: SandboxFixture;
beforeAll(async () => {
  sb = await sandboxFixture();
});
afterAll(() => sb.cleanup());

describe("benign set", () => {
  it("holds at least 100 messages, including the ones that look like attacks", () => {
    const cases = loadBenignCases();
    expect(cases.length).toBeGreaterThanOrEqual(100);
    const texts = cases.map((c) => c.text.toLowerCase());
    for (const word of [
      "cancel",
      "cpf",
      "cartão",
      "multa",
      "hack",
      "merda",
      "código",
      "instruções",
      "supervisor",
    ])
      expect(
        texts.some((t) => t.includes(word)),
        word,
      ).toBe(true);
    expect(cases.filter((c) => c.lang === "en").length).toBeGreaterThanOrEqual(15);
  });

  it(`passes at least ${BENIGN_GOAL * 100}% untouched on the local engine`, async () => {
    const r = await runBenign({ fixture: sb });
    const touched = r.results.filter((x) => !x.untouched).map((x) => ({ id: x.id, problems: x.problems }));
    expect(r.untouched_rate, JSON.stringify(touched)).toBeGreaterThanOrEqual(BENIGN_GOAL);
    expect(r.meets_goal).toBe(true);
    expect(r.total).toBeGreaterThanOrEqual(100);
  }, 300_000);

  it("rejects a malformed file naming the message and the field", () => {
    const dir = mkdtempSync(join(tmpdir(), "telco-benign-"));
    try {
      const file = join(dir, "m.yaml");
      writeFileSync(
        file,
        '- { id: ok-1, lang: pt-BR, text: "oi" }\n- { id: bad-2, lang: es, text: "hola" }\n',
      );
      expect(() => loadBenignCases(file)).toThrow(/message bad-2: lang/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

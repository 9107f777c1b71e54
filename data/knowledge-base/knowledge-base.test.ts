import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { PDFDocument, StandardFonts } from "pdf-lib";
import { extractText, getMeta } from "unpdf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import catalog from "../sample/operator-catalog.json" with { type: "json" };
import {
  buildKnowledgeBasePdfs,
  DOC_PRODUCTS,
  DOC_TYPES,
  parseFrontMatter,
  renderPdf,
  sanitizeForWinAnsi,
  validateMetadata,
} from "./build-pdfs.ts";
import { type KnowledgeBaseDocument, listKnowledgeBaseDocuments, parseHtmlDocument } from "./documents.ts";

/** Formats a number the way the documents write prices: "R$ 1.200,00". */
function brl(value: number): string {
  const [int, dec] = value.toFixed(2).split(".");
  return `R$ ${int.replace(/\B(?=(\d{3})+(?!\d))/g, ".")},${dec}`;
}

/** Cells of every Markdown table row (header and separator rows included), trimmed; padding-insensitive. */
function tableRows(markdown: string): string[][] {
  return markdown
    .split("\n")
    .filter((l) => l.trim().startsWith("|"))
    .map((l) =>
      l
        .trim()
        .replace(/^\||\|$/g, "")
        .split("|")
        .map((c) => c.trim()),
    );
}

const wordCount = (text: string) => text.split(/\s+/).filter((w) => /\p{L}/u.test(w)).length;

let docs: KnowledgeBaseDocument[] = [];
beforeAll(async () => {
  docs = await listKnowledgeBaseDocuments();
});

describe("knowledge-base metadata", () => {
  it("has enough documents in every format", () => {
    expect(docs.length).toBeGreaterThanOrEqual(40);
    expect(docs.filter((d) => d.format === "html").length).toBeGreaterThanOrEqual(6);
    expect(docs.filter((d) => d.format === "pdf").length).toBeGreaterThanOrEqual(2);
    for (const type of DOC_TYPES)
      expect(
        docs.some((d) => d.meta.type === type),
        type,
      ).toBe(true);
  });

  it("has unique ids, valid enums, pt-BR language and the catalog's effective date", () => {
    const ids = docs.map((d) => d.meta.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const d of docs) {
      expect(DOC_TYPES, d.path).toContain(d.meta.type);
      expect(DOC_PRODUCTS, d.path).toContain(d.meta.product);
      expect(d.meta.language, d.path).toBe("pt-BR");
      expect(d.meta.effective_date, d.path).toBe(catalog.effective_date);
      expect(d.meta.title.length, d.path).toBeGreaterThan(10);
    }
  });

  it("stores each document under its type folder and names the file after its id", () => {
    for (const d of docs) {
      expect(basename(d.path).replace(/\.(md|html)$/, ""), d.path).toBe(d.meta.id);
      const folder = basename(dirname(d.path));
      expect(folder, d.path).toBe(d.format === "pdf" ? "pdf-src" : d.meta.type);
      expect(d.meta.id.startsWith(`${d.meta.type}-`), d.path).toBe(true);
    }
  });

  it("gives every document a realistic length with sections", () => {
    for (const d of docs) {
      const words = wordCount(d.text);
      expect(words, d.path).toBeGreaterThanOrEqual(300);
      expect(words, d.path).toBeLessThanOrEqual(1200);
      if (d.format !== "html")
        expect((d.text.match(/^## /gm) ?? []).length, d.path).toBeGreaterThanOrEqual(3);
    }
  });

  it("rejects bad metadata naming the file and the field", () => {
    expect(() => parseFrontMatter("no front matter", "x.md")).toThrow(/x\.md: missing YAML front matter/);
    const base = {
      id: "faq-x",
      title: "T",
      type: "faq",
      product: "all",
      effective_date: "2026-01-01",
      language: "pt-BR",
    };
    expect(() => validateMetadata({ ...base, type: "blog" }, "a.md")).toThrow(/a\.md: field "type"/);
    expect(() => validateMetadata({ ...base, product: "satellite" }, "a.md")).toThrow(/field "product"/);
    expect(() => validateMetadata({ ...base, title: "" }, "a.md")).toThrow(/missing metadata field "title"/);
    expect(() => validateMetadata({ ...base, effective_date: "01/01/2026" }, "a.md")).toThrow(
      /effective_date/,
    );
    expect(() =>
      parseHtmlDocument("<html><head><title>T</title></head><body><h1>T</h1></body></html>", "b.html"),
    ).toThrow(/b\.html: missing metadata field "id"/);
  });
});

describe("PDF build", () => {
  let outDir = "";
  let pdfs: string[] = [];
  beforeAll(async () => {
    outDir = await mkdtemp(join(tmpdir(), "kb-pdf-"));
    pdfs = await buildKnowledgeBasePdfs(outDir);
  }, 30_000);
  afterAll(async () => {
    if (outDir) await rm(outDir, { recursive: true, force: true });
  });

  it("writes one PDF per source whose text and metadata survive extraction", async () => {
    const sources = docs.filter((d) => d.format === "pdf");
    expect(pdfs.map((p) => basename(p)).sort()).toEqual(sources.map((d) => `${d.meta.id}.pdf`).sort());
    for (const source of sources) {
      const bytes = new Uint8Array(await readFile(join(outDir, `${source.meta.id}.pdf`)));
      const { info } = await getMeta(bytes.slice());
      expect(info.Title).toBe(source.meta.title);
      expect(info.Subject).toBe(source.meta.type);
      const keywords = String(info.Keywords).split(/,\s*/);
      expect(keywords).toEqual([
        `doc-id:${source.meta.id}`,
        `product:${source.meta.product}`,
        `effective-date:${source.meta.effective_date}`,
        "language:pt-BR",
        `type:${source.meta.type}`,
      ]);
      const { text } = await extractText(bytes.slice(), { mergePages: true });
      const flat = text.replace(/\s+/g, " ");
      // Every section heading must be extractable, accents included.
      for (const heading of source.text.match(/^## (.+)$/gm) ?? []) {
        expect(flat, `${source.meta.id}: ${heading}`).toContain(heading.slice(3).trim());
      }
      expect(wordCount(flat)).toBeGreaterThan(0.9 * wordCount(source.text.replace(/[|#*`-]/g, " ")));
    }
  });

  it("flows long documents onto several pages", async () => {
    const longest = docs.filter((d) => d.format === "pdf").sort((a, b) => b.text.length - a.text.length)[0];
    const bytes = new Uint8Array(await readFile(join(outDir, `${longest.meta.id}.pdf`)));
    const { totalPages } = await extractText(bytes, { mergePages: true });
    expect(totalPages).toBeGreaterThanOrEqual(2);
  });

  it("sanitises characters Helvetica cannot encode and keeps Portuguese accents", async () => {
    const probe = await PDFDocument.create();
    const font = await probe.embedFont(StandardFonts.Helvetica);
    const encodable = new Set(font.getCharacterSet());
    expect(sanitizeForWinAnsi("“Ação” – já… ≥ 80% 📶 ç", encodable)).toBe('"Ação" - já... >= 80%  ç');
    const bytes = await renderPdf({
      meta: {
        id: "faq-probe",
        title: "Título “teste” 🚀",
        type: "faq",
        product: "all",
        effective_date: "2026-01-01",
        language: "pt-BR",
      },
      body: "# Título\n\n## Seção\n\nConexão instável — reinicie 🙂 a ONT.\n",
    });
    const { text } = await extractText(bytes, { mergePages: true });
    expect(text).toContain("Conexão instável - reinicie");
  });
});

describe("catalog consistency with operator-catalog.json", () => {
  const docById = (id: string) => {
    const d = docs.find((x) => x.meta.id === id);
    if (!d) throw new Error(`document ${id} not found`);
    return d;
  };

  it("lists every plan with its exact price, name and fidelity benefit", () => {
    const rows = tableRows(docById("catalog-planos-ofertas").text);
    for (const plan of catalog.plans) {
      const row = rows.find((cells) => cells[0] === plan.plan_id);
      expect(row, plan.plan_id).toBeDefined();
      expect(row?.[1]).toBe(plan.name);
      expect(row?.[3]).toBe(brl(plan.monthly_price_brl));
      if (plan.fidelity_months > 0) {
        expect(row?.[6]).toBe(`${plan.fidelity_months} meses`);
        expect(row?.[7]).toBe(brl(plan.fidelity_benefit_brl));
      }
    }
    // No catalog row may carry a plan code the operator does not sell.
    const codes = rows.filter((c) => /^[A-Z0-9]+$/.test(c[0] ?? "")).map((c) => c[0]);
    expect(codes.sort()).toEqual(catalog.plans.map((p) => p.plan_id).sort());
  });

  it("prices combos consistently with the individual plans", () => {
    const text = docById("catalog-combos").text;
    const price = (id: string) => catalog.plans.find((p) => p.plan_id === id)!.monthly_price_brl;
    for (const [combo, parts] of [
      ["COMBO500", ["FIB500", "POS50"]],
      ["COMBO1000TV", ["FIB1000", "POS100", "TVESS"]],
    ] as const) {
      const separate = parts.reduce((s, p) => s + price(p), 0);
      const row = new RegExp(`${combo}\\s+[^R]*(R\\$ [\\d.,]+)\\s+(R\\$ [\\d.,]+)\\s+(R\\$ [\\d.,]+)`).exec(
        text,
      );
      expect(row, combo).not.toBeNull();
      expect(row?.[1]).toBe(brl(price(combo)));
      expect(row?.[2]).toBe(brl(separate));
      expect(row?.[3]).toBe(brl(separate - price(combo)));
    }
  });

  it("quotes extra packages and roaming at the catalog prices", () => {
    const rows = tableRows(docById("catalog-servicos-adicionais").text);
    const priceOf = (label: string) => rows.find((cells) => cells[0] === label)?.[1];
    const rules = catalog.rules;
    expect(priceOf("Pacote extra 2GB")).toBe(brl(rules.extra_data_package_brl["2GB"]));
    expect(priceOf("Pacote extra 5GB")).toBe(brl(rules.extra_data_package_brl["5GB"]));
    expect(priceOf("Américas")).toBe(brl(rules.roaming_international_daily_brl.americas));
    expect(priceOf("Europa")).toBe(brl(rules.roaming_international_daily_brl.europe));
    expect(priceOf("Resto do mundo")).toBe(brl(rules.roaming_international_daily_brl.rest_of_world));
  });

  it("never names a price next to a plan name that differs from the catalog, in any document", () => {
    // "<plan name> (R$ x", "<plan name>: R$ x", "<plan name>, R$ x" or "<plan name> | R$ x" states that plan's monthly price.
    const mismatches: string[] = [];
    let checked = 0;
    for (const d of docs) {
      for (const plan of catalog.plans) {
        const escaped = plan.name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
        const re = new RegExp(
          `${escaped}(?:\\*\\*)?(?:\\s*\\(|:\\s*|,\\s*|\\s*\\|\\s*)(R\\$ [\\d.,]+\\d)`,
          "g",
        );
        for (const m of d.text.matchAll(re)) {
          checked++;
          if (m[1] !== brl(plan.monthly_price_brl)) mismatches.push(`${d.meta.id}: ${m[0]}`);
        }
      }
    }
    expect(mismatches).toEqual([]);
    expect(checked).toBeGreaterThanOrEqual(20);
  });

  it("states the commercial rules with the catalog numbers", () => {
    const all = docs.map((d) => d.text).join("\n");
    expect(docById("faq-atraso-suspensao").text).toMatch(/15 dias.*30 dias.*75 dias/s);
    expect(docById("faq-portabilidade").text).toContain(
      `${catalog.rules.portability_max_business_days} dias úteis`,
    );
    expect(docById("faq-cancelamento").text).toContain(`${catalog.rules.cancellation_effective_hours} horas`);
    expect(docById("faq-contestacao-cobranca").text).toContain(`${catalog.rules.dispute_response_days} dias`);
    expect(docById("faq-prazos-reparo").text).toContain(
      `${catalog.rules.repair_deadline_hours.interior} horas`,
    );
    for (const window of catalog.rules.technical_visit_windows) {
      expect(docById("faq-visita-tecnica").text).toContain(window.replace("-", " às "));
    }
    for (const offer of catalog.retention_offers) {
      expect(docById("policy-ofertas-retencao").text).toContain(offer.offer_id);
    }
    for (const competitor of catalog.competitors) expect(all).toContain(competitor);
    for (const region of catalog.regions)
      expect(docById("faq-prazos-reparo").text).toMatch(new RegExp(`\\b${region}\\b`));
  });
});

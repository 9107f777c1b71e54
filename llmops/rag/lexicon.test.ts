import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { analyzeWithSurface } from "./analyzer.ts";
import { boundedDamerau } from "./bm25.ts";
import { readColloquial, SurfaceLexicon } from "./lexicon.ts";

/** Textbook optimal-string-alignment distance (full table, no cut-off), the reference. */
function osa(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.length][b.length];
}

const shortWord = fc.string({ unit: fc.constantFrom(..."abcdeçã1"), minLength: 0, maxLength: 9 });

describe("boundedDamerau", () => {
  it("equals the reference distance up to the bound, and bound + 1 beyond it", () => {
    fc.assert(
      fc.property(shortWord, shortWord, fc.integer({ min: 0, max: 3 }), (a, b, max) => {
        const exact = osa(a, b);
        expect(boundedDamerau(a, b, max)).toBe(exact <= max ? exact : max + 1);
      }),
    );
    // Longer than the reused row buffers at first use.
    const long = "a".repeat(100);
    expect(boundedDamerau(long, `${long}b`, 1)).toBe(1);
  });
});

describe("SurfaceLexicon", () => {
  const text =
    "O aplicativo Aurora mostra a fatura. Baixe o aplicativo, pague as faturas e acompanhe a velocidade da internet.";
  const { terms, surface } = analyzeWithSurface(text, "pt");
  const lexicon = new SurfaceLexicon(surface, terms);

  it("maps the corpus's words to their index terms", () => {
    expect(surface).toContain("aplicativo");
    expect(lexicon.term("aplicativo")).toBe(terms[surface.indexOf("aplicativo")]);
    expect(lexicon.term("faturas")).toBe(lexicon.term("fatura"));
    expect(lexicon.term("o")).toBeUndefined(); // stop words are not indexed
    expect(lexicon.size).toBe(new Set(surface).size);
  });

  it("finds the term of a misspelt word whose stem no longer matches", () => {
    const [misspeltStem] = analyzeWithSurface("aplicatvo", "pt").terms;
    expect(misspeltStem).not.toBe(lexicon.term("aplicativo"));
    expect(lexicon.neighbourTerms("aplicatvo", 1)).toEqual([lexicon.term("aplicativo")]);
    expect(lexicon.neighbourTerms("veolcidade", 1)).toEqual([lexicon.term("velocidade")]); // swap
    expect(lexicon.neighbourTerms("internte", 1)).toEqual([lexicon.term("internet")]);
    expect(lexicon.neighbourTerms("roteador", 2)).toEqual([]);
  });

  it("returns exactly the terms a full scan within the distance would", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...new Set(surface)),
        fc.nat(),
        fc.integer({ min: 1, max: 2 }),
        (w, seed, max) => {
          // A random one- or two-letter corruption of a corpus word.
          const chars = [...w];
          for (let e = 0; e < max; e++) chars[(seed + e * 7) % chars.length] = "xyz"[(seed + e) % 3];
          const query = chars.join("");
          const expected = new Set(surface.filter((c) => osa(query, c) <= max).map((c) => lexicon.term(c)));
          expect(new Set(lexicon.neighbourTerms(query, max))).toEqual(expected);
        },
      ),
    );
  });

  it("rejects misaligned words and terms", () => {
    expect(() => new SurfaceLexicon(["a", "b"], ["a"])).toThrow(RangeError);
  });
});

describe("readColloquial", () => {
  it('reads "conta" as the bill unless the question is about an account', () => {
    expect(readColloquial("esqueci de pagar a conta", "pt")).toMatchObject({
      text: "esqueci de pagar a fatura",
      added: expect.stringContaining("conta"),
    });
    expect(readColloquial("como acesso minha conta no app", "pt").text).toBe(
      "como acesso minha conta no app",
    );
    expect(readColloquial("plano mais em conta", "pt").text).toBe("plano mais em conta");
  });

  it("drops greetings and filler but keeps a question made only of them", () => {
    expect(readColloquial("oi, bom dia! quero cancelar tudo por favor", "pt").text).toBe("quero cancelar");
    expect(readColloquial("oi bom dia", "pt").text).toBe("oi bom dia");
  });

  it("maps expressions to the documents' words, accents or not", () => {
    for (const q of ["minha net caiu", "MINHA NET CAIU", "fiquei sem internet"])
      expect(readColloquial(q, "pt").added, q).toContain("sem serviço");
    expect(readColloquial("a internet tá uma carroça", "pt").added).toContain("lentidão");
    expect(readColloquial("ta vindo cobrança dobrada", "pt").added).toContain("duplicidade");
    expect(readColloquial("internet do celular nao funciona", "pt").added).toContain("internet móvel");
    // The same "5g" is the Wi-Fi band next to "wifi" and the mobile network alone.
    expect(readColloquial("net nao funciona no 5g do wifi", "pt").added).toContain("5 GHz");
    expect(readColloquial("net nao funciona no 5g do wifi", "pt").added).not.toContain("internet móvel");
    expect(readColloquial("o 5g ta lento", "pt").added).toContain("internet móvel");
  });

  it("respects a negation: not wanting an agent is not asking for one", () => {
    expect(readColloquial("quero falar com atendente", "pt").added).toContain("atendente humano");
    expect(readColloquial("quero cancelar sem ter que falar com atendente", "pt").added).not.toContain(
      "atendente humano",
    );
  });

  it("points at products from the question's words", () => {
    expect(readColloquial("meu celular ta sem sinal", "pt").products).toEqual(["mobile"]);
    expect(readColloquial("wifi nao pega no quarto", "pt").products).toEqual(["fibra"]);
    expect(readColloquial("controle remoto nao funciona", "pt").products).toEqual(["tv"]);
    expect(readColloquial("tem combo de internet e celular?", "pt").products.sort()).toEqual(["mobile"]);
    expect(readColloquial("segunda via da fatura", "pt").products).toEqual([]);
    expect(readColloquial("my router light is red", "en").products).toEqual(["fibra"]);
  });
});

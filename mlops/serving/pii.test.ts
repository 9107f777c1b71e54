import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MASK, maskObject, maskPii, maskUrl } from "./pii.ts";

describe("PII masking", () => {
  it.each([
    ["/v1/x?cpf=123.456.789-09", `/v1/x?cpf=${MASK}`],
    ["cpf 12345678909 here", `cpf ${MASK} here`],
    ["tel +55 (11) 98765-4321.", `tel ${MASK}.`],
    ["ligar 11 987654321", `ligar ${MASK}`],
    ["fixo (21) 3456-7890", `fixo ${MASK}`],
    ["/lookup?nome=Maria%20Silva&uf=SP", `/lookup?nome=${MASK}&uf=SP`],
    ["/lookup?uf=SP&full_name=Jo%C3%A3o", `/lookup?uf=SP&full_name=${MASK}`],
  ])("masks %s", (input, expected) => {
    expect(maskPii(input)).toBe(expected);
  });

  it("leaves ordinary values alone", () => {
    for (const s of [
      "/v1/churn/predict",
      "C000123",
      "2026-11-25T12:00:00.000Z",
      "price 129.90",
      "status 200 in 3.2 ms",
    ])
      expect(maskPii(s)).toBe(s);
  });

  it("masks name keys and nested strings in objects", () => {
    const out = maskObject({
      name: "Maria Silva",
      nested: { nome: "João", note: "cpf 123.456.789-09" },
      list: ["(11) 91234-5678"],
      n: 3,
    });
    expect(out).toEqual({ name: MASK, nested: { nome: MASK, note: `cpf ${MASK}` }, list: [MASK], n: 3 });
  });

  it("maskUrl (the access log's fast path) masks exactly what maskPii masks", () => {
    const urlish = fc.stringMatching(/^[/?&=a-z0-9 ().+-]{0,60}$/);
    fc.assert(
      fc.property(fc.oneof(fc.string(), urlish), (u) => {
        expect(maskUrl(u)).toBe(maskPii(u));
      }),
      { numRuns: 2000 },
    );
    expect(maskUrl("/v1/x?cpf=123.456.789-09")).toBe(`/v1/x?cpf=${MASK}`);
    expect(maskUrl("/v1/churn/predict")).toBe("/v1/churn/predict");
  });
});

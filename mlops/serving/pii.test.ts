import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { maskUrlFull } from "../../platform/pii/index.ts";
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

  it("maskUrl's fast path (no digit, @ or %: key check only) masks exactly what the full detector masks", () => {
    // maskUrl reads URLs %-decoded and runs `key=value` to the next & or #, so it is no longer compared
    // with maskPii (plain text); what must hold is that skipping the detector never skips a match.
    const urlish = fc.stringMatching(/^[/?&=a-z0-9 ().+%@-]{0,60}$/);
    fc.assert(
      fc.property(fc.oneof(fc.string(), urlish), (u) => {
        expect(maskUrl(u)).toBe(maskUrlFull(u, { replacement: MASK }));
      }),
      { numRuns: 2000 },
    );
    expect(maskUrl("/v1/x?cpf=123.456.789-09")).toBe(`/v1/x?cpf=${MASK}`);
    expect(maskUrl("/v1/churn/predict")).toBe("/v1/churn/predict");
  });

  it.each([
    // Issue 19: these reached the access log in clear.
    ["/v1/x?tel=%2B5511987654321", `/v1/x?tel=${MASK}`],
    ["/v1/x?phone=+55+11+98765+4321", `/v1/x?phone=${MASK}`],
    ["/v1/x?name=Jo%C3%A3o+Silva&uf=SP", `/v1/x?name=${MASK}&uf=SP`],
    ["/v1/x?nome_cliente=Jo%C3%A3o+Silva", `/v1/x?nome_cliente=${MASK}`],
    ["/v1/x?n%61me=Jo%C3%A3o", `/v1/x?n%61me=${MASK}`],
    ["/v1/customers/abc12345678909def", `/v1/customers/abc${MASK}def`],
    // The same values under keys that say nothing about them.
    ["/v1/x?q=%2B5511987654321", `/v1/x?q=${MASK}`],
    ["/v1/x?q=+55+11+98765+4321&p=2", `/v1/x?q=${MASK}&p=2`],
  ])("maskUrl masks the issue-19 case %s", (url, expected) => {
    expect(maskUrl(url)).toBe(expected);
  });
});

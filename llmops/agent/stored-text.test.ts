import { describe, expect, it } from "vitest";
import { maskDigits } from "./engine.ts";

describe("text the session history and turn records keep", () => {
  it("masks every kind of personal data an identity step carries, and nothing else", () => {
    const said =
      "meu cpf é 529.982.247-25, tel (11) 98765-4321, email maria.silva@example.com, fatura de março";
    const kept = maskDigits(said);
    for (const secret of ["529.982.247-25", "98765-4321", "maria.silva@example.com"])
      expect(kept).not.toContain(secret);
    expect(kept).toContain("fatura de março");
    expect(maskDigits("quero a segunda via da conta de R$ 129,90")).toBe(
      "quero a segunda via da conta de R$ 129,90",
    );
  });
});

import { describe, expect, it } from "vitest";
import { isSecretKey, REDACTED, redactSecrets } from "./redact.ts";
import { configSchema } from "./schema.ts";

describe("redactSecrets", () => {
  it("hides API keys and other secrets, keeps variable names and ordinary settings", () => {
    const config = configSchema.parse({ serving: { apiKeys: ["k".repeat(32), "z".repeat(40)] } });
    const shown = redactSecrets({
      ...config,
      whatsapp: { appSecret: "s3cr3t", verifyToken: "tok", tokenEnv: "WA_TOKEN" },
    });
    expect(shown.serving.apiKeys).toEqual([REDACTED, REDACTED]);
    expect(shown.whatsapp).toEqual({ appSecret: REDACTED, verifyToken: REDACTED, tokenEnv: "WA_TOKEN" });
    expect(shown.serving.port).toBe(config.serving.port);
    expect(shown.rag.providers.openaiCompatible.apiKeyEnv).toBe("EMBEDDINGS_API_KEY");
    expect(JSON.stringify(shown)).not.toContain("k".repeat(32));
    expect(config.serving.apiKeys[0]).toBe("k".repeat(32)); // the original is untouched
  });

  it("recognises secret key names", () => {
    for (const k of [
      "apiKeys",
      "apiKey",
      "api_key",
      "secret",
      "clientSecret",
      "password",
      "token",
      "privateKey",
    ])
      expect(isSecretKey(k), k).toBe(true);
    for (const k of ["apiKeyEnv", "tokenEnv", "port", "topReasons", "maxTokens", "tokenizer", "keyFile"])
      expect(isSecretKey(k), k).toBe(false);
  });
});

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { registryContract } from "../../ports/testing/registry.contract.ts";
import { LocalModelRegistry } from "./file-model-registry.ts";

registryContract("LocalModelRegistry (workspace files)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "telco-registry-contract-"));
  return {
    registry: new LocalModelRegistry(join(dir, "registry"), { lockTimeoutMs: 10_000 }),
    async dispose() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

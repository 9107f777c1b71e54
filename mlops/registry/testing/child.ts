/**
 * Child-process helper for the registry crash/concurrency tests (spawned with `node`):
 *   register-big ROOT MB   registers v(small) then a MB-sized artifact (the test kills it mid-write)
 *   promote ROOT NAME VERSION   runs promoteIfBetter with the default policy and prints the decision
 */

import { LocalModelRegistry } from "../../../platform/adapters/local/file-model-registry.ts";
import { registryConfigSchema } from "../../../platform/config/sections/registry.ts";
import { promoteIfBetter } from "../policy.ts";

const [mode, root, ...rest] = process.argv.slice(2);
const registry = new LocalModelRegistry(root as string);
const card = { metrics: { auc: { value: 0.7 } }, evaluationDataset: { name: "eval", version: "e1" } };

if (mode === "register-big") {
  const mb = Number(rest[0]);
  await registry.register({ name: "big", format: "telco-gbdt", artifact: Buffer.from("{}"), card });
  process.stdout.write("small-done\n");
  await registry.register({ name: "big", format: "onnx", artifact: Buffer.alloc(mb * 1024 * 1024, 7), card });
  process.stdout.write("big-done\n");
} else if (mode === "promote") {
  const [name, version] = rest;
  const policy = registryConfigSchema.parse({}).promotion;
  const decision = await promoteIfBetter(registry, {
    name: name as string,
    version: Number(version),
    policy,
  });
  process.stdout.write(`${JSON.stringify(decision)}\n`);
}

/**
 * `node registry-child.ts ROOT register` registers a version of model "churn";
 * `node registry-child.ts ROOT promote V` points champion at version V. TELCO_CRASH_AT may kill it.
 */
import { LocalModelRegistry } from "../../../platform/adapters/local/file-model-registry.ts";

const [root, action, version] = process.argv.slice(2);
const registry = new LocalModelRegistry(root as string, { lockTimeoutMs: 5000 });
if (action === "register") {
  const v = await registry.register({
    name: "churn",
    format: "onnx",
    artifact: Buffer.from(`model bytes ${Date.now()}`),
    card: { metrics: { auc: { value: 0.7 } } },
  });
  process.stdout.write(`${JSON.stringify({ version: v.version })}\n`);
} else {
  const e = await registry.setAlias("churn", "champion", Number(version), {
    action: "promote",
    reason: "chaos",
  });
  process.stdout.write(`${JSON.stringify(e)}\n`);
}

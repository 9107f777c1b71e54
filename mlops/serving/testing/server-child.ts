/**
 * Child process for the crash tests: `node server-child.ts HOME CONFIG_JSON KEY` serves the churn API of
 * the workspace HOME (config = CONFIG_JSON) on a free loopback port, prints `{"url": …}` once listening
 * (after any journal replay), and runs until killed (SIGTERM drains and flushes; SIGKILL loses what the
 * configured durability allows).
 */
import { configSchema } from "../../../platform/config/schema.ts";
import { contextFromConfig } from "../../../platform/context.ts";
import { buildServer } from "../server.ts";

const [home, configJson, key] = process.argv.slice(2);
const app = contextFromConfig(configSchema.parse(JSON.parse(configJson as string)), home as string);
const server = await buildServer(app, { apiKeys: [key as string] });
const url = await server.listen({ host: "127.0.0.1", port: 0 });
process.stdout.write(`${JSON.stringify({ url })}\n`);
process.once("SIGTERM", () => {
  void server.close().then(async () => {
    await app.close();
    process.exit(0);
  });
});

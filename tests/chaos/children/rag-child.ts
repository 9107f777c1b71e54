/**
 * `node rag-child.ts HOME PATH…` ingests the files into the workspace's default RAG index (local,
 * offline embedder). TELCO_CRASH_AT may kill it at a crash point.
 */
import { ingestIntoWorkspace } from "../../../llmops/rag/api.ts";
import { configSchema } from "../../../platform/config/schema.ts";
import { contextFromConfig } from "../../../platform/context.ts";

const [home, ...paths] = process.argv.slice(2);
const app = contextFromConfig(configSchema.parse({}), home as string);
const report = await ingestIntoWorkspace(app, paths);
await app.close();
process.stdout.write(`${JSON.stringify({ version: report.index_version, chunks: report.chunks.total })}\n`);

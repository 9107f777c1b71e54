/**
 * Child process for the ingestion crash tests: `node ingest-child.ts HOME DELIVERY` ingests one
 * synthetic delivery into the workspace HOME (TELCO_CRASH_AT may kill it at a crash point).
 */
import { configSchema } from "../../../platform/config/schema.ts";
import { contextFromConfig } from "../../../platform/context.ts";
import { ingestSynthetic } from "../sources.ts";

const [home, delivery] = process.argv.slice(2);
const app = contextFromConfig(configSchema.parse({}), home as string);
const report = await ingestSynthetic(app, delivery);
await app.close();
process.stdout.write(`${JSON.stringify({ batchId: report.batchId, rows: report.rows })}\n`);

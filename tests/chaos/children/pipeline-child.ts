/**
 * `node pipeline-child.ts ROOT [RESUME_RUN]`: runs the demo pipeline (500 rows) in the pipeline
 * metadata folder ROOT, resuming RESUME_RUN when given; prints the run result as JSON.
 * TELCO_CRASH_AT may kill it at a crash point.
 */
import { demoPipeline } from "../../../mlops/pipelines/demo.ts";
import { runPipeline } from "../../../mlops/pipelines/runner.ts";

const [root, resume] = process.argv.slice(2);
const result = await runPipeline(root as string, demoPipeline(), {
  params: { rows: 500 },
  resume,
  maxConcurrency: 1,
});
process.stdout.write(`${JSON.stringify(result)}\n`);

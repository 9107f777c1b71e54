import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipelineMetadataContract } from "../../ports/testing/pipeline-metadata.contract.ts";
import { SqlitePipelineMetadata } from "./sqlite-pipeline-metadata.ts";

pipelineMetadataContract("SqlitePipelineMetadata (node:sqlite)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "telco-pipe-contract-"));
  const store = new SqlitePipelineMetadata(dir);
  return {
    store,
    async dispose() {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lakeContract } from "../../ports/testing/lake.contract.ts";
import { FsLake } from "./fs-lake.ts";

lakeContract("FsLake (files under a folder)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "telco-lake-contract-"));
  const scratch = join(dir, "scratch");
  mkdirSync(scratch);
  return {
    lake: new FsLake(join(dir, "lake")),
    scratch,
    async dispose() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

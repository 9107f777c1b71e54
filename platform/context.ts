import { DuckDbWarehouse } from "./adapters/local/duckdb-warehouse.ts";
import { FsLake } from "./adapters/local/fs-lake.ts";
import { loadConfig } from "./config/load.ts";
import type { TelcoConfig } from "./config/schema.ts";
import { TelcoError } from "./errors.ts";
import type { Lake } from "./ports/lake.ts";
import type { Warehouse } from "./ports/warehouse.ts";
import { type WorkspacePaths, workspacePaths } from "./workspace.ts";

/**
 * What a command or server needs: validated config, workspace paths and the adapters the
 * profile selects. Adapters are created lazily so `--help` and small commands stay fast.
 */
export interface AppContext {
  readonly config: TelcoConfig;
  readonly configFile: string | undefined;
  readonly paths: WorkspacePaths;
  lake(): Lake;
  warehouse(opts?: { readOnly?: boolean }): Promise<Warehouse>;
  close(): Promise<void>;
}

export function createContext(
  opts: { configFile?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): AppContext {
  const { config, file, home } = loadConfig({ file: opts.configFile, env: opts.env, cwd: opts.cwd });
  return contextFromConfig(config, home, file);
}

export function contextFromConfig(config: TelcoConfig, home: string, configFile?: string): AppContext {
  const paths = workspacePaths(home);
  let lake: Lake | undefined;
  let warehouse: Promise<Warehouse> | undefined;
  return {
    config,
    configFile,
    paths,
    lake() {
      if (!lake) {
        requireLocal(config, "lake");
        lake = new FsLake(paths.lake);
      }
      return lake;
    },
    warehouse(wopts = {}) {
      if (!warehouse) {
        requireLocal(config, "warehouse");
        warehouse = DuckDbWarehouse.open(paths.warehouse, { readOnly: wopts.readOnly });
      }
      return warehouse;
    },
    async close() {
      if (warehouse) await (await warehouse).close();
      warehouse = undefined;
    },
  };
}

function requireLocal(config: TelcoConfig, port: string): void {
  if (config.profile !== "local") {
    throw new TelcoError(
      "profile",
      `the ${port} adapter for profile "${config.profile}" is not wired in this build`,
      {
        hint: "Use the local profile (TELCO_PROFILE=local) or see docs/architecture for GCP adapters.",
      },
    );
  }
}

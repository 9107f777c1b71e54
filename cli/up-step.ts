import type { CommandRuntime } from "../platform/cli/runtime.ts";
import type { AppContext } from "../platform/context.ts";

/** One stage of `telco up`; stages run in order and each says what it produced. */
export interface UpStep {
  name: string;
  run(app: AppContext, rt: CommandRuntime): Promise<string>;
  /**
   * Nothing after it reads what it writes: it runs in a worker thread (cli/up-thread.ts) beside the
   * steps that follow, and `telco up` waits for it before it reports or serves.
   */
  thread?: boolean;
  /** Only when `up` goes on to serve (skipped by `--no-serve`). */
  serveOnly?: boolean;
}

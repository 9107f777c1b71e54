import { Command, CommanderError, Option } from "commander";
import pc from "picocolors";
import { type AppContext, createContext } from "../context.ts";
import { TelcoError, UsageError } from "../errors.ts";
import { secureWorkspace } from "../workspace.ts";
import { createProgress, type Progress } from "./progress.ts";

/** Options every command accepts (declared once on the root program). */
export interface GlobalOptions {
  json?: boolean;
  config?: string;
  quiet?: boolean;
}

/**
 * What an action gets: the lazily created AppContext and an IO object that knows whether
 * output is for a person (TTY, colours, progress) or a machine (--json: one JSON document on
 * stdout, nothing else).
 */
export interface CommandRuntime {
  readonly json: boolean;
  app(): AppContext;
  /** Prints the command's result: JSON in --json mode, otherwise the human rendering. */
  result(value: unknown, human?: (value: unknown) => string): void;
  /** A line for a person (suppressed in --json and --quiet). Goes to stderr to keep stdout clean. */
  info(message: string): void;
  warn(message: string): void;
  progress(label: string, total?: number): Progress;
}

export type ActionHandler<A extends unknown[]> = (rt: CommandRuntime, ...args: A) => Promise<void> | void;

/**
 * Wraps a command action: resolves global options, builds the runtime, closes adapters and
 * turns errors into the documented exit codes (1 failure, 2 usage) and messages.
 */
export function action<A extends unknown[]>(
  handler: ActionHandler<A>,
): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const command = args[args.length - 1] as Command;
    const globals = command.optsWithGlobals<GlobalOptions>();
    const rt = createRuntime(globals);
    try {
      await handler(rt, ...(args.slice(0, -1) as A));
    } finally {
      await rt.dispose();
    }
  };
}

function createRuntime(globals: GlobalOptions): CommandRuntime & { dispose(): Promise<void> } {
  const json = Boolean(globals.json);
  const quiet = Boolean(globals.quiet) || json;
  let app: AppContext | undefined;
  return {
    json,
    app() {
      if (!app) {
        app = createContext({ configFile: globals.config });
        const tightened = secureWorkspace(app.paths.home);
        if (tightened > 0 && !quiet)
          process.stderr.write(
            `${pc.yellow("warning:")} the workspace ${app.paths.home} was readable by other users; made ${tightened} files and folders private to you (0600/0700)\n`,
          );
      }
      return app;
    },
    result(value, human) {
      if (json) process.stdout.write(`${JSON.stringify(value, jsonReplacer, 2)}\n`);
      else process.stdout.write(`${human ? human(value) : JSON.stringify(value, jsonReplacer, 2)}\n`);
    },
    info(message) {
      if (!quiet) process.stderr.write(`${message}\n`);
    },
    warn(message) {
      if (!json) process.stderr.write(`${pc.yellow("warning:")} ${message}\n`);
    },
    progress(label, total) {
      return createProgress(label, total, { enabled: !quiet });
    },
    async dispose() {
      if (app) await app.close();
    },
  };
}

/** JSON.stringify replacer: bigint → number/string, typed arrays → arrays, Map → object. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === "bigint")
    return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (ArrayBuffer.isView(value) && !(value instanceof DataView))
    return Array.from(value as unknown as ArrayLike<number>);
  if (value instanceof Map) return Object.fromEntries(value);
  return value;
}

/** The root program with the global options; domain modules add their commands to it. */
export function createProgram(version: string): Command {
  const program = new Command("telco")
    .description(
      "telecom-ml-llmops: churn MLOps and a support/retention assistant, local-first and GCP-ready",
    )
    .version(version, "-V, --version")
    .addOption(new Option("--json", "print one machine-readable JSON document on stdout"))
    .addOption(
      new Option("-c, --config <file>", "configuration file (default ./telco.config.yaml, or TELCO_CONFIG)"),
    )
    .addOption(new Option("-q, --quiet", "print only results, no progress or hints"))
    .showHelpAfterError("(run with --help for usage)")
    .showSuggestionAfterError(true)
    .configureHelp({ sortSubcommands: true, showGlobalOptions: true });
  return program;
}

/** Parses argv and runs the command; returns the process exit code. */
export async function runProgram(program: Command, argv: string[]): Promise<number> {
  const isJson = argv.includes("--json");
  applyExitOverride(program);
  try {
    await program.parseAsync(argv);
    // An action may set process.exitCode (e.g. a failed pipeline run that still prints its JSON result).
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (err) {
    return reportError(err, isJson);
  }
}

function applyExitOverride(command: Command): void {
  command.exitOverride();
  for (const sub of command.commands) applyExitOverride(sub);
}

/** Prints an error the way the CLI promises and returns its exit code. */
export function reportError(err: unknown, json: boolean): number {
  if (err instanceof CommanderError) {
    // --help and --version exit through here with code 0.
    if (err.exitCode === 0 || err.code === "commander.helpDisplayed" || err.code === "commander.version")
      return 0;
    if (err.code === "commander.help") return 0;
    if (json) process.stdout.write(`${JSON.stringify({ error: { code: "usage", message: err.message } })}\n`);
    return 2;
  }
  const exit = err instanceof UsageError ? 2 : 1;
  if (err instanceof TelcoError) {
    if (json) process.stdout.write(`${JSON.stringify({ error: err.toJSON() }, jsonReplacer)}\n`);
    else {
      process.stderr.write(`${pc.red("error:")} ${err.message}\n`);
      if (err.hint) process.stderr.write(`${pc.dim("hint:")} ${err.hint}\n`);
    }
    return exit;
  }
  const fsError = fileSystemError(err);
  if (fsError) return reportError(fsError, json);
  const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
  if (json)
    process.stdout.write(`${JSON.stringify({ error: { code: "internal", message: String(err) } })}\n`);
  else process.stderr.write(`${pc.red("error:")} ${message}\n`);
  return 1;
}

const FS_PROBLEMS: Record<string, { what: string; fix: string }> = {
  EACCES: {
    what: "permission denied",
    fix: "make it writable by you, or point TELCO_HOME at a folder you own",
  },
  EPERM: {
    what: "operation not permitted",
    fix: "make it writable by you, or point TELCO_HOME at a folder you own",
  },
  ENOTDIR: {
    what: "a file stands where a folder is needed",
    fix: "move that file away, or point TELCO_HOME elsewhere",
  },
  EISDIR: { what: "a folder stands where a file is needed", fix: "move that folder away" },
  EROFS: { what: "the file system is read-only", fix: "point TELCO_HOME at a writable folder" },
  ENOSPC: {
    what: "no space left on the device",
    fix: "free some space, or point TELCO_HOME at a larger disk",
  },
};

/** A Node file-system error (EACCES, ENOTDIR, …) as a TelcoError that names the path and the fix. */
export function fileSystemError(err: unknown): TelcoError | undefined {
  const e = err as NodeJS.ErrnoException;
  const problem = e && typeof e.code === "string" ? FS_PROBLEMS[e.code] : undefined;
  if (!problem || typeof e.path !== "string") return undefined;
  return new TelcoError("filesystem", `cannot ${e.syscall ?? "use"} ${e.path}: ${problem.what} (${e.code})`, {
    hint: `${problem.fix[0].toUpperCase()}${problem.fix.slice(1)}.`,
    details: { path: e.path, errno: e.code },
  });
}

/** Parses an integer option value, with a usage error naming the option. */
export function intOption(name: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new UsageError(`${name} must be a whole number between ${min} and ${max}, got "${value}"`);
    }
    return n;
  };
}

/** Parses a number option value, with a usage error naming the option. */
export function numberOption(name: string, min = -Infinity, max = Infinity) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max) {
      throw new UsageError(`${name} must be a number between ${min} and ${max}, got "${value}"`);
    }
    return n;
  };
}

/** Returns the command group `name` (e.g. "data"), creating it once; modules add subcommands to it. */
export function commandGroup(program: Command, name: string, description: string): Command {
  const existing = program.commands.find((c) => c.name() === name);
  if (existing) return existing;
  return program.command(name).description(description);
}

/**
 * One error hierarchy for the whole platform. The CLI maps these to exit codes:
 * UsageError → 2, every other TelcoError → 1. `hint` tells a person what to do next.
 */
export class TelcoError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: string,
    message: string,
    opts: { hint?: string; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "TelcoError";
    this.code = code;
    this.hint = opts.hint;
    this.details = opts.details;
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, hint: this.hint, details: this.details };
  }
}

/** The command line was wrong (unknown flag, bad value): exit code 2. */
export class UsageError extends TelcoError {
  constructor(message: string, opts: { hint?: string; details?: Record<string, unknown> } = {}) {
    super("usage", message, opts);
    this.name = "UsageError";
  }
}

/** Input data or a request failed validation; `field` names what was wrong. */
export class ValidationError extends TelcoError {
  readonly field: string;
  constructor(
    field: string,
    message: string,
    opts: { hint?: string; details?: Record<string, unknown> } = {},
  ) {
    super("validation", `${field}: ${message}`, { ...opts, details: { field, ...opts.details } });
    this.name = "ValidationError";
    this.field = field;
  }
}

/** Something the command needs does not exist yet (no data ingested, no model registered). */
export class NotFoundError extends TelcoError {
  constructor(what: string, opts: { hint?: string; details?: Record<string, unknown> } = {}) {
    super("not_found", `${what} not found`, opts);
    this.name = "NotFoundError";
  }
}

/** Configuration file or TELCO_* variable is invalid; message names the key. */
export class ConfigError extends TelcoError {
  constructor(message: string, opts: { hint?: string; details?: Record<string, unknown> } = {}) {
    super("config", message, opts);
    this.name = "ConfigError";
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

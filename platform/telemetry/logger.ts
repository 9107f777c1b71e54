import { type Logger, pino } from "pino";

/**
 * The one structured logger. Logs go to stderr so that stdout stays clean for
 * command output (and `--json`). Level from TELCO_LOG_LEVEL (default "warn" for the
 * CLI, servers raise it to "info").
 */
export type { Logger };

let root: Logger | undefined;

export function logger(): Logger {
  if (!root) {
    root = pino(
      {
        level: process.env.TELCO_LOG_LEVEL ?? "warn",
        base: { service: "telco" },
        redact: {
          paths: ["*.cpf", "*.name", "*.phone", "*.authorization", "req.headers.authorization"],
          censor: "[masked]",
        },
      },
      pino.destination({ fd: 2, sync: true }),
    );
  }
  return root;
}

export function setLogLevel(level: string): void {
  logger().level = level;
}

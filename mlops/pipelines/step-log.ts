/**
 * What the runner stores of a task's ctx.log lines: PII masked with the shared detector, at most
 * STEP_LOG_MAX_LINES lines per task (then one "truncated N lines" marker) and STEP_LOG_MAX_LINE_BYTES
 * UTF-8 bytes per line. Lines go to the pipeline metadata store as they are logged, so a running
 * task's log can be read while it runs.
 */
import { maskPii } from "../../platform/pii/index.ts";
import type { PipelineMetadataStore, StepLogLevel, StepLogLine } from "./metadata.ts";

export const STEP_LOG_MAX_LINES = 500;
export const STEP_LOG_MAX_LINE_BYTES = 2048;

/** A level the step gave, else one read from a leading "warning:" / "error:" (steps often write those). */
export function stepLogLevel(message: string, given?: StepLogLevel): StepLogLevel | null {
  if (given) return given;
  const m = /^\s*(warn(?:ing)?|error|erro|aviso)\b\s*[:-]/i.exec(message);
  if (!m) return null;
  const word = (m[1] as string).toLowerCase();
  return word.startsWith("err") ? "error" : "warn";
}

/** `text` cut to at most `maxBytes` UTF-8 bytes (never inside a character), with the number of bytes cut. */
export function truncateUtf8(text: string, maxBytes: number): string {
  const buf = Buffer.from(text, "utf8");
  if (buf.length <= maxBytes) return text;
  let end = maxBytes;
  // Back up to the start of a character: UTF-8 continuation bytes are 10xxxxxx.
  while (end > 0 && ((buf[end] as number) & 0xc0) === 0x80) end--;
  return `${buf.subarray(0, end).toString("utf8")}… [${buf.length - end} bytes cut]`;
}

export interface StepLogger {
  log(message: string, attempt: number, level?: StepLogLevel): string;
  /** Appends the "truncated N lines" marker when lines were dropped (call once, when the task ends). */
  close(attempt: number): void;
}

export function stepLogger(
  meta: PipelineMetadataStore,
  runId: string,
  task: string,
  limits: { maxLines?: number; maxLineBytes?: number } = {},
): StepLogger {
  const maxLines = limits.maxLines ?? STEP_LOG_MAX_LINES;
  const maxBytes = limits.maxLineBytes ?? STEP_LOG_MAX_LINE_BYTES;
  let stored = 0;
  let dropped = 0;
  let lost = 0;
  let lostError = "";
  const append = (line: StepLogLine) => {
    try {
      meta.appendStepLog(runId, task, [line]);
      return true;
    } catch (err) {
      // A log line that cannot be stored must not fail the step; the marker says so at the end.
      lost++;
      lostError = err instanceof Error ? err.message : String(err);
      return false;
    }
  };
  return {
    log(message, attempt, level) {
      const masked = maskPii(String(message));
      if (stored >= maxLines) {
        dropped++;
        return masked;
      }
      if (
        append({
          at: new Date().toISOString(),
          level: stepLogLevel(masked, level),
          attempt,
          message: truncateUtf8(masked, maxBytes),
        })
      )
        stored++;
      return masked;
    },
    close(attempt) {
      const notes: string[] = [];
      if (dropped > 0) notes.push(`truncated ${dropped} lines (the first ${maxLines} are kept)`);
      if (lost > 0) notes.push(`${lost} lines could not be stored: ${lostError}`);
      if (notes.length === 0) return;
      append({
        at: new Date().toISOString(),
        level: "warn",
        attempt,
        message: truncateUtf8(maskPii(notes.join("; ")), maxBytes),
      });
      dropped = 0;
      lost = 0;
    },
  };
}

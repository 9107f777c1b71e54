/**
 * What the runner stores of a task's ctx.log lines: PII masked with the shared detector, at most
 * STEP_LOG_MAX_LINES lines per task (then one "truncated N lines" marker) and STEP_LOG_MAX_LINE_BYTES
 * UTF-8 bytes per line. Lines go to the pipeline metadata store as they are logged (in the background,
 * in order; lines logged while a write is out go in the next one), so a running task's log can be read
 * while it runs.
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
  /** Masks and queues one line (stored in the background, in order); returns the masked text. */
  log(message: string, attempt: number, level?: StepLogLevel): string;
  /**
   * Waits until the queued lines are stored, then appends the "truncated N lines" marker when lines
   * were dropped or could not be stored (call once, when the task ends).
   */
  close(attempt: number): Promise<void>;
}

export function stepLogger(
  meta: PipelineMetadataStore,
  runId: string,
  task: string,
  limits: { maxLines?: number; maxLineBytes?: number } = {},
): StepLogger {
  const maxLines = limits.maxLines ?? STEP_LOG_MAX_LINES;
  const maxBytes = limits.maxLineBytes ?? STEP_LOG_MAX_LINE_BYTES;
  let queued = 0;
  let dropped = 0;
  let lost = 0;
  let lostError = "";
  // Lines logged while a write is out go together in the next write (one round trip to Firestore).
  let pending: StepLogLine[] = [];
  let writing: Promise<void> | undefined;
  const store = async (lines: StepLogLine[]) => {
    try {
      await meta.appendStepLog(runId, task, lines);
    } catch (err) {
      // A log line that cannot be stored must not fail the step; the marker says so at the end.
      lost += lines.length;
      lostError = err instanceof Error ? err.message : String(err);
    }
  };
  const pump = async () => {
    while (pending.length > 0) {
      const batch = pending;
      pending = [];
      await store(batch);
    }
    writing = undefined;
  };
  return {
    log(message, attempt, level) {
      const masked = maskPii(String(message));
      if (queued >= maxLines) {
        dropped++;
        return masked;
      }
      queued++;
      pending.push({
        at: new Date().toISOString(),
        level: stepLogLevel(masked, level),
        attempt,
        message: truncateUtf8(masked, maxBytes),
      });
      writing ??= pump();
      return masked;
    },
    async close(attempt) {
      while (writing) await writing;
      const notes: string[] = [];
      if (dropped > 0) notes.push(`truncated ${dropped} lines (the first ${maxLines} are kept)`);
      if (lost > 0) notes.push(`${lost} lines could not be stored: ${lostError}`);
      if (notes.length === 0) return;
      dropped = 0;
      lost = 0;
      await store([
        {
          at: new Date().toISOString(),
          level: "warn",
          attempt,
          message: truncateUtf8(maskPii(notes.join("; ")), maxBytes),
        },
      ]);
    },
  };
}

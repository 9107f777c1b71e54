import { type Logger, pino } from "pino";

/**
 * The server's access log: one structured pino line per request, on its own asynchronous,
 * buffered stderr destination (lines are written in ≥ 8 KiB batches off the request path instead of
 * one synchronous write(2) per request), flushed every second and synchronously on close/exit so no
 * line is lost on graceful shutdown. The buffer is bounded: when stderr cannot keep up (a blocked pipe),
 * lines beyond MAX_BUFFERED_BYTES are dropped and counted, rather than growing the server's memory.
 */
export interface AccessLog {
  log: Logger;
  flush(): void;
  close(): void;
  /** Lines dropped because the destination fell MAX_BUFFERED_BYTES behind. */
  dropped?(): number;
}

/** Most access-log bytes held in memory while stderr is slow (about 40,000 lines). */
export const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

/** Creates the access log on file descriptor `fd` (stderr by default). */
export function createAccessLog(fd = 2): AccessLog {
  const dest = pino.destination({ fd, sync: false, minLength: 8192, maxLength: MAX_BUFFERED_BYTES });
  let dropped = 0;
  dest.on("drop", () => {
    dropped++;
  });
  const log = pino({ level: "info", base: { service: "telco", log: "access" } }, dest);
  const flushSync = () => {
    try {
      dest.flushSync();
    } catch {
      // Not open yet or already closed: nothing buffered to lose.
    }
  };
  const timer = setInterval(() => dest.flush(), 1000);
  timer.unref();
  process.once("exit", flushSync);
  return {
    log,
    dropped: () => dropped,
    flush: flushSync,
    close: () => {
      clearInterval(timer);
      process.removeListener("exit", flushSync);
      flushSync();
    },
  };
}

import { execFileSync, spawn } from "node:child_process";
import { constants, mkdtempSync, openSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createAccessLog, MAX_BUFFERED_BYTES } from "./access-log.ts";

describe("access log on a destination that stops reading", () => {
  it("drops and counts lines past its buffer instead of growing the server's memory", async () => {
    // A FIFO nobody reads: the kernel's pipe buffer fills, then every write would wait.
    const fifo = join(mkdtempSync(join(tmpdir(), "telco-access-")), "stuck");
    execFileSync("mkfifo", [fifo]);
    const fd = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK);
    const access = createAccessLog(fd);
    const line = { reqId: "r", method: "POST", url: `/v1/churn/predict?pad=${"x".repeat(900)}`, status: 200 };
    const n = 40_000;
    for (let i = 0; i < n; i++) access.log.info(line, "request"); // ~40 MB of lines
    await new Promise((r) => setTimeout(r, 50));
    const dropped = access.dropped?.() ?? 0;
    // What was kept (in memory, or in the pipe's 64 KiB) is at most the bound.
    const lineBytes = JSON.stringify(line).length; // a lower bound of each line's size
    expect(dropped).toBeGreaterThan(0);
    expect((n - dropped) * lineBytes).toBeLessThanOrEqual(MAX_BUFFERED_BYTES + 1024 * 1024);
    // A reader in another process drains the pipe so the kept lines get written (the descriptor stays
    // open, as stderr does in the server: a write in flight must not hit a closed one).
    const reader = spawn("cat", [fifo], { stdio: ["ignore", "ignore", "ignore"] });
    access.close();
    await new Promise((r) => setTimeout(r, 200));
    reader.kill();
  });
});

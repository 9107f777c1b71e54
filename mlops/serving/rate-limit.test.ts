import { describe, expect, it } from "vitest";
import { KeyRateLimiter } from "./rate-limit.ts";

describe("KeyRateLimiter", () => {
  it("allows max requests per key per window, then refuses until the window ends", () => {
    let t = 1_000;
    const rl = new KeyRateLimiter(3, 60_000, () => t);
    expect([rl.hit("a"), rl.hit("a"), rl.hit("a"), rl.hit("a")]).toEqual([2, 1, 0, -1]);
    expect(rl.resetAt).toBe(61_000);
    expect(rl.hit("b")).toBe(2); // other keys are independent
    t = 60_999;
    expect(rl.hit("a")).toBe(-1);
    t = 61_000;
    expect(rl.hit("a")).toBe(2);
    expect(rl.resetAt).toBe(121_000);
  });

  it("forgets expired keys when many keys come and go", () => {
    let t = 0;
    const rl = new KeyRateLimiter(1, 1_000, () => t);
    for (let i = 0; i < 10_000; i++) rl.hit(`k${i}`);
    t = 5_000;
    expect(rl.hit("new")).toBe(0);
    expect((rl as unknown as { windows: Map<string, unknown> }).windows.size).toBe(1);
  });
});

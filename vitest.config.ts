import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/.telco/**"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    // Two cores on CI machines: keep workers to the core count.
    maxWorkers: 2,
    // CI sets CI=1, which turns picocolors on even without a terminal; assertions read plain text.
    env: { NO_COLOR: "1" },
  },
});

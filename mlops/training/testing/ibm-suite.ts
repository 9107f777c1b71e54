import { describe, it } from "vitest";
import { findIbmCsv } from "./ibm.ts";

/**
 * Suites and tests that read the public IBM Telco CSV (../shared/data/telco-customer-churn.csv beside the
 * repository; CI downloads it, .github/workflows/ci.yml). Where the file is absent they are skipped, and
 * the skipped title says why, instead of failing a fresh clone's `npm test`.
 */
export const IBM_CSV_FOUND = findIbmCsv() !== undefined;

const NOTE = IBM_CSV_FOUND
  ? ""
  : " [skipped: needs the public IBM Telco CSV at ../shared/data/telco-customer-churn.csv, which CI downloads]";

/** `describe`, skipped with the reason in its title when the IBM CSV is absent. */
export function describeIbm(title: string, fn: () => void): void {
  (IBM_CSV_FOUND ? describe : describe.skip)(title + NOTE, fn);
}

/** `it`, skipped with the reason in its title when the IBM CSV is absent. */
export function itIbm(title: string, fn: () => Promise<void> | void, timeout?: number): void {
  (IBM_CSV_FOUND ? it : it.skip)(title + NOTE, fn, timeout);
}

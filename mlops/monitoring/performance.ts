import { expectedCalibrationError, rocAuc } from "../training/metrics.ts";

/** A scored prediction whose outcome is now known. */
export interface LabelledPrediction {
  ts: string;
  probability: number;
  label: 0 | 1;
}

export interface PerformancePeriod {
  period: string;
  n: number;
  positives: number;
  /** Null when the period has only one class (AUC undefined). */
  auc: number | null;
  ece: number;
  meanProbability: number;
  positiveRate: number;
}

/** Groups labelled predictions by day, ISO week or month and computes AUC and calibration per period. */
export function performanceOverTime(
  rows: readonly LabelledPrediction[],
  period: "day" | "week" | "month" = "week",
): PerformancePeriod[] {
  const groups = new Map<string, LabelledPrediction[]>();
  for (const r of rows) {
    const key = periodKey(r.ts, period);
    const list = groups.get(key) ?? [];
    list.push(r);
    groups.set(key, list);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, list]) => {
      const y = Uint8Array.from(list, (r) => r.label);
      const p = Float64Array.from(list, (r) => r.probability);
      const positives = y.reduce((s, v) => s + v, 0);
      const bothClasses = positives > 0 && positives < list.length;
      return {
        period: key,
        n: list.length,
        positives,
        auc: bothClasses ? rocAuc(y, p) : null,
        ece: expectedCalibrationError(y, p),
        meanProbability: p.reduce((s, v) => s + v, 0) / list.length,
        positiveRate: positives / list.length,
      };
    });
}

function periodKey(ts: string, period: "day" | "week" | "month"): string {
  if (period === "day") return ts.slice(0, 10);
  if (period === "month") return ts.slice(0, 7);
  // ISO 8601 week: the week's Thursday decides the year.
  const d = new Date(`${ts.slice(0, 10)}T00:00:00Z`);
  const day = (d.getUTCDay() + 6) % 7;
  d.setUTCDate(d.getUTCDate() - day + 3);
  const year = d.getUTCFullYear();
  const week = Math.floor((d.getTime() - Date.UTC(year, 0, 1)) / 86_400_000 / 7) + 1;
  return `${year}-W${String(week).padStart(2, "0")}`;
}

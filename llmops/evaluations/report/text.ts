import { type EvalRun, type Metric, meetsThreshold } from "../suites/types.ts";

/** A run as a person reads it in the terminal: a line per suite, its gated metrics, the verdict. */

export function formatValue(m: Pick<Metric, "value" | "unit">): string {
  const v = m.value;
  if (v === null) return "unknown";
  switch (m.unit) {
    case "rate":
      return `${(v * 100).toFixed(2)}%`;
    case "ms":
      return `${v.toFixed(1)} ms`;
    case "money":
      return v === 0 ? "0" : v.toFixed(6);
    case "score":
      return v.toFixed(2);
    default:
      return Number.isInteger(v) ? String(v) : v.toFixed(2);
  }
}

function thresholdText(m: Metric): string {
  if (!m.threshold) return "";
  const t = m.threshold;
  const v = m.unit === "rate" ? `${(t.value * 100).toFixed((t.value * 100) % 1 ? 1 : 0)}%` : String(t.value);
  return ` (${t.op} ${v}${meetsThreshold(m) ? "" : " MISSED"})`;
}

export function renderRunSummary(run: EvalRun, opts: { reportFile?: string } = {}): string {
  const lines = [
    `eval run ${run.run_id} · engine ${run.engine}${run.k > 1 ? ` · k=${run.k}` : ""} · ${run.llm} · ${run.git.commit?.slice(0, 10) ?? "no git"}${run.git.dirty ? " (dirty)" : ""} · ${(run.duration_ms / 1000).toFixed(1)} s`,
    "",
  ];
  for (const s of run.suites) {
    const mark =
      s.status === "error"
        ? "ERROR"
        : s.status === "skipped"
          ? "skip "
          : s.metrics.every(meetsThreshold)
            ? "ok   "
            : "FAIL ";
    lines.push(`${mark} ${s.suite.padEnd(13)} ${s.summary}`);
    const gated = s.metrics.filter((m) => m.threshold);
    if (gated.length)
      lines.push(
        `${" ".repeat(20)}${gated.map((m) => `${m.name} ${formatValue(m)}${thresholdText(m)}`).join(" · ")}`,
      );
    for (const n of s.notes.filter((n) => /cost|local engine|no model/.test(n)))
      lines.push(`${" ".repeat(20)}${n}`);
  }
  const g = run.gate;
  lines.push("");
  if (g.baseline)
    lines.push(`baseline: ${g.baseline.run_id} (accepted ${g.baseline.accepted_at.slice(0, 10)})`);
  for (const n of g.notes) lines.push(`note: ${n}`);
  for (const m of g.threshold_misses) lines.push(`threshold missed: ${m}`);
  for (const r of g.regressions) lines.push(`regression: ${r}`);
  if (g.newly_failing.length)
    lines.push(
      `newly failing against the baseline (${g.newly_failing.length}): ${g.newly_failing.slice(0, 10).join(", ")}${g.newly_failing.length > 10 ? " …" : ""}`,
    );
  lines.push(g.passed ? "GATE PASSED" : "GATE FAILED");
  if (opts.reportFile) lines.push(`report: ${opts.reportFile}`);
  return lines.join("\n");
}

import type { EvalRun } from "../suites/types.ts";

/** `telco eval compare A B`: what changed from run A to run B, suite by suite and case by case. */
export interface SuiteDiff {
  suite: string;
  metrics: { name: string; a: number | null; b: number | null; delta: number | null; better: string }[];
  /** Failed in A, pass in B. */
  fixed: string[];
  /** Passed in A, fail in B (with B's reasons). */
  broken: { id: string; failures: string[] }[];
  /** Failing in both. */
  still_failing: string[];
  only_in_a: string[];
  only_in_b: string[];
}

export interface RunDiff {
  a: { run_id: string; engine: string; k: number; created_at: string; commit: string | null };
  b: { run_id: string; engine: string; k: number; created_at: string; commit: string | null };
  suites: SuiteDiff[];
}

export function compareRuns(a: EvalRun, b: EvalRun): RunDiff {
  const names = [...new Set([...a.suites.map((s) => s.suite), ...b.suites.map((s) => s.suite)])];
  const head = (r: EvalRun) => ({
    run_id: r.run_id,
    engine: r.engine,
    k: r.k,
    created_at: r.created_at,
    commit: r.git.commit,
  });
  return {
    a: head(a),
    b: head(b),
    suites: names.map((name) => {
      const sa = a.suites.find((s) => s.suite === name);
      const sb = b.suites.find((s) => s.suite === name);
      const metricNames = [...new Set([...(sa?.metrics ?? []), ...(sb?.metrics ?? [])].map((m) => m.name))];
      const metrics = metricNames.map((m) => {
        const ma = sa?.metrics.find((x) => x.name === m);
        const mb = sb?.metrics.find((x) => x.name === m);
        const va = ma?.value ?? null;
        const vb = mb?.value ?? null;
        return {
          name: m,
          a: va,
          b: vb,
          delta: va === null || vb === null ? null : Number((vb - va).toPrecision(6)),
          better: (mb ?? ma)?.better ?? "none",
        };
      });
      const ca = new Map((sa?.cases ?? []).map((c) => [c.id, c]));
      const cb = new Map((sb?.cases ?? []).map((c) => [c.id, c]));
      const diff: SuiteDiff = {
        suite: name,
        metrics,
        fixed: [],
        broken: [],
        still_failing: [],
        only_in_a: [],
        only_in_b: [],
      };
      for (const [id, c] of ca) {
        const other = cb.get(id);
        if (!other) diff.only_in_a.push(id);
        else if (!c.passed && other.passed) diff.fixed.push(id);
        else if (c.passed && !other.passed) diff.broken.push({ id, failures: other.failures });
        else if (!c.passed && !other.passed) diff.still_failing.push(id);
      }
      for (const id of cb.keys()) if (!ca.has(id)) diff.only_in_b.push(id);
      return diff;
    }),
  };
}

const num = (v: number | null) =>
  v === null ? "—" : Math.abs(v) >= 100 ? String(Math.round(v)) : String(Number(v.toPrecision(4)));

export function renderDiff(d: RunDiff): string {
  const lines = [
    `A ${d.a.run_id} (${d.a.engine}, k=${d.a.k}, ${d.a.commit?.slice(0, 10) ?? "no commit"})`,
    `B ${d.b.run_id} (${d.b.engine}, k=${d.b.k}, ${d.b.commit?.slice(0, 10) ?? "no commit"})`,
  ];
  for (const s of d.suites) {
    lines.push("", `${s.suite}`);
    for (const m of s.metrics) {
      if (m.a === m.b) continue;
      const sign = m.delta === null ? "" : m.delta > 0 ? "+" : "";
      const verdict =
        m.delta === null || m.delta === 0 || m.better === "none"
          ? ""
          : m.delta > 0 === (m.better === "higher")
            ? "  better"
            : "  worse";
      lines.push(
        `  ${m.name.padEnd(30)} ${num(m.a).padStart(10)} → ${num(m.b).padEnd(10)} ${sign}${num(m.delta)}${verdict}`,
      );
    }
    if (s.metrics.every((m) => m.a === m.b)) lines.push("  metrics unchanged");
    for (const id of s.fixed) lines.push(`  fixed   ${id}`);
    for (const b of s.broken) lines.push(`  broken  ${b.id}: ${b.failures.slice(0, 2).join("; ")}`);
    if (s.still_failing.length) lines.push(`  still failing: ${s.still_failing.join(", ")}`);
    if (s.only_in_a.length) lines.push(`  only in A: ${s.only_in_a.length} case(s)`);
    if (s.only_in_b.length) lines.push(`  only in B: ${s.only_in_b.length} case(s)`);
  }
  return lines.join("\n");
}

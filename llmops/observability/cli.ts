import type { Command } from "commander";
import { action } from "../../platform/cli/runtime.ts";
import { NotFoundError, UsageError } from "../../platform/errors.ts";
import { buildTree, lineageOf, renderLineage, renderTraceList, renderTree, type TraceNode } from "./tree.ts";

/** `telco traces list|show`: the assistant's turns as stored in the workspace trace store. */
export function registerTraceCommands(program: Command): void {
  const traces = program
    .command("traces")
    .description("the assistant's traces: each turn as a tree of spans, with its lineage");

  traces
    .command("list")
    .description("recent traces, newest first (one per assistant turn)")
    .option("--session <id>", "only the traces of this session")
    .option("--limit <n>", "how many", "20")
    .option("--since <iso>", "only traces started at or after this time")
    .action(
      action(async (rt, o: { session?: string; limit: string; since?: string }) => {
        const limit = Number(o.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
          throw new UsageError(`--limit must be a whole number from 1 to 10000, got "${o.limit}"`);
        const store = await rt.app().traceStore();
        const rows = await store.list({
          limit,
          ...(o.session ? { sessionId: o.session } : {}),
          ...(o.since ? { since: o.since } : {}),
        });
        rt.result({ traces: rows }, () => renderTraceList(rows));
      }),
    );

  traces
    .command("show")
    .description("one trace as a tree (span, duration, key attributes) and the lineage of its answer")
    .argument("<id>", "trace id, or the trace_id a chat answer returned (a unique prefix is enough)")
    .addHelpText(
      "after",
      [
        "",
        "Examples:",
        '  telco chat --customer AUR-00000288 --message "minha internet caiu" --json   # note trace_id',
        "  telco traces show 3f1c2d4e",
        "  telco traces show 3f1c2d4e --json   # spans, tree and lineage as one JSON document",
      ].join("\n"),
    )
    .action(
      action(async (rt, id: string) => {
        const store = await rt.app().traceStore();
        const spans = await store.get(id);
        if (!spans || spans.length === 0)
          throw new NotFoundError(`trace ${id}`, { hint: "List recent ones with `telco traces list`." });
        const lineage = lineageOf(spans);
        const tree = buildTree(spans);
        const nested = (n: TraceNode): unknown => ({
          name: n.span.name,
          span_id: n.span.span_id,
          duration_ms: n.span.duration_ms,
          status: n.span.status,
          attributes: n.span.attributes,
          events: n.span.events,
          children: n.children.map(nested),
        });
        rt.result({ trace_id: spans[0].trace_id, spans: spans.length, tree: tree.map(nested), lineage }, () =>
          [renderTree(spans), "", lineage ? renderLineage(lineage) : "no root span: no lineage"].join("\n"),
        );
      }),
    );
}

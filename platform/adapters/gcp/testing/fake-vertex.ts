import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local stand-in for the Vertex AI and Cloud Storage REST APIs: answers a scripted list of
 * responses in order (each checked against the method and path it expects) and keeps every request
 * it received, so a test asserts both what was sent and what the code did with the answers.
 */
export interface ScriptedResponse {
  method: string;
  /** Path (and query) the request must have, or a pattern for it. */
  path: string | RegExp;
  status?: number;
  /** JSON answer (or `raw` bytes, e.g. a Cloud Storage object read with alt=media). */
  body?: unknown;
  raw?: Uint8Array;
  /** Extra response headers (e.g. Retry-After). */
  headers?: Record<string, string>;
  /**
   * A create with a client-chosen id, applied to the fake's `resources`: stores `resource` under
   * `name` and answers `body` (default the resource), or answers 409 ALREADY_EXISTS when `name`
   * already exists, as Vertex does.
   */
  create?: { name: string; resource: unknown };
  /** A get of a stored resource: answers it, or 404 NOT_FOUND. */
  read?: string;
  /** Cut the connection instead of answering (after applying `create`): the answer is lost. */
  dropConnection?: boolean;
}

export interface ReceivedRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  contentType: string | undefined;
  body: string;
}

export interface FakeVertex {
  url: string;
  received: ReceivedRequest[];
  /** Requests that matched no scripted response (the server answered 599 to them). */
  unexpected: ReceivedRequest[];
  /** Resources created through `create` steps, by resource name. */
  resources: Map<string, unknown>;
  close(): Promise<void>;
}

export async function fakeVertex(script: ScriptedResponse[]): Promise<FakeVertex> {
  const received: ReceivedRequest[] = [];
  const unexpected: ReceivedRequest[] = [];
  const resources = new Map<string, unknown>();
  const queue = [...script];
  const server: Server = createServer(async (req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const r: ReceivedRequest = {
      method: req.method ?? "",
      path: req.url ?? "",
      authorization: req.headers.authorization,
      contentType: req.headers["content-type"],
      body: Buffer.concat(chunks).toString("utf8"),
    };
    received.push(r);
    const next = queue[0];
    const matches =
      next &&
      next.method === r.method &&
      (typeof next.path === "string" ? next.path === r.path : next.path.test(r.path));
    if (!matches) {
      unexpected.push(r);
      res.writeHead(599, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          error: { code: 599, status: "UNEXPECTED", message: `unexpected ${r.method} ${r.path}` },
        }),
      );
      return;
    }
    queue.shift();
    const answer = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json", ...next.headers });
      res.end(JSON.stringify(body));
    };
    if (next.create) {
      if (resources.has(next.create.name)) {
        answer(409, {
          error: { code: 409, status: "ALREADY_EXISTS", message: `${next.create.name} already exists.` },
        });
        return;
      }
      resources.set(next.create.name, next.create.resource);
    }
    if (next.dropConnection) {
      req.socket.destroy();
      return;
    }
    if (next.read !== undefined) {
      const found = resources.get(next.read);
      if (found === undefined)
        answer(404, { error: { code: 404, status: "NOT_FOUND", message: `${next.read} not found.` } });
      else answer(next.status ?? 200, found);
      return;
    }
    if (next.create) {
      answer(next.status ?? 200, next.body ?? next.create.resource);
      return;
    }
    if (next.raw) {
      res.writeHead(next.status ?? 200, { "content-type": "application/octet-stream", ...next.headers });
      res.end(next.raw);
      return;
    }
    answer(next.status ?? 200, next.body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    unexpected,
    resources,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * A PipelineJob resource as projects.locations.pipelineJobs.get answers it, hand-written from the
 * Vertex AI REST reference (PipelineJob, PipelineJobDetail, PipelineTaskDetail; states
 * PIPELINE_STATE_* for the job, SUCCEEDED / RUNNING / FAILED / SKIPPED … for tasks), not recorded from
 * Google. `jobDetail.taskDetails` holds the root DAG task (no parentTaskId) and one entry per task;
 * `withDetail: false` leaves the details out, as a list answer may.
 */
export function pipelineJobBody(opts: {
  parent: string;
  id: string;
  pipeline: string;
  state: string;
  created: string;
  started?: string;
  ended?: string;
  error?: string;
  tasks?: { name: string; state: string; started?: string; ended?: string; error?: string }[];
  withDetail?: boolean;
}): Record<string, unknown> {
  const rootId = "1000";
  return {
    name: `${opts.parent}/pipelineJobs/${opts.id}`,
    displayName: opts.pipeline,
    createTime: opts.created,
    ...(opts.started ? { startTime: opts.started } : {}),
    ...(opts.ended ? { endTime: opts.ended } : {}),
    updateTime: opts.ended ?? opts.started ?? opts.created,
    state: opts.state,
    labels: { "telco-pipeline": opts.pipeline },
    ...(opts.error ? { error: { code: 9, message: opts.error } } : {}),
    runtimeConfig: { gcsOutputDirectory: "gs://aurora-lake/pipelines", parameterValues: {} },
    ...(opts.withDetail === false
      ? {}
      : {
          jobDetail: {
            pipelineContext: { name: `${opts.parent}/metadataStores/default/contexts/${opts.pipeline}` },
            pipelineRunContext: { name: `${opts.parent}/metadataStores/default/contexts/${opts.id}` },
            taskDetails: [
              {
                taskId: rootId,
                taskName: opts.pipeline,
                createTime: opts.created,
                ...(opts.started ? { startTime: opts.started } : {}),
                state: opts.state.replace("PIPELINE_STATE_", ""),
              },
              ...(opts.tasks ?? []).map((t, i) => ({
                taskId: String(2000 + i),
                parentTaskId: rootId,
                taskName: t.name,
                createTime: t.started ?? opts.created,
                ...(t.started ? { startTime: t.started } : {}),
                ...(t.ended ? { endTime: t.ended } : {}),
                state: t.state,
                ...(t.error ? { error: { code: 9, message: t.error } } : {}),
              })),
            ],
          },
        }),
  };
}

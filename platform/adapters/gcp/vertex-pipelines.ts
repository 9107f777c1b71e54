import { TelcoError } from "../../errors.ts";
import type {
  ManagedRun,
  ManagedRunState,
  ManagedTaskState,
  PipelineJobSpec,
  PipelineService,
  PlannedCall,
} from "../../ports/pipeline-service.ts";
import { locationParent, type VertexLocation, vertexId } from "./vertex-common.ts";
import { VertexRest, type VertexRestOptions } from "./vertex-rest.ts";

type Json = Record<string, unknown>;

export interface PipelineJobInput {
  location: VertexLocation;
  pipelineName: string;
  /** Compiled KFP PipelineSpec (plain JSON). */
  pipelineSpec: Json;
  parameterValues: Record<string, unknown>;
  /** gs://BUCKET/PATH root for the pipeline's outputs. */
  gcsOutputDirectory: string;
  serviceAccount?: string;
  labels?: Record<string, string>;
  /** Optional job id suffix (Vertex generates one otherwise). */
  jobId?: string;
}

/** CreatePipelineJobRequest as plain JSON: what `--dry-run` prints and what is sent. */
export interface CreatePipelineJobRequest {
  parent: string;
  pipelineJobId?: string;
  pipelineJob: {
    displayName: string;
    pipelineSpec: Json;
    runtimeConfig: { gcsOutputDirectory: string; parameterValues: Record<string, unknown> };
    serviceAccount?: string;
    labels?: Record<string, string>;
  };
}

export function buildCreatePipelineJobRequest(input: PipelineJobInput): CreatePipelineJobRequest {
  return {
    parent: locationParent(input.location),
    ...(input.jobId ? { pipelineJobId: vertexId(input.jobId) } : {}),
    pipelineJob: {
      displayName: input.pipelineName,
      pipelineSpec: input.pipelineSpec,
      runtimeConfig: { gcsOutputDirectory: input.gcsOutputDirectory, parameterValues: input.parameterValues },
      ...(input.serviceAccount ? { serviceAccount: input.serviceAccount } : {}),
      labels: { "telco-pipeline": vertexId(input.pipelineName), ...(input.labels ?? {}) },
    },
  };
}

/** CreateScheduleRequest: Vertex AI runs the pipeline job on a cron. */
export interface CreateScheduleRequest {
  parent: string;
  schedule: {
    displayName: string;
    cron: string;
    maxConcurrentRunCount: number;
    createPipelineJobRequest: CreatePipelineJobRequest;
  };
}

export function buildCreateScheduleRequest(
  job: CreatePipelineJobRequest,
  cron: string,
  opts: { timeZone?: string; maxConcurrentRunCount?: number } = {},
): CreateScheduleRequest {
  return {
    parent: job.parent,
    schedule: {
      displayName: `${job.pipelineJob.displayName}-schedule`,
      // Vertex accepts an optional "TZ=Area/City " prefix on the cron expression.
      cron: opts.timeZone ? `TZ=${opts.timeZone} ${cron}` : cron,
      maxConcurrentRunCount: opts.maxConcurrentRunCount ?? 1,
      createPipelineJobRequest: { parent: job.parent, pipelineJob: job.pipelineJob },
    },
  };
}

/**
 * A planned call as the REST request that carries it: the request message's path fields (`parent`)
 * go into the URL, `pipelineJobId` into the query, and the resource (`pipelineJob` / `schedule`) is
 * the body, sent exactly as `--dry-run` prints it (REST takes plain JSON for Struct/Value fields, so
 * pipelineSpec and parameterValues need no encoding).
 */
export function restRequestFor(
  apiBase: string,
  call: PlannedCall,
): { method: "POST"; url: string; body: unknown; description: string } {
  if (call.method === "PipelineService.createPipelineJob") {
    const r = call.request as CreatePipelineJobRequest;
    const q = r.pipelineJobId ? `?pipelineJobId=${encodeURIComponent(r.pipelineJobId)}` : "";
    return {
      method: "POST",
      url: `${apiBase}/v1/${r.parent}/pipelineJobs${q}`,
      body: r.pipelineJob,
      description: `create pipeline job ${r.pipelineJobId ?? r.pipelineJob.displayName}`,
    };
  }
  if (call.method === "ScheduleService.createSchedule") {
    const r = call.request as CreateScheduleRequest;
    return {
      method: "POST",
      url: `${apiBase}/v1/${r.parent}/schedules`,
      body: r.schedule,
      description: `create schedule ${r.schedule.displayName}`,
    };
  }
  throw new TelcoError("plan", `unknown Vertex AI Pipelines call ${call.method}`);
}

/** A pipelineJobId: `[a-z][a-z0-9-]*` (the REST reference allows no `_`), name-YYYYMMDDhhmmss like KFP's. */
export function pipelineJobId(pipelineName: string, at: Date): string {
  const stamp = at.toISOString().replace(/[-:T]/g, "").slice(0, 14);
  return `${vertexId(pipelineName).replace(/_/g, "-").slice(0, 48)}-${stamp}`;
}

/** PipelineJob as the REST API returns it (projects.locations.pipelineJobs get / list), the fields read here. */
interface PipelineJobResource {
  name?: string;
  displayName?: string;
  state?: string;
  createTime?: string;
  startTime?: string;
  endTime?: string;
  error?: { code?: number; message?: string };
  labels?: Record<string, string>;
  pipelineSpec?: { pipelineInfo?: { name?: string } };
  jobDetail?: {
    taskDetails?: Array<{
      taskId?: string;
      parentTaskId?: string;
      taskName?: string;
      state?: string;
      startTime?: string;
      endTime?: string;
      error?: { message?: string };
    }>;
  };
}

const RUN_STATES: Record<string, ManagedRunState> = {
  PIPELINE_STATE_QUEUED: "queued",
  PIPELINE_STATE_PENDING: "pending",
  PIPELINE_STATE_RUNNING: "running",
  PIPELINE_STATE_SUCCEEDED: "succeeded",
  PIPELINE_STATE_FAILED: "failed",
  PIPELINE_STATE_CANCELLING: "cancelling",
  PIPELINE_STATE_CANCELLED: "cancelled",
  PIPELINE_STATE_PAUSED: "paused",
};

/** A PipelineJob resource as a ManagedRun; the root DAG task (no parent) is not one of the pipeline's tasks. */
export function managedRun(job: PipelineJobResource): ManagedRun {
  const name = job.name ?? "";
  const details = job.jobDetail?.taskDetails ?? [];
  const hasParents = details.some((t) => t.parentTaskId);
  const tasks: ManagedTaskState[] = details
    .filter((t) => !hasParents || t.parentTaskId)
    .map((t) => ({
      task: t.taskName ?? t.taskId ?? "?",
      state: (t.state ?? "STATE_UNSPECIFIED").toLowerCase(),
      startedAt: t.startTime ?? null,
      finishedAt: t.endTime ?? null,
      ...(t.error?.message ? { error: t.error.message } : {}),
    }));
  return {
    id: name.slice(name.lastIndexOf("/") + 1),
    name,
    pipeline: job.labels?.["telco-pipeline"] ?? job.pipelineSpec?.pipelineInfo?.name ?? job.displayName ?? "",
    state: RUN_STATES[job.state ?? ""] ?? "unknown",
    serviceState: job.state ?? "PIPELINE_STATE_UNSPECIFIED",
    createdAt: job.createTime ?? null,
    startedAt: job.startTime ?? null,
    finishedAt: job.endTime ?? null,
    ...(job.error?.message ? { error: job.error.message } : {}),
    tasks,
  };
}

/** The pipeline service port on Vertex AI Pipelines (platform/ports/pipeline-service.ts). */
export class VertexPipelineService implements PipelineService {
  readonly kind = "vertex" as const;
  private readonly location: VertexLocation;
  private readonly restOptions: VertexRestOptions;
  private readonly now: () => Date;
  private rest: VertexRest | undefined;

  /**
   * `rest`: base URL, token and fetch for every request (default VERTEX_API_ENDPOINT, ADC); `now`
   * stamps the pipelineJobId a planned run carries.
   */
  constructor(location: VertexLocation, rest: VertexRestOptions & { now?: () => Date } = {}) {
    this.location = location;
    const { now, ...restOptions } = rest;
    this.restOptions = restOptions;
    this.now = now ?? (() => new Date());
  }

  private client(): VertexRest {
    this.rest ??= new VertexRest(this.location, this.restOptions);
    return this.rest;
  }

  /**
   * projects.locations.pipelineJobs.list, newest first (`orderBy=create_time desc`), filtered on
   * `display_name` (the pipeline name this adapter submits jobs under). A job the list answer gives
   * without task details is read with pipelineJobs.get for them.
   */
  async listRuns(opts: { limit?: number; pipeline?: string } = {}): Promise<ManagedRun[]> {
    const limit = opts.limit ?? 20;
    const rest = this.client();
    const out: ManagedRun[] = [];
    let pageToken = "";
    do {
      const q = new URLSearchParams({
        pageSize: String(Math.min(limit - out.length, 100)),
        orderBy: "create_time desc",
      });
      if (opts.pipeline) q.set("filter", `display_name="${opts.pipeline.replace(/["\\]/g, "")}"`);
      if (pageToken) q.set("pageToken", pageToken);
      const page = (await rest.send(
        "GET",
        `${rest.apiBase}/v1/${locationParent(this.location)}/pipelineJobs?${q}`,
      )) as { pipelineJobs?: PipelineJobResource[]; nextPageToken?: string };
      for (const job of page.pipelineJobs ?? []) {
        if (out.length >= limit) break;
        const full =
          job.jobDetail || !job.name
            ? job
            : ((await rest.send("GET", `${rest.apiBase}/v1/${job.name}`)) as PipelineJobResource);
        out.push(managedRun(full));
      }
      pageToken = page.nextPageToken ?? "";
    } while (pageToken && out.length < limit);
    return out;
  }

  /** projects.locations.pipelineJobs.get; undefined on NOT_FOUND. */
  async getRun(id: string): Promise<ManagedRun | undefined> {
    const name = id.startsWith("projects/") ? id : `${locationParent(this.location)}/pipelineJobs/${id}`;
    const rest = this.client();
    try {
      return managedRun((await rest.send("GET", `${rest.apiBase}/v1/${name}`)) as PipelineJobResource);
    } catch (err) {
      if (err instanceof TelcoError && err.details?.status === 404) return undefined;
      throw err;
    }
  }

  private job(spec: PipelineJobSpec, jobId?: string): CreatePipelineJobRequest {
    return buildCreatePipelineJobRequest({
      jobId,
      location: this.location,
      pipelineName: spec.pipelineName,
      pipelineSpec: spec.pipelineSpec,
      parameterValues: spec.parameterValues,
      gcsOutputDirectory: spec.outputDirectory,
      serviceAccount: spec.serviceAccount,
      labels: spec.labels,
    });
  }

  planRun(spec: PipelineJobSpec): PlannedCall {
    // A job id fixed at planning time: a resend of the same call answers 409, not a second run.
    return {
      method: "PipelineService.createPipelineJob",
      request: this.job(spec, pipelineJobId(spec.pipelineName, this.now())),
    };
  }

  planSchedule(
    spec: PipelineJobSpec,
    cron: string,
    opts: { timeZone?: string; maxConcurrentRunCount?: number } = {},
  ): PlannedCall {
    return {
      method: "ScheduleService.createSchedule",
      request: buildCreateScheduleRequest(this.job(spec), cron, opts),
    };
  }

  /**
   * Sends a planned call over REST (projects.locations.pipelineJobs.create / schedules.create);
   * resolves with the created resource's name and state. Google's error answer becomes a TelcoError
   * (vertex-rest.ts) naming the status, the message and any field violations.
   */
  async execute(call: PlannedCall): Promise<Json> {
    const rest = this.client();
    const req = restRequestFor(rest.apiBase, call);
    const res = (await rest.send(req.method, req.url, JSON.stringify(req.body))) as Json;
    if (call.method === "PipelineService.createPipelineJob")
      return { name: res.name, state: res.state, displayName: res.displayName, createTime: res.createTime };
    return {
      name: res.name,
      state: res.state,
      displayName: res.displayName,
      cron: res.cron,
      nextRunTime: res.nextRunTime,
    };
  }
}

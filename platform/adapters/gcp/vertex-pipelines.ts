import type { PipelineJobSpec, PipelineService, PlannedCall } from "../../ports/pipeline-service.ts";
import { gcpPreflight } from "./preflight.ts";
import {
  locationParent,
  toProtoStruct,
  toProtoValue,
  type VertexLocation,
  vertexEndpoint,
  vertexId,
} from "./vertex-common.ts";

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

/** The gRPC client needs Struct/Value encoding for pipelineSpec and parameterValues. */
function toWire(job: CreatePipelineJobRequest["pipelineJob"]): Json {
  return {
    ...job,
    pipelineSpec: toProtoStruct(job.pipelineSpec),
    runtimeConfig: {
      gcsOutputDirectory: job.runtimeConfig.gcsOutputDirectory,
      parameterValues: Object.fromEntries(
        Object.entries(job.runtimeConfig.parameterValues).map(([k, v]) => [k, toProtoValue(v)]),
      ),
    },
  };
}

/** Sends CreatePipelineJob (needs Application Default Credentials); the client is imported lazily. */
export async function submitPipelineJob(
  location: VertexLocation,
  request: CreatePipelineJobRequest,
): Promise<Json> {
  await gcpPreflight({ endpoint: `https://${vertexEndpoint(location)}` });
  const { v1 } = await import("@google-cloud/aiplatform");
  const client = new v1.PipelineServiceClient({ apiEndpoint: vertexEndpoint(location) });
  try {
    const [job] = await client.createPipelineJob({
      ...request,
      pipelineJob: toWire(request.pipelineJob),
    } as never);
    return { name: job.name, state: job.state, displayName: job.displayName };
  } finally {
    await client.close();
  }
}

/** Sends CreateSchedule. */
export async function createVertexSchedule(
  location: VertexLocation,
  request: CreateScheduleRequest,
): Promise<Json> {
  await gcpPreflight({ endpoint: `https://${vertexEndpoint(location)}` });
  const { v1 } = await import("@google-cloud/aiplatform");
  const client = new v1.ScheduleServiceClient({ apiEndpoint: vertexEndpoint(location) });
  try {
    const s = request.schedule;
    const [schedule] = await client.createSchedule({
      parent: request.parent,
      schedule: {
        ...s,
        createPipelineJobRequest: {
          parent: s.createPipelineJobRequest.parent,
          pipelineJob: toWire(s.createPipelineJobRequest.pipelineJob),
        },
      },
    } as never);
    return { name: schedule.name, state: schedule.state, nextRunTime: schedule.nextRunTime };
  } finally {
    await client.close();
  }
}

/** The pipeline service port on Vertex AI Pipelines (platform/ports/pipeline-service.ts). */
export class VertexPipelineService implements PipelineService {
  readonly kind = "vertex" as const;
  private readonly location: VertexLocation;

  constructor(location: VertexLocation) {
    this.location = location;
  }

  private job(spec: PipelineJobSpec): CreatePipelineJobRequest {
    return buildCreatePipelineJobRequest({
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
    return { method: "PipelineService.createPipelineJob", request: this.job(spec) };
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

  async execute(call: PlannedCall): Promise<Json> {
    if (call.method === "PipelineService.createPipelineJob")
      return submitPipelineJob(this.location, call.request as CreatePipelineJobRequest);
    if (call.method === "ScheduleService.createSchedule")
      return createVertexSchedule(this.location, call.request as CreateScheduleRequest);
    throw new Error(`unknown Vertex AI Pipelines call ${call.method}`);
  }
}

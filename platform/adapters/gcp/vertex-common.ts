import { ConfigError } from "../../errors.ts";

/** Project/region pair every Vertex AI request needs. */
export interface VertexLocation {
  project: string;
  region: string;
}

/** Reads gcp.project / gcp.region from config, with an error naming the missing key. */
export function vertexLocation(gcp: { project?: string; region: string }): VertexLocation {
  if (!gcp.project)
    throw new ConfigError("gcp.project is not set", {
      hint: "Set gcp.project in telco.config.yaml or TELCO_GCP__PROJECT=my-project.",
    });
  return { project: gcp.project, region: gcp.region };
}

export function locationParent(loc: VertexLocation): string {
  return `projects/${loc.project}/locations/${loc.region}`;
}

/** Regional Vertex AI endpoint (the API is regional: requests to the wrong host fail). */
export function vertexEndpoint(loc: VertexLocation): string {
  return `${loc.region}-aiplatform.googleapis.com`;
}

/**
 * Vertex resource ids and labels allow only [a-z0-9_-], starting with a letter; maps any
 * local name onto that alphabet deterministically.
 */
export function vertexId(name: string): string {
  const id = name
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, "-")
    .replace(/^[^a-z]+/, "")
    .slice(0, 63);
  return id || "model";
}

/** Converts plain JSON into google.protobuf.Struct form (fields/…Value), as the gRPC client needs. */
export function toProtoStruct(obj: Record<string, unknown>): { fields: Record<string, ProtoValue> } {
  return { fields: Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, toProtoValue(v)])) };
}

export type ProtoValue =
  | { nullValue: "NULL_VALUE" }
  | { numberValue: number }
  | { stringValue: string }
  | { boolValue: boolean }
  | { listValue: { values: ProtoValue[] } }
  | { structValue: { fields: Record<string, ProtoValue> } };

export function toProtoValue(v: unknown): ProtoValue {
  if (v === null || v === undefined) return { nullValue: "NULL_VALUE" };
  if (typeof v === "number") return { numberValue: v };
  if (typeof v === "string") return { stringValue: v };
  if (typeof v === "boolean") return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(toProtoValue) } };
  return { structValue: toProtoStruct(v as Record<string, unknown>) };
}

/**
 * The documented error shape of every HTTP API of the platform (churn API, assistant, channels, portal):
 * `{ error: { code, message, field? } }`, with its JSON schema for the OpenAPI documents.
 */
export function errorBody(code: string, message: string, field?: string) {
  return { error: field === undefined ? { code, message } : { code, message, field } };
}

export const errorSchema = {
  type: "object",
  properties: {
    error: {
      type: "object",
      properties: { code: { type: "string" }, message: { type: "string" }, field: { type: "string" } },
      required: ["code", "message"],
    },
  },
} as const;

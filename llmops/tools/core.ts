import { createHash } from "node:crypto";
import { z } from "zod";
import { TelcoError } from "../../platform/errors.ts";
import type { Contract } from "../../platform/ports/crm.ts";
import type { Catalog } from "../../platform/ports/offers.ts";
import {
  type SystemName,
  SystemRejectedError,
  SystemUnavailableError,
} from "../../platform/ports/operator-systems.ts";
import type { OfferRules, SessionConsent, ToolAuditEvent, ToolDeps, ToolName, ToolSession } from "./types.ts";

/**
 * The machinery every tool shares: typed failures, the authorisation and consent checks, idempotency
 * keys, and the mapping of any thrown error to a `ToolError` (a turn never sees an exception).
 */

export const TOOL_ERROR_CODES = [
  /** No customer has been identified in this session. */
  "unauthenticated",
  /** The call named a customer other than the session's (refused and audited). */
  "forbidden",
  /** A side-effecting tool without a consent of this session for that exact subject. */
  "consent_required",
  /** apply_offer with an offer no decision of this session allowed. */
  "offer_not_allowed",
  /** schedule_technician with a slot this session did not offer. */
  "slot_not_offered",
  "not_found",
  "invalid_input",
  /** The thing exists but is not in a state the action applies to (e.g. a copy of a paid invoice). */
  "invalid_state",
  /** The tool does not apply to this customer (e.g. no internet contract to diagnose). */
  "not_applicable",
  "too_many_attempts",
  /** A system did not answer (down, timeout, 5xx, circuit open); `system` says which. */
  "system_unavailable",
  /** A system answered and refused; `system` says which. */
  "rejected",
  "internal",
] as const;
export type ToolErrorCode = (typeof TOOL_ERROR_CODES)[number];

/** Where a failure came from: one of the operator's systems, the churn model, the knowledge base, the rules. */
export type ToolErrorSource = SystemName | "churn" | "knowledge" | "rules";

export interface ToolError {
  code: ToolErrorCode;
  message: string;
  system?: ToolErrorSource;
  /** The input field that was wrong (invalid_input). */
  field?: string;
}

export const toolErrorSchema = z.object({
  code: z.enum(TOOL_ERROR_CODES),
  message: z.string(),
  system: z.enum(["crm", "billing", "network", "offers", "churn", "knowledge", "rules"]).optional(),
  field: z.string().optional(),
});

/** What an AI SDK tool returns to the model when the call failed (the same error as the record's). */
export const toolFailureOutputSchema = z.object({ ok: z.literal(false), error: toolErrorSchema });
export type ToolFailureOutput = z.infer<typeof toolFailureOutputSchema>;

/** A refusal or failure decided by the tool layer; `call()` turns it into `{ ok: false, error }`. */
export class ToolFailure extends Error {
  readonly code: ToolErrorCode;
  readonly system: ToolErrorSource | undefined;
  readonly field: string | undefined;
  constructor(code: ToolErrorCode, message: string, opts: { system?: ToolErrorSource; field?: string } = {}) {
    super(message);
    this.name = "ToolFailure";
    this.code = code;
    this.system = opts.system;
    this.field = opts.field;
  }
}

/** Maps anything thrown inside a tool to the typed error the dialogue explains. */
export function toToolError(err: unknown, fallbackSource?: ToolErrorSource): ToolError {
  if (err instanceof ToolFailure)
    return compact({ code: err.code, message: err.message, system: err.system, field: err.field });
  if (err instanceof SystemUnavailableError)
    return { code: "system_unavailable", message: err.message, system: err.system };
  if (err instanceof SystemRejectedError) {
    const code: ToolErrorCode = err.status === 404 ? "not_found" : "rejected";
    return { code, message: err.message, system: err.system };
  }
  if (err instanceof z.ZodError) {
    const issue = err.issues[0];
    const field = issue?.path.join(".") || undefined;
    return compact({
      code: "invalid_input",
      message: issue ? `${field ?? "input"}: ${issue.message}` : "invalid input",
      field,
    });
  }
  if (err instanceof TelcoError) {
    if (err.code === "system_unavailable") {
      const system = (err.details?.system as ToolErrorSource | undefined) ?? fallbackSource;
      return compact({ code: "system_unavailable", message: err.message, system });
    }
    if (err.code === "validation") {
      const field = typeof err.details?.field === "string" ? err.details.field : undefined;
      return compact({ code: "invalid_input", message: err.message, field });
    }
    if (err.code === "not_found")
      return compact({ code: "not_found", message: err.message, system: fallbackSource });
  }
  const message = err instanceof Error ? err.message : String(err);
  return compact({ code: "internal", message, system: fallbackSource });
}

function compact(e: ToolError): ToolError {
  const out: ToolError = { code: e.code, message: e.message };
  if (e.system !== undefined) out.system = e.system;
  if (e.field !== undefined) out.field = e.field;
  return out;
}

/**
 * Runs a call to a dependency that is not one of the four systems (churn model, knowledge base):
 * a failure that is not already typed becomes `system_unavailable` for that source.
 */
export async function viaService<T>(source: "churn" | "knowledge", fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ToolFailure || err instanceof SystemUnavailableError) throw err;
    throw new ToolFailure("system_unavailable", `${source} is unavailable: ${errorText(err)}`, {
      system: source,
    });
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Shared state of one toolbox: memoised reads that do not change within a conversation. */
export interface ToolboxShared {
  businessDate?: Promise<string>;
  catalog?: Promise<Catalog>;
}

/** What a tool's `run` sees: the dependencies, the session, and the checks every tool must use. */
export class ToolContext {
  readonly deps: ToolDeps;
  readonly session: ToolSession;
  readonly tool: ToolName;
  readonly #shared: ToolboxShared;

  constructor(deps: ToolDeps, session: ToolSession, tool: ToolName, shared: ToolboxShared) {
    this.deps = deps;
    this.session = session;
    this.tool = tool;
    this.#shared = shared;
  }

  get systems() {
    return this.deps.systems;
  }

  /**
   * The session's authenticated customer. A `requested` id that differs is refused (`forbidden`) and
   * audited; no customer yet is `unauthenticated`. Authorisation lives here, never in a prompt.
   */
  customer(requested?: string | null): string {
    const current = this.session.customer_id;
    if (!current) {
      this.audit({ kind: "refused", code: "unauthenticated", requested_customer_id: requested ?? undefined });
      throw new ToolFailure("unauthenticated", "no customer is authenticated in this session");
    }
    if (requested != null && requested !== "" && requested !== current) {
      this.audit({ kind: "refused", code: "forbidden", requested_customer_id: requested });
      throw new ToolFailure("forbidden", "this session may act only for its authenticated customer", {
        field: "customer_id",
      });
    }
    return current;
  }

  /** The consent of this session for `action` on exactly `subject`, or `consent_required`. */
  consent(action: SessionConsent["action"], subject: string): SessionConsent {
    const customer = this.session.customer_id;
    const found = this.session.consents.find(
      (c) => c.action === action && c.subject === subject && c.customer_id === customer,
    );
    if (!found) {
      this.audit({ kind: "refused", code: "consent_required", detail: { action, subject } });
      throw new ToolFailure(
        "consent_required",
        `no consent recorded in this session for ${action} ${subject}`,
        {
          field: "consent",
        },
      );
    }
    return found;
  }

  /** Idempotency key for a write done at most once per session, tool, customer and subject. */
  onceKey(subject: string): string {
    return idempotencyKey(
      this.session.session_id,
      this.tool,
      `${this.session.customer_id ?? "-"}:${subject}`,
    );
  }

  /**
   * Idempotency key for a write that may legitimately repeat in a session (a new line test after the
   * customer restarted the router): the counter advances only after a success, so retrying a failed or
   * interrupted call reuses the key and the system applies it once.
   */
  repeatableKey(subject: string): { key: string; done: () => void } {
    const counter = `${this.tool}:${this.session.customer_id ?? "-"}:${subject}`;
    const n = this.session.idempotency[counter] ?? 0;
    return {
      key: idempotencyKey(
        this.session.session_id,
        this.tool,
        `${this.session.customer_id ?? "-"}:${subject}#${n}`,
      ),
      done: () => {
        this.session.idempotency[counter] = n + 1;
      },
    };
  }

  businessDate(): Promise<string> {
    this.#shared.businessDate ??= this.systems.businessDate().catch((err) => {
      this.#shared.businessDate = undefined;
      throw err;
    });
    return this.#shared.businessDate;
  }

  catalog(): Promise<Catalog> {
    this.#shared.catalog ??= this.systems.offers.catalog().catch((err) => {
      this.#shared.catalog = undefined;
      throw err;
    });
    return this.#shared.catalog;
  }

  rules(): OfferRules {
    if (!this.deps.rules)
      throw new ToolFailure("internal", "the offers rules engine is not wired into the toolbox", {
        system: "rules",
      });
    return this.deps.rules;
  }

  /** An active contract of the session's customer: the one named, or the first `pick` accepts. */
  async contract(
    customerId: string,
    contractId: string | undefined,
    pick?: (c: Contract) => boolean,
  ): Promise<Contract> {
    const contracts = await this.systems.crm.listContracts(customerId);
    if (contractId) {
      const c = contracts.find((x) => x.contract_id === contractId);
      if (!c) {
        // Another customer's contract is indistinguishable from an unknown one on purpose.
        this.audit({ kind: "refused", code: "not_found", detail: { contract_id: contractId } });
        throw new ToolFailure("not_found", `contract ${contractId} is not one of this customer's`, {
          field: "contract_id",
        });
      }
      return c;
    }
    const active = contracts.filter((c) => c.status === "active");
    const c = pick ? active.find(pick) : active[0];
    if (!c) throw new ToolFailure("not_applicable", "the customer has no active contract this applies to");
    return c;
  }

  audit(event: Omit<ToolAuditEvent, "session_id" | "tool" | "customer_id" | "at">): void {
    emitAudit(this.deps, this.session, { ...event, tool: this.tool });
  }
}

export function emitAudit(
  deps: ToolDeps,
  session: ToolSession,
  event: Omit<ToolAuditEvent, "session_id" | "customer_id" | "at">,
): void {
  if (!deps.audit) return;
  try {
    deps.audit({
      ...event,
      session_id: session.session_id,
      customer_id: session.customer_id,
      at: new Date().toISOString(),
    });
  } catch {
    // An audit sink that throws must not break the turn it audits.
  }
}

/**
 * `tools:<session>:<tool>:<subject>`, the subject hashed when long or free text so keys stay short and
 * free of PII; the whole key hashed if a long session id would pass the systems' 200-character limit.
 */
export function idempotencyKey(sessionId: string, tool: string, subject: string): string {
  const s = subject.length > 64 || /[^\w.#:@-]/.test(subject) ? digest(subject) : subject;
  const key = `tools:${sessionId}:${tool}:${s}`;
  return key.length <= 200 ? key : `tools:${digest(key)}`;
}

/** sha256 of a canonical JSON form (sorted keys), 16 hex characters. */
export function digest(value: unknown): string {
  return createHash("sha256").update(canonicalJson(value)).digest("hex").slice(0, 16);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** Money rounded to cents (sums of floats otherwise print as 12.340000000000002). */
export function brl(n: number): number {
  return Math.round(n * 100) / 100;
}

/** Whole months from `from` to `to` (yyyy-mm-dd), counting a month once its day is reached. */
export function monthsBetween(from: string, to: string): number {
  const [y1, m1, d1] = from.slice(0, 10).split("-").map(Number);
  const [y2, m2, d2] = to.slice(0, 10).split("-").map(Number);
  let months = (y2 - y1) * 12 + (m2 - m1);
  if (d2 < d1) months -= 1;
  return Math.max(0, months);
}

/** First name only: enough to greet the customer, not enough to identify them. */
export function firstName(name: string): string {
  return name.trim().split(/\s+/)[0] ?? "";
}

/** Optional `customer_id` argument every customer-scoped tool accepts. */
export const customerIdArg = z
  .string()
  .min(1)
  .optional()
  .describe("Customer id (AUR-…); omit to use the authenticated customer. Any other customer is refused.");

export const money = z.number().describe("BRL");

/** One tool: its name, a one-line description for a model, zod input and output schemas, and its logic. */
export interface ToolDefinition<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType> {
  name: ToolName;
  description: string;
  input: I;
  output: O;
  /** Returns facts and ids (validated against `output`); refusals throw `ToolFailure`. */
  run(ctx: ToolContext, input: z.output<I>): Promise<z.input<O>>;
}

export function defineTool<I extends z.ZodType, O extends z.ZodType>(
  def: ToolDefinition<I, O>,
): ToolDefinition<I, O> {
  return def;
}

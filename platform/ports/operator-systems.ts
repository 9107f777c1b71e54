import { TelcoError } from "../errors.ts";
import type { BillingSystem } from "./billing.ts";
import type { CrmSystem } from "./crm.ts";
import type { NetworkSystem } from "./network.ts";
import type { OffersSystem } from "./offers.ts";

/**
 * The operator's four online systems, as the assistant's tools and `telco offers|interactions`
 * see them. Local profile: the sandbox of the simulated operator (`telco systems serve`, started by
 * `telco up`), reached over HTTP, or opened in-process when nothing answers at the configured URL.
 * Pointing `operator.systems.<name>.url` at an operator's real systems reuses the HTTP adapters.
 */
export type SystemName = "crm" | "billing" | "network" | "offers";

export const SYSTEM_NAMES: readonly SystemName[] = ["crm", "billing", "network", "offers"];

// WriteOptions lives below the four system ports (write-options.ts); re-exported for existing importers.
export type { WriteOptions } from "./write-options.ts";

export interface OperatorSystems {
  readonly crm: CrmSystem;
  readonly billing: BillingSystem;
  readonly network: NetworkSystem;
  readonly offers: OffersSystem;
  /** How the systems are reached: over HTTP, or the workspace sandbox opened in this process. */
  readonly mode: "http" | "in-process";
  /**
   * Today for the operator's business rules (yyyy-mm-dd). Real systems: the calendar date. The sandbox:
   * the simulated delivery's as-of date, so tenure, fidelity, due dates and outages agree with the data.
   */
  businessDate(): Promise<string>;
  close(): Promise<void>;
}

/** Why a system call failed without an answer from the system's business logic. */
export type UnavailableReason = "down" | "timeout" | "server_error" | "circuit_open";

/**
 * A system did not answer (down, timed out, 5xx, or its circuit breaker is open). Tools turn it
 * into a fact the dialogue can explain ("billing is unavailable right now"); it never crashes a turn.
 */
export class SystemUnavailableError extends TelcoError {
  readonly system: SystemName;
  readonly reason: UnavailableReason;
  constructor(
    system: SystemName,
    reason: UnavailableReason,
    message: string,
    opts: { cause?: unknown } = {},
  ) {
    super("system_unavailable", `${system} is unavailable (${reason}): ${message}`, {
      details: { system, reason },
      cause: opts.cause,
      hint: "Start the operator systems with `telco systems serve` (or `telco up`), or check operator.systems in the config.",
    });
    this.name = "SystemUnavailableError";
    this.system = system;
    this.reason = reason;
  }
}

/**
 * The system answered and refused the request (unknown id, invalid state, a rule of the system).
 * `status` is the HTTP status the system used (404, 409, 422…).
 */
export class SystemRejectedError extends TelcoError {
  readonly system: SystemName;
  readonly status: number;
  constructor(system: SystemName, status: number, code: string, message: string) {
    super(code, `${system}: ${message}`, { details: { system, status } });
    this.name = "SystemRejectedError";
    this.system = system;
    this.status = status;
  }
}

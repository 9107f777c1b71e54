import { randomInt } from "node:crypto";
import type {
  Cancellation,
  ConsentRecord,
  Contract,
  CrmSystem,
  CustomerProfile,
  Interaction,
  NewInteraction,
  Protocol,
} from "../ports/crm.ts";
import { SystemRejectedError, type WriteOptions } from "../ports/operator-systems.ts";
import { loadSandboxCatalog } from "./catalog.ts";
import type { SandboxStore } from "./store.ts";

const CODE_TTL_MS = 10 * 60_000;
const CODE_MAX_ATTEMPTS = 5;

export const INTERACTION_CHANNELS = ["chat", "whatsapp", "api", "cli", "phone", "store"] as const;
export const INTERACTION_OUTCOMES = [
  "resolved",
  "retained",
  "cancel_requested",
  "escalated",
  "visit_scheduled",
  "plan_changed",
  "invoice_copy_issued",
  "abandoned",
  "unresolved",
] as const;
export const SENTIMENTS = ["positive", "neutral", "negative"] as const;

export function reject(
  system: "crm" | "billing" | "network" | "offers",
  status: number,
  code: string,
  message: string,
) {
  return new SystemRejectedError(system, status, code, message);
}

const crmReject = (status: number, code: string, message: string) => reject("crm", status, code, message);

interface CustomerRow {
  customer_id: string;
  name: string;
  cpf: string;
  birth_date: string;
  phone: string;
  email: string | null;
  uf: string;
  city: string;
  cep: string;
  segment: string;
  signup_date: string;
  live: number;
}

interface InteractionRow extends Omit<Interaction, "offers_made"> {
  offers_made: string;
}

const CUSTOMER_SQL = `select c.customer_id, c.name, c.cpf, c.birth_date, c.phone, c.email, c.uf, c.city, c.cep,
  c.segment, c.signup_date,
  exists (select 1 from contracts k where k.customer_id = c.customer_id and k.status != 'cancelled') as live
  from customers c`;

function toProfile(r: CustomerRow): CustomerProfile {
  return {
    customer_id: r.customer_id,
    name: r.name,
    cpf: r.cpf,
    birth_date: r.birth_date,
    phone: r.phone,
    email: r.email,
    uf: r.uf,
    city: r.city,
    cep: r.cep,
    segment: r.segment,
    signup_date: r.signup_date,
    status: r.live ? "active" : "cancelled",
  };
}

function toInteraction(r: InteractionRow): Interaction {
  return {
    interaction_id: r.interaction_id,
    customer_id: r.customer_id,
    channel: r.channel,
    category: r.category,
    summary: r.summary,
    sentiment: r.sentiment,
    outcome: r.outcome,
    offers_made: JSON.parse(r.offers_made) as string[],
    offer_accepted: r.offer_accepted,
    protocol: r.protocol,
    session_id: r.session_id,
    created_at: r.created_at,
  };
}

/** Digits of a Brazilian phone without the country code or a trunk 0: "(11) 98765-4321", "+55 11 98765 4321". */
export function phoneDigits(phone: string): string {
  let d = phone.replace(/\D/g, "");
  if ((d.length === 12 || d.length === 13) && d.startsWith("55")) d = d.slice(2);
  if (d.length === 12 && d.startsWith("0")) d = d.slice(1);
  return d;
}

/** The sandbox CRM over the shared store. */
export class SandboxCrm implements CrmSystem {
  private readonly store: SandboxStore;
  constructor(store: SandboxStore) {
    this.store = store;
  }

  private customerRow(customerId: string): CustomerRow | undefined {
    return this.store.get<CustomerRow>(`${CUSTOMER_SQL} where c.customer_id = ?`, String(customerId));
  }

  /** The customer or a 404 refusal (for calls that need one). */
  requireCustomer(customerId: string): CustomerProfile {
    const r = this.customerRow(customerId);
    if (!r) throw crmReject(404, "customer_not_found", `no customer ${customerId}`);
    return toProfile(r);
  }

  async getCustomer(customerId: string): Promise<CustomerProfile | null> {
    const r = this.customerRow(customerId);
    return r ? toProfile(r) : null;
  }

  async findCustomer(query: { cpf?: string; phone?: string }): Promise<CustomerProfile | null> {
    if (query.cpf) {
      const digits = String(query.cpf).replace(/\D/g, "");
      if (digits.length !== 11) throw crmReject(422, "invalid_cpf", "cpf must have 11 digits");
      const r = this.store.get<CustomerRow>(`${CUSTOMER_SQL} where c.cpf_digits = ?`, digits);
      return r ? toProfile(r) : null;
    }
    if (query.phone) {
      const digits = phoneDigits(String(query.phone));
      if (digits.length < 10 || digits.length > 11)
        throw crmReject(422, "invalid_phone", "phone must have 10 or 11 digits (area code + number)");
      const r = this.store.get<CustomerRow>(`${CUSTOMER_SQL} where c.phone_digits = ?`, digits);
      return r ? toProfile(r) : null;
    }
    throw crmReject(422, "invalid_query", "give cpf or phone");
  }

  async verifyIdentity(query: { cpf: string; birth_date: string }): Promise<string | null> {
    const digits = String(query.cpf ?? "").replace(/\D/g, "");
    if (digits.length !== 11) throw crmReject(422, "invalid_cpf", "cpf must have 11 digits");
    if (!/^\d{4}-\d{2}-\d{2}$/.test(String(query.birth_date ?? "")))
      throw crmReject(422, "invalid_birth_date", "birth_date must be yyyy-mm-dd");
    const r = this.store.get<{ customer_id: string }>(
      "select customer_id from customers where cpf_digits = ? and birth_date = ?",
      digits,
      query.birth_date,
    );
    return r?.customer_id ?? null;
  }

  async issueLoginCode(
    customerId: string,
    opts: WriteOptions,
  ): Promise<{ code: string; expires_at: string }> {
    return this.store.idempotent("crm", "issueLoginCode", opts.idempotencyKey, { customerId }, () => {
      this.requireCustomer(customerId);
      const code = String(randomInt(0, 1_000_000)).padStart(6, "0");
      const wall = this.store.wallMs();
      const expiresAt = new Date(Date.parse(this.store.now()) + CODE_TTL_MS).toISOString();
      // A new code replaces the previous ones.
      this.store.run("update login_codes set used = 1 where customer_id = ? and used = 0", customerId);
      this.store.run(
        "insert into login_codes (customer_id, code, expires_at, expires_ms, issued_ms) values (?, ?, ?, ?, ?)",
        customerId,
        code,
        expiresAt,
        wall + CODE_TTL_MS,
        wall,
      );
      return { code, expires_at: expiresAt };
    });
  }

  async verifyLoginCode(customerId: string, code: string): Promise<boolean> {
    return this.store.transaction(() => {
      const row = this.store.get<{ rowid: number; code: string; expires_ms: number; attempts: number }>(
        "select rowid, code, expires_ms, attempts from login_codes where customer_id = ? and used = 0 order by issued_ms desc limit 1",
        String(customerId),
      );
      if (!row || row.expires_ms <= this.store.wallMs()) return false;
      if (row.code === String(code)) {
        this.store.run("update login_codes set used = 1 where rowid = ?", row.rowid);
        return true;
      }
      // Too many wrong codes burn the code (no brute force over 10^6 values).
      this.store.run(
        "update login_codes set attempts = attempts + 1, used = (attempts + 1 >= ?) where rowid = ?",
        CODE_MAX_ATTEMPTS,
        row.rowid,
      );
      return false;
    });
  }

  async listContracts(customerId: string): Promise<Contract[]> {
    this.requireCustomer(customerId);
    return this.store.all<Contract>(
      "select * from contracts where customer_id = ? order by start_date, contract_id",
      customerId,
    );
  }

  async listInteractions(
    customerId: string,
    opts: { since?: string; limit?: number } = {},
  ): Promise<Interaction[]> {
    this.requireCustomer(customerId);
    const limit = clampLimit(opts.limit, 50, 1000);
    return this.store
      .all<InteractionRow>(
        "select * from interactions where customer_id = ? and created_at >= ? order by created_at desc, seq desc limit ?",
        customerId,
        opts.since ?? "",
        limit,
      )
      .map(toInteraction);
  }

  async exportInteractions(opts: { since?: string } = {}): Promise<Interaction[]> {
    return this.store
      .all<InteractionRow>(
        "select * from interactions where origin = 'systems' and created_at >= ? order by created_at, seq",
        opts.since ?? "",
      )
      .map(toInteraction);
  }

  async recordInteraction(input: NewInteraction, opts: WriteOptions): Promise<Interaction> {
    return this.store.idempotent("crm", "recordInteraction", opts.idempotencyKey, input, () => {
      this.requireCustomer(input.customer_id);
      if (!(INTERACTION_CHANNELS as readonly string[]).includes(input.channel))
        throw crmReject(422, "invalid_channel", `channel must be one of ${INTERACTION_CHANNELS.join(", ")}`);
      if (!(INTERACTION_OUTCOMES as readonly string[]).includes(input.outcome))
        throw crmReject(422, "invalid_outcome", `outcome must be one of ${INTERACTION_OUTCOMES.join(", ")}`);
      if (!(SENTIMENTS as readonly string[]).includes(input.sentiment))
        throw crmReject(422, "invalid_sentiment", `sentiment must be one of ${SENTIMENTS.join(", ")}`);
      const offers = Array.isArray(input.offers_made) ? input.offers_made.map(String) : [];
      if (input.offer_accepted && !offers.includes(input.offer_accepted))
        throw crmReject(422, "offer_not_made", "offer_accepted must be one of offers_made");
      let protocol = input.protocol ?? null;
      if (protocol) {
        const p = this.store.get<{ customer_id: string }>(
          "select customer_id from protocols where protocol = ?",
          protocol,
        );
        if (!p || p.customer_id !== input.customer_id)
          throw crmReject(422, "unknown_protocol", `protocol ${protocol} is not one of this customer's`);
      } else {
        // Anatel RGC: every contact gets a protocol number.
        protocol = this.newProtocol(input.customer_id, "interaction", input.summary).protocol;
      }
      const n = this.store.nextSeq("interaction");
      const row: Interaction = {
        interaction_id: `INT-${String(n).padStart(9, "0")}`,
        customer_id: input.customer_id,
        channel: input.channel,
        category: String(input.category),
        summary: String(input.summary),
        sentiment: input.sentiment,
        outcome: input.outcome,
        offers_made: offers,
        offer_accepted: input.offer_accepted ?? null,
        protocol,
        session_id: input.session_id ?? null,
        created_at: this.store.now(),
      };
      this.store.run(
        "insert into interactions values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'systems', ?)",
        row.interaction_id,
        row.customer_id,
        row.channel,
        row.category,
        row.summary,
        row.sentiment,
        row.outcome,
        JSON.stringify(row.offers_made),
        row.offer_accepted,
        row.protocol,
        row.session_id,
        row.created_at,
        this.store.nextSeq("interaction_seq"),
      );
      return row;
    });
  }

  /** A new protocol number "AUR" + business date (yyyymmdd) + 8 digits; call inside a write. */
  private newProtocol(customerId: string, kind: string, summary: string): Protocol {
    const n = this.store.nextSeq("protocol");
    const p: Protocol = {
      protocol: `AUR${this.store.businessDate().replaceAll("-", "")}${String(n % 1e8).padStart(8, "0")}`,
      customer_id: customerId,
      kind,
      summary,
      created_at: this.store.now(),
    };
    this.store.run(
      "insert into protocols values (?, ?, ?, ?, ?)",
      p.protocol,
      p.customer_id,
      p.kind,
      p.summary,
      p.created_at,
    );
    return p;
  }

  async openProtocol(
    input: { customer_id: string; kind: string; summary: string },
    opts: WriteOptions,
  ): Promise<Protocol> {
    return this.store.idempotent("crm", "openProtocol", opts.idempotencyKey, input, () => {
      this.requireCustomer(input.customer_id);
      if (!input.kind) throw crmReject(422, "invalid_kind", "kind is required");
      return this.newProtocol(input.customer_id, String(input.kind), String(input.summary ?? ""));
    });
  }

  async recordConsent(
    input: Omit<ConsentRecord, "consent_id" | "given_at">,
    opts: WriteOptions,
  ): Promise<ConsentRecord> {
    return this.store.idempotent("crm", "recordConsent", opts.idempotencyKey, input, () => {
      this.requireCustomer(input.customer_id);
      for (const f of ["session_id", "action", "subject"] as const) {
        if (!input[f]) throw crmReject(422, `invalid_${f}`, `${f} is required`);
      }
      const c: ConsentRecord = {
        consent_id: `CNS-${String(this.store.nextSeq("consent")).padStart(9, "0")}`,
        customer_id: input.customer_id,
        session_id: String(input.session_id),
        action: String(input.action),
        subject: String(input.subject),
        given_at: this.store.now(),
      };
      this.store.run(
        "insert into consents values (?, ?, ?, ?, ?, ?)",
        c.consent_id,
        c.customer_id,
        c.session_id,
        c.action,
        c.subject,
        c.given_at,
      );
      return c;
    });
  }

  async getConsent(consentId: string): Promise<ConsentRecord | null> {
    return (
      this.store.get<ConsentRecord>("select * from consents where consent_id = ?", String(consentId)) ?? null
    );
  }

  async updateContactData(
    customerId: string,
    change: { phone?: string; email?: string; cep?: string },
    opts: WriteOptions,
  ): Promise<CustomerProfile> {
    return this.store.idempotent(
      "crm",
      "updateContactData",
      opts.idempotencyKey,
      { customerId, change },
      () => {
        this.requireCustomer(customerId);
        const sets: string[] = [];
        const values: string[] = [];
        if (change.phone !== undefined) {
          const d = phoneDigits(String(change.phone));
          if (!/^[1-9][0-9]9[0-9]{8}$/.test(d))
            throw crmReject(
              422,
              "invalid_phone",
              "phone must be a Brazilian mobile: area code + 9 + 8 digits",
            );
          sets.push("phone = ?", "phone_digits = ?");
          values.push(`(${d.slice(0, 2)}) ${d.slice(2, 7)}-${d.slice(7)}`, d);
        }
        if (change.email !== undefined) {
          const e = String(change.email).trim();
          if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(e) || e.length > 254)
            throw crmReject(422, "invalid_email", "email is not a valid address");
          sets.push("email = ?");
          values.push(e.toLowerCase());
        }
        if (change.cep !== undefined) {
          const d = String(change.cep).replace(/\D/g, "");
          if (d.length !== 8) throw crmReject(422, "invalid_cep", "cep must have 8 digits");
          sets.push("cep = ?");
          values.push(`${d.slice(0, 5)}-${d.slice(5)}`);
        }
        if (!sets.length) throw crmReject(422, "empty_change", "give phone, email or cep");
        this.store.run(
          `update customers set ${sets.join(", ")} where customer_id = ?`,
          ...values,
          customerId,
        );
        return this.requireCustomer(customerId);
      },
    );
  }

  async requestCancellation(
    input: { customer_id: string; contract_ids?: string[]; reason: string },
    opts: WriteOptions,
  ): Promise<Cancellation> {
    return this.store.idempotent("crm", "requestCancellation", opts.idempotencyKey, input, () => {
      this.requireCustomer(input.customer_id);
      const contracts = this.store.all<{ contract_id: string; status: string }>(
        "select contract_id, status from contracts where customer_id = ?",
        input.customer_id,
      );
      const owned = new Map(contracts.map((c) => [c.contract_id, c.status]));
      let ids: string[];
      if (input.contract_ids?.length) {
        for (const id of input.contract_ids) {
          if (!owned.has(id))
            throw crmReject(422, "contract_not_owned", `contract ${id} is not one of this customer's`);
        }
        ids = input.contract_ids.filter((id) => owned.get(id) === "active" || owned.get(id) === "suspended");
      } else {
        ids = contracts
          .filter((c) => c.status === "active" || c.status === "suspended")
          .map((c) => c.contract_id);
      }
      if (!ids.length) {
        const earlier = this.store.get<{ protocol: string; effective_by: string }>(
          "select protocol, effective_by from cancellations where customer_id = ? order by requested_at desc limit 1",
          input.customer_id,
        );
        throw crmReject(
          409,
          "nothing_to_cancel",
          earlier
            ? `cancellation already registered under protocol ${earlier.protocol}, effective by ${earlier.effective_by}`
            : "no active contract left to cancel",
        );
      }
      const reason = String(input.reason ?? "").trim() || "not informed";
      const protocol = this.newProtocol(
        input.customer_id,
        "cancellation",
        `cancellation requested: ${reason}`,
      );
      const hours = loadSandboxCatalog().cancellationHours;
      const effective = new Date(Date.parse(protocol.created_at) + hours * 3_600_000).toISOString();
      for (const id of ids) {
        this.store.run(
          "update contracts set status = 'cancel_requested', cancel_date = ?, cancel_reason = ? where contract_id = ?",
          effective.slice(0, 10),
          reason,
          id,
        );
      }
      const c: Cancellation = {
        customer_id: input.customer_id,
        contract_ids: ids,
        protocol: protocol.protocol,
        reason,
        requested_at: protocol.created_at,
        effective_by: effective,
      };
      this.store.run(
        "insert into cancellations values (?, ?, ?, ?, ?, ?)",
        c.protocol,
        c.customer_id,
        JSON.stringify(c.contract_ids),
        c.reason,
        c.requested_at,
        c.effective_by,
      );
      return c;
    });
  }
}

export function clampLimit(v: unknown, dflt: number, max: number): number {
  const n = v === undefined || v === null ? dflt : Number(v);
  if (!Number.isInteger(n) || n < 1) return dflt;
  return Math.min(n, max);
}

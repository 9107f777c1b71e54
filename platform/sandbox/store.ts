import { createHash } from "node:crypto";
import { existsSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { NotFoundError, TelcoError } from "../errors.ts";
import { type SystemName, SystemRejectedError } from "../ports/operator-systems.ts";

/** Bumped when the tables change; a reset recreates them. */
export const SANDBOX_SCHEMA_VERSION = "1";

const SCHEMA = `
create table if not exists meta (key text primary key, value text not null) without rowid;
create table if not exists counters (name text primary key, value integer not null) without rowid;
create table if not exists idempotency (
  system text not null, key text not null, op text not null, request_hash text not null,
  response text not null, created_at text not null, primary key (system, key)) without rowid;
create table if not exists customers (
  customer_id text primary key, name text not null, cpf text not null, cpf_digits text not null,
  birth_date text not null, phone text not null, phone_digits text not null, email text,
  uf text not null, city text not null, cep text not null, segment text not null, signup_date text not null);
create index if not exists customers_cpf on customers (cpf_digits);
create index if not exists customers_phone on customers (phone_digits);
create table if not exists contracts (
  contract_id text primary key, customer_id text not null, plan_id text not null, product text not null,
  start_date text not null, fidelity_months integer not null, fidelity_end_date text,
  fidelity_fine_brl real not null, monthly_price_brl real not null, status text not null,
  cancel_date text, cancel_reason text);
create index if not exists contracts_customer on contracts (customer_id);
create table if not exists interactions (
  interaction_id text primary key, customer_id text not null, channel text not null, category text not null,
  summary text not null, sentiment text not null, outcome text not null, offers_made text not null,
  offer_accepted text, protocol text, session_id text, created_at text not null, origin text not null,
  seq integer not null);
create index if not exists interactions_customer on interactions (customer_id, created_at);
create index if not exists interactions_created on interactions (origin, created_at);
create table if not exists protocols (
  protocol text primary key, customer_id text not null, kind text not null, summary text not null,
  created_at text not null);
create index if not exists protocols_customer on protocols (customer_id);
create table if not exists consents (
  consent_id text primary key, customer_id text not null, session_id text not null, action text not null,
  subject text not null, given_at text not null);
create table if not exists login_codes (
  customer_id text not null, code text not null, expires_at text not null, expires_ms integer not null,
  attempts integer not null default 0, used integer not null default 0, issued_ms integer not null);
create index if not exists login_codes_customer on login_codes (customer_id);
create table if not exists cancellations (
  protocol text primary key, customer_id text not null, contract_ids text not null, reason text not null,
  requested_at text not null, effective_by text not null);
create table if not exists invoices (
  invoice_id text primary key, customer_id text not null, contract_id text not null,
  reference_month text not null, issue_date text not null, due_date text not null, amount_brl real not null,
  discount_brl real not null, tax_brl real not null, status text not null);
create index if not exists invoices_customer on invoices (customer_id, reference_month);
create table if not exists invoice_items (
  invoice_id text not null, line_no integer not null, item_type text not null, description text not null,
  amount_brl real not null, primary key (invoice_id, line_no)) without rowid;
create table if not exists payments (
  payment_id text primary key, invoice_id text not null, customer_id text not null, due_date text not null,
  paid_date text, amount_brl real not null, method text not null, days_late integer);
create index if not exists payments_customer on payments (customer_id, due_date);
create table if not exists disputes (
  dispute_id text primary key, invoice_id text not null, customer_id text not null, opened_date text not null,
  reason text not null, status text not null, resolved_date text);
create index if not exists disputes_customer on disputes (customer_id);
create table if not exists invoice_copies (
  copy_id text primary key, invoice_id text not null, customer_id text not null, body text not null,
  issued_at text not null);
create table if not exists usage (
  customer_id text not null, month text not null, data_gb real not null, voice_minutes integer not null,
  sms integer not null, roaming_mb real not null, primary key (customer_id, month)) without rowid;
create table if not exists outages (
  outage_id text primary key, uf text not null, city text, started_at text not null, ended_at text,
  eta text, cause text not null, affected_product text not null);
create index if not exists outages_region on outages (uf, started_at);
create table if not exists line_status (
  customer_id text not null, contract_id text primary key, line text not null, ont text not null,
  last_change_at text not null, line_test text not null, line_test_details text not null);
create table if not exists speed_tests (
  customer_id text not null, measured_at text not null, download_mbps real not null,
  contracted_mbps real, latency_ms real not null, packet_loss_pct real not null);
create index if not exists speed_tests_customer on speed_tests (customer_id, measured_at);
create table if not exists line_tests (
  test_id text primary key, customer_id text not null, result text not null, details text not null,
  ran_at text not null);
create table if not exists bookings (
  booking_id text primary key, customer_id text not null, slot_id text not null, date text not null,
  window text not null, reason text not null, status text not null, created_at text not null);
create index if not exists bookings_customer on bookings (customer_id);
create index if not exists bookings_slot on bookings (slot_id, status);
create table if not exists decisions (
  decision_id text primary key, customer_id text not null, session_id text, rules_version text not null,
  churn_model_version text, inputs text not null, allowed text not null, rejected text not null,
  created_at text not null);
create index if not exists decisions_customer on decisions (customer_id, created_at);
create table if not exists applied_offers (
  application_id text primary key, customer_id text not null, contract_id text not null, offer_id text not null,
  decision_id text not null, consent_id text not null, status text not null, applied_at text not null,
  ends_at text not null);
create index if not exists applied_offers_customer on applied_offers (customer_id);
create table if not exists plan_changes (
  change_id text primary key, customer_id text not null, contract_id text not null, from_plan_id text not null,
  to_plan_id text not null, consent_id text not null, old_price_brl real not null, new_price_brl real not null,
  effective_at text not null);
create index if not exists plan_changes_customer on plan_changes (customer_id);
`;

/** Every data table (cleared by a reseed). */
export const SANDBOX_TABLES = [
  "counters",
  "idempotency",
  "customers",
  "contracts",
  "interactions",
  "protocols",
  "consents",
  "login_codes",
  "cancellations",
  "invoices",
  "invoice_items",
  "payments",
  "disputes",
  "invoice_copies",
  "usage",
  "outages",
  "line_status",
  "speed_tests",
  "line_tests",
  "bookings",
  "decisions",
  "applied_offers",
  "plan_changes",
] as const;

export type Row = Record<string, SQLInputValue>;

export interface SandboxStoreOptions {
  /** Wall clock (tests inject one); the sandbox's time of day and code expiry follow it. */
  clock?: () => Date;
  /** Create the file and tables when missing (seeding); reading commands open an existing store only. */
  create?: boolean;
}

/**
 * The sandbox's one store: a node:sqlite file in WAL mode with a busy timeout, so a second process
 * (`telco interactions list` beside `telco up`) reads and writes safely. Writes run in
 * `BEGIN IMMEDIATE` transactions that also record their idempotency key.
 */
export class SandboxStore {
  readonly path: string;
  readonly db: DatabaseSync;
  private readonly clock: () => Date;
  private readonly statements = new Map<string, StatementSync>();
  private closed = false;

  private constructor(path: string, db: DatabaseSync, clock: () => Date) {
    this.path = path;
    this.db = db;
    this.clock = clock;
  }

  static open(path: string, opts: SandboxStoreOptions = {}): SandboxStore {
    if (!opts.create && !existsSync(path)) throw notSeeded(path);
    mkdirSync(dirname(path), { recursive: true });
    const db = new DatabaseSync(path, { timeout: 10_000 });
    try {
      db.exec("pragma journal_mode = wal; pragma synchronous = normal; pragma busy_timeout = 10000;");
      if (opts.create) db.exec(SCHEMA);
    } catch (err) {
      db.close();
      throw new TelcoError(
        "sandbox_store",
        `cannot open the sandbox store ${path}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    const store = new SandboxStore(path, db, opts.clock ?? (() => new Date()));
    if (!opts.create && !store.isSeeded()) {
      store.close();
      throw notSeeded(path);
    }
    return store;
  }

  /** Creates missing tables; when the schema version changed, drops and recreates them all. */
  ensureSchema(): void {
    const hasMeta = this.db
      .prepare("select 1 from sqlite_master where type = 'table' and name = 'meta'")
      .get();
    const version = hasMeta ? this.meta("schema_version") : undefined;
    if (version !== undefined && version !== SANDBOX_SCHEMA_VERSION) {
      this.statements.clear();
      for (const t of ["meta", ...SANDBOX_TABLES]) this.db.exec(`drop table if exists ${t}`);
    }
    this.db.exec(SCHEMA);
  }

  isSeeded(): boolean {
    try {
      return this.meta("business_date") !== undefined;
    } catch {
      return false;
    }
  }

  /** A prepared statement, cached per SQL text. */
  stmt(sql: string): StatementSync {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  get<T>(sql: string, ...params: SQLInputValue[]): T | undefined {
    return this.stmt(sql).get(...params) as T | undefined;
  }

  all<T>(sql: string, ...params: SQLInputValue[]): T[] {
    return this.stmt(sql).all(...params) as T[];
  }

  run(sql: string, ...params: SQLInputValue[]): void {
    this.stmt(sql).run(...params);
  }

  meta(key: string): string | undefined {
    return this.get<{ value: string }>("select value from meta where key = ?", key)?.value;
  }

  setMeta(key: string, value: string): void {
    this.run(
      "insert into meta (key, value) values (?, ?) on conflict (key) do update set value = excluded.value",
      key,
      value,
    );
  }

  /** The sandbox's business date (yyyy-mm-dd): the seeded delivery's as-of. */
  businessDate(): string {
    const d = this.meta("business_date");
    if (!d) throw notSeeded(this.path);
    return d;
  }

  /** Wall-clock milliseconds (for expiries measured in real time, such as login codes). */
  wallMs(): number {
    return this.clock().getTime();
  }

  /** The sandbox's "now": the business date at the wall clock's time of day (UTC), ISO 8601. */
  now(): string {
    return `${this.businessDate()}T${this.clock().toISOString().slice(11)}`;
  }

  /** Next value of a named sequence (call inside a write transaction). */
  nextSeq(name: string): number {
    const row = this.get<{ value: number }>(
      "insert into counters (name, value) values (?, 1) on conflict (name) do update set value = value + 1 returning value",
      name,
    );
    return (row as { value: number }).value;
  }

  /** Runs `fn` in one `BEGIN IMMEDIATE` transaction (waits for a writer in another process). */
  transaction<T>(fn: () => T): T {
    this.db.exec("begin immediate");
    try {
      const out = fn();
      this.db.exec("commit");
      return out;
    } catch (err) {
      if (this.db.isTransaction) this.db.exec("rollback");
      throw err;
    }
  }

  /**
   * One idempotent write: the same (system, key) returns the stored result without applying the
   * write again; the same key on another operation or with another request is refused (409).
   * The check, the write and the key are one transaction, so two processes cannot both apply it.
   */
  idempotent<T>(system: SystemName, op: string, key: string, request: unknown, fn: () => T): T {
    if (typeof key !== "string" || key.length < 1 || key.length > 200) {
      throw new SystemRejectedError(
        system,
        400,
        "invalid_idempotency_key",
        "an idempotency key of 1 to 200 characters is required on every write",
      );
    }
    const hash = createHash("sha256").update(canonicalJson(request)).digest("hex");
    return this.transaction(() => {
      const seen = this.get<{ op: string; request_hash: string; response: string }>(
        "select op, request_hash, response from idempotency where system = ? and key = ?",
        system,
        key,
      );
      if (seen) {
        if (seen.op !== op || seen.request_hash !== hash) {
          throw new SystemRejectedError(
            system,
            409,
            "idempotency_key_reused",
            `idempotency key "${key}" was already used for a different request (${seen.op})`,
          );
        }
        return JSON.parse(seen.response) as T;
      }
      const result = fn();
      this.run(
        "insert into idempotency (system, key, op, request_hash, response, created_at) values (?, ?, ?, ?, ?, ?)",
        system,
        key,
        op,
        hash,
        JSON.stringify(result),
        this.now(),
      );
      return result;
    });
  }

  /** Row counts of the main tables (for `telco systems status`). */
  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const t of SANDBOX_TABLES) {
      if (t === "counters" || t === "idempotency" || t === "login_codes") continue;
      out[t] = (this.get<{ n: number }>(`select count(*) as n from ${t}`) as { n: number }).n;
    }
    return out;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.statements.clear();
    this.db.close();
  }
}

function notSeeded(path: string): NotFoundError {
  return new NotFoundError(`operator systems sandbox (${path})`, {
    hint: "The sandbox was never seeded: run `telco up` or `telco systems reset`.",
    details: { code: "sandbox_not_seeded" },
  });
}

/** JSON with sorted object keys, so the same request hashes the same whatever the key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

/** Money rounded to cents. */
export function cents(v: number): number {
  return Math.round(v * 100) / 100;
}

/** yyyy-mm-dd plus `days` days. */
export function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** yyyy-mm-dd plus `months` months (day clamped to the month's end). */
export function addMonths(date: string, months: number): string {
  const [y, m, day] = date.split("-").map(Number) as [number, number, number];
  const first = new Date(Date.UTC(y, m - 1 + months, 1));
  const last = new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + 1, 0)).getUTCDate();
  first.setUTCDate(Math.min(day, last));
  return first.toISOString().slice(0, 10);
}

/** Whole days from `a` to `b` (yyyy-mm-dd). */
export function daysBetween(a: string, b: string): number {
  return Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / 86_400_000);
}

/** A stable unsigned 32-bit hash of a string (scenario overlays pick customers by it). */
export function hash32(s: string): number {
  return createHash("md5").update(s).digest().readUInt32BE(0);
}

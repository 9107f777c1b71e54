import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { TelcoError } from "../../errors.ts";
import type {
  ChannelStore,
  ContactRecord,
  DeliveryStatusRecord,
  InboundRecord,
  InboundStatus,
  NewOutbox,
  OutboundMessage,
  OutboxRecord,
  OutboxStatus,
} from "../../ports/messaging.ts";

/**
 * The messaging channels' state in one SQLite file beside the assistant sessions
 * (`<paths.assistant>/channels.sqlite`, WAL): inbound ids (the webhook's idempotency), the outbox,
 * contacts and status callbacks. Survives a restart; JSON payloads are text columns.
 */
export class SqliteChannelStore implements ChannelStore {
  readonly path: string;
  private readonly db: DatabaseSync;
  private readonly s: Record<string, StatementSync>;

  private constructor(path: string, db: DatabaseSync) {
    this.path = path;
    this.db = db;
    this.s = {
      claim: db.prepare(
        `insert into inbound (channel, message_id, contact, sent_at, received_at, payload, status, note)
         values (?, ?, ?, ?, ?, ?, 'received', null) on conflict do nothing`,
      ),
      getInbound: db.prepare("select * from inbound where channel = ? and message_id = ?"),
      setInbound: db.prepare("update inbound set status = ?, note = ? where channel = ? and message_id = ?"),
      listInbound: db.prepare(
        "select * from inbound where channel = ? and status = ? order by sent_at, received_at, rowid",
      ),
      getContact: db.prepare("select * from contacts where channel = ? and contact = ?"),
      saveContact: db.prepare(
        `insert into contacts (channel, contact, last_inbound_at, generation, session_id, trusted_customer_id,
           verified_customer_id, verified_at, template_for, updated_at)
         values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         on conflict (channel, contact) do update set last_inbound_at = excluded.last_inbound_at,
           generation = excluded.generation, session_id = excluded.session_id,
           trusted_customer_id = excluded.trusted_customer_id, verified_customer_id = excluded.verified_customer_id,
           verified_at = excluded.verified_at, template_for = excluded.template_for, updated_at = excluded.updated_at`,
      ),
      addOutbox: db.prepare(
        `insert into outbox (outbox_id, channel, contact, inbound_id, message, status, attempts,
           provider_message_id, delivery_status, last_error, created_at, updated_at)
         values (?, ?, ?, ?, ?, 'pending', 0, null, null, null, ?, ?) on conflict do nothing`,
      ),
      outboxContacts: db.prepare(
        "select distinct contact from outbox where channel = ? and status = ? order by contact",
      ),
      statusInsert: db.prepare(
        `insert into statuses (channel, provider_message_id, status, contact, at, error_code, error_title, payload)
         values (?, ?, ?, ?, ?, ?, ?, ?) on conflict do nothing`,
      ),
      statusOutbox: db.prepare(
        "update outbox set delivery_status = ? where channel = ? and provider_message_id = ?",
      ),
      statusesAll: db.prepare("select * from statuses where channel = ? order by rowid"),
      statusesOf: db.prepare(
        "select * from statuses where channel = ? and provider_message_id = ? order by rowid",
      ),
    };
  }

  /** Opens (creating) the store in the assistant folder of the workspace. */
  static open(assistantDir: string): SqliteChannelStore {
    mkdirSync(assistantDir, { recursive: true });
    const path = join(assistantDir, "channels.sqlite");
    const db = new DatabaseSync(path, { timeout: 5000 });
    db.exec("pragma journal_mode = wal; pragma synchronous = normal;");
    db.exec(`
      create table if not exists inbound (
        channel text not null, message_id text not null, contact text not null, sent_at text not null,
        received_at text not null, payload text not null, status text not null, note text,
        primary key (channel, message_id)
      );
      create index if not exists inbound_status on inbound (channel, status);
      create table if not exists contacts (
        channel text not null, contact text not null, last_inbound_at text, generation integer not null,
        session_id text, trusted_customer_id text, verified_customer_id text, verified_at text,
        template_for text, updated_at text not null, primary key (channel, contact)
      );
      create table if not exists outbox (
        seq integer primary key autoincrement, outbox_id text not null unique, channel text not null,
        contact text not null, inbound_id text, message text not null, status text not null,
        attempts integer not null, provider_message_id text, delivery_status text, last_error text,
        created_at text not null, updated_at text not null
      );
      create index if not exists outbox_contact on outbox (channel, contact, status, seq);
      create index if not exists outbox_provider on outbox (channel, provider_message_id);
      create table if not exists statuses (
        channel text not null, provider_message_id text not null, status text not null, contact text not null,
        at text not null, error_code integer, error_title text, payload text not null
      );
      create unique index if not exists statuses_once on statuses (channel, provider_message_id, status, at);
    `);
    return new SqliteChannelStore(path, db);
  }

  async claimInbound(r: Omit<InboundRecord, "status" | "note">): Promise<boolean> {
    const res = this.s.claim.run(
      r.channel,
      r.message_id,
      r.contact,
      r.sent_at,
      r.received_at,
      JSON.stringify(r.payload),
    );
    return Number(res.changes) === 1;
  }

  async getInbound(channel: string, messageId: string): Promise<InboundRecord | null> {
    const row = this.s.getInbound.get(channel, messageId) as InboundRow | undefined;
    return row ? toInbound(row) : null;
  }

  async setInboundStatus(
    channel: string,
    messageId: string,
    status: InboundStatus,
    note?: string,
  ): Promise<void> {
    this.s.setInbound.run(status, note ?? null, channel, messageId);
  }

  async listInbound(channel: string, status: InboundStatus): Promise<InboundRecord[]> {
    return (this.s.listInbound.all(channel, status) as unknown as InboundRow[]).map(toInbound);
  }

  async getContact(channel: string, contact: string): Promise<ContactRecord | null> {
    const row = this.s.getContact.get(channel, contact) as ContactRecord | undefined;
    return row ? { ...row } : null;
  }

  async saveContact(c: ContactRecord): Promise<void> {
    this.s.saveContact.run(
      c.channel,
      c.contact,
      c.last_inbound_at,
      c.generation,
      c.session_id,
      c.trusted_customer_id,
      c.verified_customer_id,
      c.verified_at,
      c.template_for,
      c.updated_at,
    );
  }

  async addOutbox(records: NewOutbox[], now: string): Promise<void> {
    if (records.length === 0) return;
    this.db.exec("begin immediate");
    try {
      for (const r of records)
        this.s.addOutbox.run(
          r.outbox_id,
          r.channel,
          r.contact,
          r.inbound_id,
          JSON.stringify(r.message),
          now,
          now,
        );
      this.db.exec("commit");
    } catch (err) {
      this.db.exec("rollback");
      throw err;
    }
  }

  async listOutbox(channel: string, contact: string, statuses: OutboxStatus[]): Promise<OutboxRecord[]> {
    if (statuses.length === 0) return [];
    const marks = statuses.map(() => "?").join(", ");
    const rows = this.db
      .prepare(`select * from outbox where channel = ? and contact = ? and status in (${marks}) order by seq`)
      .all(channel, contact, ...statuses) as unknown as OutboxRow[];
    return rows.map(toOutbox);
  }

  async contactsWithOutbox(channel: string, status: OutboxStatus): Promise<string[]> {
    return (this.s.outboxContacts.all(channel, status) as { contact: string }[]).map((r) => r.contact);
  }

  async updateOutbox(
    outboxId: string,
    change: Partial<Pick<OutboxRecord, "status" | "attempts" | "provider_message_id" | "last_error">>,
    now: string,
  ): Promise<void> {
    const sets: string[] = [];
    const values: (string | number | null)[] = [];
    for (const key of ["status", "attempts", "provider_message_id", "last_error"] as const) {
      if (change[key] === undefined) continue;
      sets.push(`${key} = ?`);
      values.push(change[key] as string | number | null);
    }
    sets.push("updated_at = ?");
    values.push(now);
    this.db.prepare(`update outbox set ${sets.join(", ")} where outbox_id = ?`).run(...values, outboxId);
  }

  async recordStatus(r: DeliveryStatusRecord): Promise<void> {
    this.s.statusInsert.run(
      r.channel,
      r.provider_message_id,
      r.status,
      r.contact,
      r.at,
      r.error_code,
      r.error_title,
      JSON.stringify(r.payload),
    );
    this.s.statusOutbox.run(r.status, r.channel, r.provider_message_id);
  }

  async listStatuses(channel: string, providerMessageId?: string): Promise<DeliveryStatusRecord[]> {
    const rows = (providerMessageId === undefined
      ? this.s.statusesAll.all(channel)
      : this.s.statusesOf.all(channel, providerMessageId)) as unknown as StatusRow[];
    return rows.map((r) => ({ ...r, payload: parseObject(r.payload, `status of ${r.provider_message_id}`) }));
  }

  async close(): Promise<void> {
    if (this.db.isOpen) this.db.close();
  }
}

interface InboundRow extends Omit<InboundRecord, "payload"> {
  payload: string;
}
interface OutboxRow extends Omit<OutboxRecord, "message"> {
  message: string;
}
interface StatusRow extends Omit<DeliveryStatusRecord, "payload"> {
  payload: string;
}

function toInbound(row: InboundRow): InboundRecord {
  return { ...row, payload: parseObject(row.payload, `inbound ${row.message_id}`) };
}

function toOutbox(row: OutboxRow): OutboxRecord {
  return {
    ...row,
    message: parseObject(row.message, `outbox ${row.outbox_id}`) as unknown as OutboundMessage,
  };
}

function parseObject(text: string, what: string): Record<string, unknown> {
  try {
    const v = JSON.parse(text) as unknown;
    if (v && typeof v === "object" && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new TelcoError("corrupt_channel_store", `${what}: stored JSON is not an object`, {
    hint: "Delete the row or the channels store under the workspace's assistant folder.",
  });
}

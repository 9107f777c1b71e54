import type {
  Booking,
  LineStatus,
  LineTest,
  NetworkSystem,
  Outage,
  SpeedTest,
  TechnicianSlot,
} from "../ports/network.ts";
import type { WriteOptions } from "../ports/operator-systems.ts";
import { loadSandboxCatalog } from "./catalog.ts";
import { clampLimit, reject } from "./crm.ts";
import { addDays, hash32, type SandboxStore } from "./store.ts";

const netReject = (status: number, code: string, message: string) => reject("network", status, code, message);

/** How far ahead technician visits can be booked. */
export const MAX_SLOT_DAYS = 14;
const FIXED_PRODUCTS = new Set(["fibra", "combo", "tv"]);
/** National holidays (mm-dd) without technician visits. */
const HOLIDAYS = new Set(["01-01", "04-21", "05-01", "09-07", "10-12", "11-02", "11-15", "11-20", "12-25"]);
const SLOT_RE = /^SLT-(\d{8})-(\d)-([A-Z]{2})-([0-9a-f]{8})$/;

interface OutageRow {
  outage_id: string;
  uf: string;
  city: string | null;
  started_at: string;
  ended_at: string | null;
  eta: string | null;
  cause: string;
  affected_product: string;
}

/** The sandbox network/OSS over the shared store. */
export class SandboxNetwork implements NetworkSystem {
  private readonly store: SandboxStore;
  constructor(store: SandboxStore) {
    this.store = store;
  }

  private customer(customerId: string): { customer_id: string; uf: string; city: string } {
    const r = this.store.get<{ customer_id: string; uf: string; city: string }>(
      "select customer_id, uf, city from customers where customer_id = ?",
      String(customerId),
    );
    if (!r) throw netReject(404, "customer_not_found", `no customer ${customerId}`);
    return r;
  }

  async getLineStatus(customerId: string): Promise<LineStatus[]> {
    this.customer(customerId);
    const speed = new Map(loadSandboxCatalog().catalog.plans.map((p) => [p.plan_id, p.speed_mbps]));
    return this.store
      .all<{
        contract_id: string;
        product: string;
        plan_id: string;
        line: LineStatus["line"];
        ont: LineStatus["ont"];
        last_change_at: string;
      }>(
        `select c.contract_id, c.product, c.plan_id, l.line, l.ont, l.last_change_at
         from contracts c join line_status l on l.contract_id = c.contract_id
         where c.customer_id = ? and c.status != 'cancelled' order by c.contract_id`,
        customerId,
      )
      .map((r) => ({
        customer_id: customerId,
        contract_id: r.contract_id,
        product: r.product,
        line: r.line,
        ont: r.ont,
        contracted_mbps: speed.get(r.plan_id) ?? null,
        last_change_at: r.last_change_at,
      }));
  }

  async listOutages(query: { uf: string; city?: string; activeAt?: string }): Promise<Outage[]> {
    const uf = String(query.uf ?? "").toUpperCase();
    if (!/^[A-Z]{2}$/.test(uf)) throw netReject(422, "invalid_uf", "uf must be a two-letter state code");
    if (query.activeAt !== undefined && Number.isNaN(Date.parse(query.activeAt)))
      throw netReject(422, "invalid_active_at", "activeAt must be an ISO timestamp");
    const at = query.activeAt ? new Date(query.activeAt).toISOString() : undefined;
    const now = this.store.now();
    const rows = this.store.all<OutageRow>(
      `select * from outages where uf = ? and (? is null or city is null or city = ?)
       and (? is null or (started_at <= ? and (ended_at is null or ended_at > ?)))
       order by started_at desc limit 200`,
      uf,
      query.city ?? null,
      query.city ?? null,
      at ?? null,
      at ?? null,
      at ?? null,
    );
    return rows.map((r) => ({
      outage_id: r.outage_id,
      uf: r.uf,
      city: r.city ?? "",
      started_at: r.started_at,
      ended_at: r.ended_at,
      eta: r.ended_at ? null : r.eta,
      cause: r.cause,
      affected_product: r.affected_product,
      active: r.started_at <= now && (r.ended_at === null || r.ended_at > now),
    }));
  }

  async listSpeedTests(customerId: string, opts: { limit?: number } = {}): Promise<SpeedTest[]> {
    this.customer(customerId);
    const speed = new Map(loadSandboxCatalog().catalog.plans.map((p) => [p.plan_id, p.speed_mbps]));
    const contract = this.store.get<{ plan_id: string }>(
      "select plan_id from contracts where customer_id = ? and product in ('fibra', 'combo') and status != 'cancelled' limit 1",
      customerId,
    );
    const current = contract ? (speed.get(contract.plan_id) ?? null) : null;
    return this.store
      .all<{
        measured_at: string;
        download_mbps: number;
        contracted_mbps: number | null;
        latency_ms: number;
        packet_loss_pct: number;
      }>(
        "select measured_at, download_mbps, contracted_mbps, latency_ms, packet_loss_pct from speed_tests where customer_id = ? order by measured_at desc limit ?",
        customerId,
        clampLimit(opts.limit, 10, 200),
      )
      .filter((t) => t.contracted_mbps !== null || current !== null)
      .map((t) => ({ ...t, contracted_mbps: (t.contracted_mbps ?? current) as number }));
  }

  async runLineTest(customerId: string, opts: WriteOptions): Promise<LineTest> {
    return this.store.idempotent("network", "runLineTest", opts.idempotencyKey, { customerId }, () => {
      this.customer(customerId);
      const lines = this.store.all<{
        product: string;
        line_test: LineTest["result"];
        line_test_details: string;
      }>(
        `select c.product, l.line_test, l.line_test_details from contracts c join line_status l on l.contract_id = c.contract_id
         where c.customer_id = ? and c.status != 'cancelled'`,
        customerId,
      );
      if (!lines.length)
        throw netReject(409, "no_active_line", `customer ${customerId} has no active line to test`);
      const rank = { network: 2, customer_side: 1, ok: 0 } as const;
      const worst = lines.reduce((a, b) => (rank[b.line_test] > rank[a.line_test] ? b : a));
      const t: LineTest = {
        test_id: `LTS-${String(this.store.nextSeq("line_test")).padStart(9, "0")}`,
        customer_id: customerId,
        result: worst.line_test,
        details: worst.line_test_details,
        ran_at: this.store.now(),
      };
      this.store.run(
        "insert into line_tests values (?, ?, ?, ?, ?)",
        t.test_id,
        t.customer_id,
        t.result,
        t.details,
        t.ran_at,
      );
      return t;
    });
  }

  /** Slots of a region on one day: capacity 0–2 per window, by a hash (some windows are full). */
  private capacity(slotId: string): number {
    return [0, 1, 2, 2][hash32(`capacity:${slotId}`) % 4] as number;
  }

  private slotId(date: string, window: number, uf: string, city: string): string {
    return `SLT-${date.replaceAll("-", "")}-${window}-${uf}-${hash32(city.toLowerCase()).toString(16).padStart(8, "0")}`;
  }

  private booked(slotId: string): number {
    return (
      this.store.get<{ n: number }>(
        "select count(*) as n from bookings where slot_id = ? and status = 'booked'",
        slotId,
      ) as {
        n: number;
      }
    ).n;
  }

  async listTechnicianSlots(query: { customer_id: string; days?: number }): Promise<TechnicianSlot[]> {
    const c = this.customer(query.customer_id);
    const days = Math.min(clampLimit(query.days, 7, MAX_SLOT_DAYS), MAX_SLOT_DAYS);
    const windows = loadSandboxCatalog().visitWindows;
    const today = this.store.businessDate();
    const out: TechnicianSlot[] = [];
    for (let d = 1; d <= days; d++) {
      const date = addDays(today, d);
      if (!visitDay(date)) continue;
      windows.forEach((window, w) => {
        const slot_id = this.slotId(date, w, c.uf, c.city);
        if (this.booked(slot_id) < this.capacity(slot_id))
          out.push({ slot_id, date, window, uf: c.uf, city: c.city });
      });
    }
    return out;
  }

  async bookTechnician(
    input: { customer_id: string; slot_id: string; reason: string },
    opts: WriteOptions,
  ): Promise<Booking> {
    return this.store.idempotent("network", "bookTechnician", opts.idempotencyKey, input, () => {
      const c = this.customer(input.customer_id);
      const m = SLOT_RE.exec(String(input.slot_id ?? ""));
      if (!m) throw netReject(422, "invalid_slot", `slot_id ${input.slot_id} is not a technician slot id`);
      const date = `${m[1]?.slice(0, 4)}-${m[1]?.slice(4, 6)}-${m[1]?.slice(6, 8)}`;
      const windows = loadSandboxCatalog().visitWindows;
      const w = Number(m[2]);
      const today = this.store.businessDate();
      if (input.slot_id !== this.slotId(date, w, c.uf, c.city) || w >= windows.length)
        throw netReject(
          422,
          "slot_not_in_region",
          `slot ${input.slot_id} is not offered in ${c.city}/${c.uf}`,
        );
      if (date <= today || date > addDays(today, MAX_SLOT_DAYS) || !visitDay(date))
        throw netReject(
          422,
          "slot_out_of_range",
          `slot date ${date} is not within the next ${MAX_SLOT_DAYS} days`,
        );
      const reason = String(input.reason ?? "").trim();
      if (!reason) throw netReject(422, "invalid_reason", "reason is required");
      const fixed = this.store.all<{ product: string }>(
        "select product from contracts where customer_id = ? and status != 'cancelled'",
        c.customer_id,
      );
      if (!fixed.some((f) => FIXED_PRODUCTS.has(f.product)))
        throw netReject(422, "no_fixed_service", "technician visits are for fibra, combo or TV services");
      const existing = this.store.get<{ booking_id: string }>(
        "select booking_id from bookings where customer_id = ? and status = 'booked' and date > ?",
        c.customer_id,
        today,
      );
      if (existing)
        throw netReject(
          409,
          "visit_already_booked",
          `visit ${existing.booking_id} is already booked; cancel it first`,
        );
      if (this.booked(input.slot_id) >= this.capacity(input.slot_id))
        throw netReject(409, "slot_full", `slot ${input.slot_id} is no longer free`);
      const b: Booking = {
        booking_id: `BKG-${String(this.store.nextSeq("booking")).padStart(9, "0")}`,
        customer_id: c.customer_id,
        slot_id: input.slot_id,
        date,
        window: windows[w] as string,
        reason,
        status: "booked",
        created_at: this.store.now(),
      };
      this.store.run(
        "insert into bookings values (?, ?, ?, ?, ?, ?, ?, ?)",
        b.booking_id,
        b.customer_id,
        b.slot_id,
        b.date,
        b.window,
        b.reason,
        b.status,
        b.created_at,
      );
      return b;
    });
  }

  async cancelBooking(bookingId: string, opts: WriteOptions): Promise<Booking> {
    return this.store.idempotent("network", "cancelBooking", opts.idempotencyKey, { bookingId }, () => {
      const b = this.store.get<Booking>("select * from bookings where booking_id = ?", String(bookingId));
      if (!b) throw netReject(404, "booking_not_found", `no booking ${bookingId}`);
      if (b.status === "cancelled")
        throw netReject(409, "booking_already_cancelled", `booking ${bookingId} is already cancelled`);
      this.store.run("update bookings set status = 'cancelled' where booking_id = ?", b.booking_id);
      return { ...b, status: "cancelled" };
    });
  }

  async listBookings(customerId: string): Promise<Booking[]> {
    this.customer(customerId);
    return this.store.all<Booking>(
      "select * from bookings where customer_id = ? order by created_at desc, booking_id desc",
      customerId,
    );
  }
}

/** Technicians work Monday to Saturday, except national holidays. */
function visitDay(date: string): boolean {
  return new Date(`${date}T00:00:00Z`).getUTCDay() !== 0 && !HOLIDAYS.has(date.slice(5));
}

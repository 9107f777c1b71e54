import type { WriteOptions } from "./write-options.ts";

/** Network/OSS port: line and ONT status, regional outages, speed tests, line tests, technician visits. */
export interface LineStatus {
  customer_id: string;
  contract_id: string;
  product: string;
  line: "up" | "down" | "degraded";
  /** Optical terminal (fibra/combo); "n/a" for mobile-only contracts. */
  ont: "online" | "offline" | "los" | "n/a";
  contracted_mbps: number | null;
  last_change_at: string;
}

export interface Outage {
  outage_id: string;
  uf: string;
  city: string;
  started_at: string;
  ended_at: string | null;
  /** Expected end of an active outage (ISO timestamp), null when unknown or ended. */
  eta: string | null;
  cause: string;
  affected_product: string;
  active: boolean;
}

export interface SpeedTest {
  measured_at: string;
  download_mbps: number;
  contracted_mbps: number;
  latency_ms: number;
  packet_loss_pct: number;
}

export interface LineTest {
  test_id: string;
  customer_id: string;
  /** ok: no fault found; customer_side: router/Wi-Fi/cabling at home; network: fault in the access network. */
  result: "ok" | "customer_side" | "network";
  details: string;
  ran_at: string;
}

export interface TechnicianSlot {
  slot_id: string;
  date: string;
  /** One of the catalog's technical_visit_windows, e.g. "08:00-12:00". */
  window: string;
  uf: string;
  city: string;
}

export interface Booking {
  booking_id: string;
  customer_id: string;
  slot_id: string;
  date: string;
  window: string;
  reason: string;
  status: "booked" | "cancelled";
  created_at: string;
}

export interface NetworkSystem {
  getLineStatus(customerId: string): Promise<LineStatus[]>;
  /** Outages in a region; `activeAt` (ISO) keeps those active at that instant. */
  listOutages(query: { uf: string; city?: string; activeAt?: string }): Promise<Outage[]>;
  /** Newest first. */
  listSpeedTests(customerId: string, opts?: { limit?: number }): Promise<SpeedTest[]>;
  runLineTest(customerId: string, opts: WriteOptions): Promise<LineTest>;
  /** Free slots for the customer's region over the next `days` days. */
  listTechnicianSlots(query: { customer_id: string; days?: number }): Promise<TechnicianSlot[]>;
  bookTechnician(
    input: { customer_id: string; slot_id: string; reason: string },
    opts: WriteOptions,
  ): Promise<Booking>;
  cancelBooking(bookingId: string, opts: WriteOptions): Promise<Booking>;
  listBookings(customerId: string): Promise<Booking[]>;
}

import { z } from "zod";
import { customerIdArg, defineTool, ToolFailure } from "./core.ts";

export const TECHNICIAN_REASONS = [
  "no_connection",
  "slow_connection",
  "fiber_signal_loss",
  "equipment",
  "installation",
  "other",
] as const;

export const scheduleTechnicianInput = z
  .object({
    customer_id: customerIdArg,
    slot_id: z
      .string()
      .min(1)
      .optional()
      .describe("The slot the customer chose among those this tool offered; omit to list the free slots"),
    reason: z.enum(TECHNICIAN_REASONS).default("no_connection").describe("Why the visit is needed"),
    days: z.number().int().min(1).max(14).default(7).describe("How many days ahead to look for slots"),
  })
  .strict();

const slotSchema = z.object({ slot_id: z.string(), date: z.string(), window: z.string() });

export const scheduleTechnicianOutput = z.discriminatedUnion("status", [
  /** No slot chosen yet: the free slots, now offered in this session (the only ones it will book). */
  z.object({ status: z.literal("slots_offered"), slots: z.array(slotSchema) }),
  z.object({
    status: z.literal("booked"),
    booking_id: z.string(),
    slot_id: z.string(),
    date: z.string(),
    window: z.string(),
    reason: z.string(),
    consent_id: z.string(),
    created_at: z.string(),
  }),
]);
export type ScheduleTechnicianOutput = z.infer<typeof scheduleTechnicianOutput>;

export const scheduleTechnicianTool = defineTool({
  name: "schedule_technician",
  description:
    "Without slot_id lists free technician slots; with slot_id (one offered here, after the customer's recorded consent) books that visit.",
  input: scheduleTechnicianInput,
  output: scheduleTechnicianOutput,
  async run(ctx, input) {
    const customerId = ctx.customer(input.customer_id);
    if (!input.slot_id) {
      const slots = await ctx.systems.network.listTechnicianSlots({
        customer_id: customerId,
        days: input.days,
      });
      for (const s of slots)
        if (!ctx.session.offered_slots.includes(s.slot_id)) ctx.session.offered_slots.push(s.slot_id);
      return {
        status: "slots_offered" as const,
        slots: slots.map((s) => ({ slot_id: s.slot_id, date: s.date, window: s.window })),
      };
    }
    const slotId = input.slot_id;
    if (!ctx.session.offered_slots.includes(slotId)) {
      ctx.audit({ kind: "refused", code: "slot_not_offered", detail: { slot_id: slotId } });
      throw new ToolFailure("slot_not_offered", `slot ${slotId} was not offered in this session`, {
        field: "slot_id",
      });
    }
    const consent = ctx.consent("schedule_technician", slotId);
    const booking = await ctx.systems.network.bookTechnician(
      { customer_id: customerId, slot_id: slotId, reason: input.reason },
      { idempotencyKey: ctx.onceKey(slotId) },
    );
    ctx.audit({ kind: "write", detail: { booking_id: booking.booking_id, slot_id: slotId } });
    return {
      status: "booked" as const,
      booking_id: booking.booking_id,
      slot_id: booking.slot_id,
      date: booking.date,
      window: booking.window,
      reason: booking.reason,
      consent_id: consent.consent_id,
      created_at: booking.created_at,
    };
  },
});

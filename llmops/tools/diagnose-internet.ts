import { z } from "zod";
import type { Contract } from "../../platform/ports/crm.ts";
import type { LineStatus, LineTest, Outage, SpeedTest } from "../../platform/ports/network.ts";
import { customerIdArg, defineTool, ToolFailure } from "./core.ts";

/** What the diagnosis found. */
export const INTERNET_FINDINGS = [
  "regional_outage",
  "fiber_signal_loss",
  "equipment_offline",
  "network_fault",
  "customer_side",
  "speed_below_contracted",
  "no_fault_found",
] as const;

/** What to do next: the dialogue words it (guided steps by id, the outage ETA, or booking a visit). */
export const INTERNET_NEXT_STEPS = ["guided_steps", "wait_for_eta", "technician"] as const;

/** Steps the customer can do at home, by id (the dialogue has the wording in each language). */
export const GUIDED_STEPS = [
  "restart_ont_and_router",
  "check_fiber_and_power_cables",
  "test_wired_connection",
  "use_5ghz_wifi_near_router",
  "disconnect_other_devices",
] as const;

/** Anatel: monthly average ≥ 80% of the contracted speed, any instant ≥ 40% (catalog rules). */
export const SPEED_AVERAGE_MIN = 0.8;
export const SPEED_INSTANT_MIN = 0.4;
/** The newest tests only: older ones describe a line that may since have been fixed. */
const SPEED_TESTS = 3;

export const diagnoseInternetInput = z
  .object({
    customer_id: customerIdArg,
    contract_id: z
      .string()
      .min(1)
      .optional()
      .describe("Internet contract to diagnose; omit for the customer's fibra/combo"),
  })
  .strict();

export const diagnoseInternetOutput = z.object({
  contract_id: z.string(),
  product: z.string(),
  contracted_mbps: z.number().nullable(),
  /** Each check in the order it ran; the diagnosis stops at an active regional outage. */
  checks: z.array(z.enum(["outage", "line_status", "speed_tests", "line_test"])),
  outage: z
    .object({
      outage_id: z.string(),
      city: z.string(),
      cause: z.string(),
      started_at: z.string(),
      eta: z.string().nullable(),
    })
    .nullable(),
  line: z.object({ line: z.string(), ont: z.string(), last_change_at: z.string() }).nullable(),
  speed: z
    .object({
      tests: z.number().int(),
      average_mbps: z.number(),
      minimum_mbps: z.number(),
      /** average ÷ contracted */
      average_ratio: z.number(),
      below_average_guarantee: z.boolean(),
      below_instant_guarantee: z.boolean(),
    })
    .nullable(),
  line_test: z
    .object({ test_id: z.string(), result: z.enum(["ok", "customer_side", "network"]), ran_at: z.string() })
    .nullable(),
  finding: z.enum(INTERNET_FINDINGS),
  next_step: z.enum(INTERNET_NEXT_STEPS),
  /** Expected end of the outage (wait_for_eta). */
  eta: z.string().nullable(),
  /** Ids of the home steps to guide (guided_steps), in order. */
  guided_steps: z.array(z.enum(GUIDED_STEPS)),
});
export type DiagnoseInternetOutput = z.infer<typeof diagnoseInternetOutput>;

const INTERNET_PRODUCTS = new Set(["fibra", "combo"]);

export function speedSummary(tests: SpeedTest[], contracted: number | null) {
  if (tests.length === 0) return null;
  const target = contracted ?? tests[0].contracted_mbps;
  const avg = tests.reduce((s, t) => s + t.download_mbps, 0) / tests.length;
  const min = Math.min(...tests.map((t) => t.download_mbps));
  const ratio = target > 0 ? avg / target : 1;
  return {
    tests: tests.length,
    average_mbps: Math.round(avg * 10) / 10,
    minimum_mbps: Math.round(min * 10) / 10,
    average_ratio: Math.round(ratio * 1000) / 1000,
    below_average_guarantee: ratio < SPEED_AVERAGE_MIN,
    below_instant_guarantee: target > 0 && min / target < SPEED_INSTANT_MIN,
  };
}

function outageFor(outages: Outage[], contract: Contract, city: string): Outage | undefined {
  return outages.find(
    (o) =>
      o.active &&
      (o.city === "" || o.city === city) &&
      // A combo includes fibra, so a fibra outage reaches it too.
      (o.affected_product === "all" ||
        o.affected_product === contract.product ||
        (contract.product === "combo" && o.affected_product === "fibra")),
  );
}

type Finding = (typeof INTERNET_FINDINGS)[number];
type NextStep = (typeof INTERNET_NEXT_STEPS)[number];
type Step = (typeof GUIDED_STEPS)[number];

/**
 * The finding and next step once there is no regional outage. A fault in the network (no optical
 * signal, or the line test finds one) needs a technician; equipment that is off or a speed loss inside
 * the home gets guided steps first.
 */
export function internetFinding(
  line: Pick<LineStatus, "line" | "ont"> | null,
  speed: ReturnType<typeof speedSummary>,
  test: LineTest["result"],
): { finding: Finding; next_step: NextStep; guided_steps: Step[] } {
  const slow = speed !== null && (speed.below_average_guarantee || speed.below_instant_guarantee);
  if (line?.ont === "los")
    return test === "customer_side"
      ? {
          finding: "fiber_signal_loss",
          next_step: "guided_steps",
          guided_steps: ["check_fiber_and_power_cables", "restart_ont_and_router"],
        }
      : { finding: "fiber_signal_loss", next_step: "technician", guided_steps: [] };
  if (test === "network") return { finding: "network_fault", next_step: "technician", guided_steps: [] };
  if (line?.ont === "offline" || line?.line === "down")
    return {
      finding: "equipment_offline",
      next_step: "guided_steps",
      guided_steps: ["check_fiber_and_power_cables", "restart_ont_and_router"],
    };
  if (slow)
    return line?.line === "degraded"
      ? { finding: "speed_below_contracted", next_step: "technician", guided_steps: [] }
      : {
          finding: "speed_below_contracted",
          next_step: "guided_steps",
          guided_steps: [
            "test_wired_connection",
            "use_5ghz_wifi_near_router",
            "disconnect_other_devices",
            "restart_ont_and_router",
          ],
        };
  if (test === "customer_side")
    return {
      finding: "customer_side",
      next_step: "guided_steps",
      guided_steps: ["restart_ont_and_router", "test_wired_connection", "use_5ghz_wifi_near_router"],
    };
  return {
    finding: "no_fault_found",
    next_step: "guided_steps",
    guided_steps: ["restart_ont_and_router", "use_5ghz_wifi_near_router"],
  };
}

export const diagnoseInternetTool = defineTool({
  name: "diagnose_internet",
  description:
    "Diagnoses the customer's home internet: regional outage, line/ONT status, recent speed tests vs contracted, remote line test; returns the finding and next step.",
  input: diagnoseInternetInput,
  output: diagnoseInternetOutput,
  async run(ctx, input) {
    const customerId = ctx.customer(input.customer_id);
    // Reads that do not depend on each other go out together; the checks still decide in order
    // (an active outage ends the diagnosis before the line is looked at).
    const [contract, profile] = await Promise.all([
      ctx.contract(customerId, input.contract_id, (c) => INTERNET_PRODUCTS.has(c.product)),
      ctx.systems.crm.getCustomer(customerId),
    ]);
    if (!INTERNET_PRODUCTS.has(contract.product))
      throw new ToolFailure(
        "not_applicable",
        `contract ${contract.contract_id} is ${contract.product}, not home internet`,
        {
          field: "contract_id",
        },
      );
    if (!profile) throw new ToolFailure("not_found", `customer ${customerId} not found`, { system: "crm" });
    const checks: ("outage" | "line_status" | "speed_tests" | "line_test")[] = ["outage"];
    const [outages, lines, tests] = await Promise.all([
      ctx.systems.network.listOutages({ uf: profile.uf, city: profile.city }),
      ctx.systems.network.getLineStatus(customerId),
      ctx.systems.network.listSpeedTests(customerId, { limit: SPEED_TESTS }),
    ]);
    const outage = outageFor(outages, contract, profile.city);
    const base = { contract_id: contract.contract_id, product: contract.product };
    if (outage) {
      return {
        ...base,
        contracted_mbps: null,
        checks,
        outage: {
          outage_id: outage.outage_id,
          city: outage.city,
          cause: outage.cause,
          started_at: outage.started_at,
          eta: outage.eta,
        },
        line: null,
        speed: null,
        line_test: null,
        finding: "regional_outage" as const,
        next_step: "wait_for_eta" as const,
        eta: outage.eta,
        guided_steps: [],
      };
    }

    checks.push("line_status", "speed_tests");
    const line = lines.find((l) => l.contract_id === contract.contract_id) ?? lines[0] ?? null;
    const contracted = line?.contracted_mbps ?? null;
    const speed = speedSummary(tests, contracted);

    checks.push("line_test");
    const attempt = ctx.repeatableKey(contract.contract_id);
    const test = await ctx.systems.network.runLineTest(customerId, { idempotencyKey: attempt.key });
    attempt.done();

    const { finding, next_step, guided_steps } = internetFinding(line, speed, test.result);
    return {
      ...base,
      contracted_mbps: contracted,
      checks,
      outage: null,
      line: line ? { line: line.line, ont: line.ont, last_change_at: line.last_change_at } : null,
      speed,
      line_test: { test_id: test.test_id, result: test.result, ran_at: test.ran_at },
      finding,
      next_step,
      eta: null,
      guided_steps,
    };
  },
});

import { z } from "zod";
import { displayCep, displayCpf, displayEmail, displayPhone } from "../../platform/pii/index.ts";
import { brl, customerIdArg, defineTool, firstName, monthsBetween, ToolFailure } from "./core.ts";

const contractSchema = z.object({
  contract_id: z.string(),
  plan_id: z.string(),
  plan_name: z.string().nullable(),
  product: z.string(),
  status: z.string(),
  start_date: z.string(),
  monthly_price_brl: z.number(),
  fidelity_end_date: z.string().nullable(),
  fidelity_months_remaining: z.number().int(),
  /** Proportional fine if cancelled on the business date (rules engine), 0 outside fidelity. */
  fidelity_fine_brl: z.number(),
});

export const getCustomerProfileInput = z.object({ customer_id: customerIdArg }).strict();

export const getCustomerProfileOutput = z.object({
  customer_id: z.string(),
  first_name: z.string(),
  cpf_masked: z.string(),
  phone_masked: z.string(),
  email_masked: z.string().nullable(),
  cep_masked: z.string(),
  uf: z.string(),
  city: z.string(),
  segment: z.string(),
  status: z.enum(["active", "cancelled"]),
  signup_date: z.string(),
  tenure_months: z.number().int(),
  business_date: z.string(),
  products: z.array(z.string()),
  contracts: z.array(contractSchema),
  open_debts: z.object({
    /** Invoices overdue, or open past their due date, on the business date. */
    invoice_ids: z.array(z.string()),
    total_brl: z.number(),
    oldest_due_date: z.string().nullable(),
    max_days_overdue: z.number().int(),
  }),
});

export type GetCustomerProfileOutput = z.infer<typeof getCustomerProfileOutput>;

const DAY_MS = 86_400_000;

export const getCustomerProfileTool = defineTool({
  name: "get_customer_profile",
  description:
    "Authenticated customer's plans, products, tenure, fidelity end and proportional cancellation fine, and open debts (personal data masked).",
  input: getCustomerProfileInput,
  output: getCustomerProfileOutput,
  async run(ctx, input) {
    const customerId = ctx.customer(input.customer_id);
    const [profile, contracts, invoices, today, catalog] = await Promise.all([
      ctx.systems.crm.getCustomer(customerId),
      ctx.systems.crm.listContracts(customerId),
      ctx.systems.billing.listInvoices(customerId, { limit: 24 }),
      ctx.businessDate(),
      ctx.catalog(),
    ]);
    if (!profile) throw new ToolFailure("not_found", `customer ${customerId} not found`, { system: "crm" });
    const rules = ctx.rules();
    const planNames = new Map(catalog.plans.map((p) => [p.plan_id, p.name]));
    // A disputed invoice is not a debt while the dispute is open (CDC); an open one is once past due.
    const debts = invoices.filter(
      (i) => i.status === "overdue" || (i.status === "open" && i.due_date < today),
    );
    const todayMs = Date.parse(`${today}T00:00:00Z`);
    const oldest = debts.reduce<string | null>(
      (m, i) => (m === null || i.due_date < m ? i.due_date : m),
      null,
    );
    const live = contracts.filter((c) => c.status !== "cancelled");
    return {
      customer_id: customerId,
      first_name: firstName(profile.name),
      cpf_masked: displayCpf(profile.cpf),
      phone_masked: displayPhone(profile.phone),
      email_masked: displayEmail(profile.email),
      cep_masked: displayCep(profile.cep),
      uf: profile.uf,
      city: profile.city,
      segment: profile.segment,
      status: profile.status,
      signup_date: profile.signup_date,
      // Tenure as policy-elegibilidade §1 and the offers rules count it: from the oldest active contract.
      tenure_months: monthsBetween(
        contracts
          .filter((c) => c.status === "active")
          .map((c) => c.start_date)
          .sort()[0] ?? profile.signup_date,
        today,
      ),
      business_date: today,
      products: [...new Set(live.map((c) => c.product))],
      contracts: contracts.map((c) => {
        const fine =
          c.status === "cancelled" ? { months_remaining: 0, fine_brl: 0 } : rules.fidelityFine(c, today);
        return {
          contract_id: c.contract_id,
          plan_id: c.plan_id,
          plan_name: planNames.get(c.plan_id) ?? null,
          product: c.product,
          status: c.status,
          start_date: c.start_date,
          monthly_price_brl: c.monthly_price_brl,
          fidelity_end_date: c.fidelity_end_date,
          fidelity_months_remaining: fine.months_remaining,
          fidelity_fine_brl: brl(fine.fine_brl),
        };
      }),
      open_debts: {
        invoice_ids: debts.map((i) => i.invoice_id),
        total_brl: brl(debts.reduce((s, i) => s + i.amount_brl, 0)),
        oldest_due_date: oldest,
        max_days_overdue: oldest
          ? Math.max(0, Math.floor((todayMs - Date.parse(`${oldest}T00:00:00Z`)) / DAY_MS))
          : 0,
      },
    };
  },
});

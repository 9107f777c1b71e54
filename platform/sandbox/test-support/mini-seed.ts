import type { SystemsSeed } from "../../ports/systems-seed.ts";

/**
 * A hand-written seed of three customers (fibra, mobile postpaid, a former customer) for platform
 * tests that must not import the simulator: same shapes and id formats as a real delivery.
 */
export function miniSeed(): SystemsSeed {
  const customers = [
    [
      "AUR-00000001",
      "Ana Souza",
      "529.982.247-25",
      "1980-05-01",
      "(11) 91234-5678",
      "SP",
      "São Paulo",
      "01001-000",
    ],
    [
      "AUR-00000002",
      "Bruno Lima",
      "111.444.777-35",
      "1990-07-15",
      "(21) 99876-5432",
      "RJ",
      "Rio de Janeiro",
      "20040-000",
    ],
    [
      "AUR-00000003",
      "Carla Dias",
      "390.533.447-05",
      "1975-01-30",
      "(31) 98888-7777",
      "MG",
      "Belo Horizonte",
      "30110-000",
    ],
  ].map(([customer_id, name, cpf, birth_date, phone, uf, city, cep]) => ({
    customer_id: customer_id as string,
    name: name as string,
    cpf: cpf as string,
    birth_date: birth_date as string,
    phone: phone as string,
    uf: uf as string,
    city: city as string,
    cep: cep as string,
    segment: "consumer",
    signup_date: "2024-03-10",
  }));
  const contract = (
    i: number,
    plan: string,
    product: string,
    price: number,
    status: "active" | "cancelled",
  ) => ({
    contract_id: `CTR-0000000${i}`,
    customer_id: `AUR-0000000${i}`,
    plan_id: plan,
    product,
    start_date: "2024-03-10",
    fidelity_months: 12,
    fidelity_end_date: "2026-03-10",
    fidelity_fine_brl: 100,
    monthly_price_brl: price,
    status,
    cancel_date: status === "cancelled" ? "2025-08-01" : null,
    cancel_reason: status === "cancelled" ? "preco" : null,
  });
  const invoices = [1, 2].flatMap((i) =>
    ["2025-11", "2025-12"].map((m, j) => ({
      invoice_id: `INV-${m.replace("-", "")}-0000000${i}`,
      customer_id: `AUR-0000000${i}`,
      contract_id: `CTR-0000000${i}`,
      reference_month: `${m}-01`,
      issue_date: `${m}-05`,
      due_date: `${m}-15`,
      amount_brl: 124.99,
      discount_brl: 0,
      tax_brl: 25,
      status: (j === 1 && i === 2 ? "overdue" : "paid") as "overdue" | "paid",
    })),
  );
  return {
    source: { delivery: "/mini", fingerprint: "mini", generator: "hand", customers: 3, months: 2 },
    as_of: "2025-12-31",
    customers,
    contracts: [
      contract(1, "FIB500", "fibra", 119.99, "active"),
      contract(2, "POS50", "mobile_pos", 109.99, "active"),
      contract(3, "CTRL25", "mobile_controle", 54.99, "cancelled"),
    ],
    invoices,
    invoice_items: invoices.flatMap((inv) => [
      {
        invoice_id: inv.invoice_id,
        line_no: 1,
        item_type: "plan",
        description: "Mensalidade",
        amount_brl: 99.99,
      },
      { invoice_id: inv.invoice_id, line_no: 2, item_type: "tax", description: "Tributos", amount_brl: 25 },
    ]),
    payments: invoices.map((inv) => ({
      payment_id: inv.invoice_id.replace("INV", "PAY"),
      invoice_id: inv.invoice_id,
      customer_id: inv.customer_id,
      due_date: inv.due_date,
      paid_date: inv.status === "paid" ? inv.due_date : null,
      amount_brl: inv.status === "paid" ? inv.amount_brl : 0,
      method: "pix",
      days_late: inv.status === "paid" ? 0 : 16,
    })),
    disputes: [],
    usage: [1, 2].map((i) => ({
      customer_id: `AUR-0000000${i}`,
      month: "2025-12-01",
      data_gb: 20,
      voice_minutes: 100,
      sms: 3,
      roaming_mb: 0,
    })),
    outages: [
      {
        outage_id: "OUT-0000001",
        uf: "SP",
        city: "São Paulo",
        started_at: "2025-12-10T10:00:00Z",
        ended_at: "2025-12-10T12:00:00Z",
        cause: "clima",
        affected_product: "fibra",
      },
    ],
    speed_tests: [
      {
        customer_id: "AUR-00000001",
        measured_at: "2025-12-20T20:00:00Z",
        latency_ms: 10,
        packet_loss_pct: 0.1,
        download_mbps: 480,
        contracted_mbps: 500,
      },
    ],
    tickets: [
      {
        ticket_id: "TKT-000000001",
        customer_id: "AUR-00000001",
        opened_at: "2025-06-01T10:00:00Z",
        channel: "whatsapp",
        category: "cobranca",
        resolved_at: "2025-06-01T12:00:00Z",
        resolution_hours: 2,
        repeat_contact: false,
        satisfaction: 5,
      },
    ],
    skipped: {},
  };
}

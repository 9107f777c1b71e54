-- Billing: invoices issued before the cutoff. The latest reference month gives the current
-- plan price and bill; the invoice of 3 reference months earlier gives the changes (reajuste).
-- Invoice lines are net of taxes while prices are quoted with taxes (as in the catalog), so the
-- plan line is grossed up by its invoice's own tax ratio, tax / (amount - tax).
with invoices as (
  select
    s.customer_id,
    s.cutoff_date,
    i.invoice_id,
    i.reference_month,
    i.amount_brl,
    coalesce(1 + i.tax_brl / nullif(i.amount_brl - i.tax_brl, 0), 1) as tax_factor,
    max(i.reference_month) over (partition by s.customer_id, s.cutoff_date) as last_month
  from {{spine}} s
  join silver.billing_invoices i
    on i.customer_id = s.customer_id
   and i.issue_date < s.cutoff_date
   -- only the last ~4 reference months are used; bound the join
   and i.issue_date >= @days_before(s.cutoff_date, 200)
),
plan_lines as (
  -- sums and averages of exact decimals: float sums depend on row order, so rounding could differ by build
  select invoice_id, sum(cast(amount_brl as decimal(38, 9))) as plan_brl
  from silver.billing_invoice_items
  -- the price the customer pays for the plan: promotional discounts lower it, their end raises it
  where item_type in ('plan', 'discount')
  group by invoice_id
),
per_customer as (
  select
    v.customer_id,
    v.cutoff_date,
    max(case when v.reference_month = v.last_month then p.plan_brl * v.tax_factor end) as price_now,
    max(case when v.reference_month = @months_before(v.last_month, 3) then p.plan_brl * v.tax_factor end)
      as price_3m_ago,
    max(case when v.reference_month = v.last_month then v.amount_brl end) as bill_now,
    max(case when v.reference_month = @months_before(v.last_month, 3) then v.amount_brl end) as bill_3m_ago,
    avg(case when v.reference_month > @months_before(v.last_month, 3) then cast(v.amount_brl as decimal(38, 9)) end)
      as arpu
  from invoices v
  left join plan_lines p on p.invoice_id = v.invoice_id
  group by v.customer_id, v.cutoff_date
)
select
  s.customer_id,
  s.cutoff_date,
  @float(round(b.price_now, 2)) as monthly_price_brl,
  @float(round(100 * (b.price_now / nullif(b.price_3m_ago, 0) - 1), 2)) as price_change_pct_3m,
  @float(round(b.arpu, 2)) as arpu_brl,
  @float(round(100 * (b.bill_now / nullif(b.bill_3m_ago, 0) - 1), 2)) as arpu_trend_pct_3m
from {{spine}} s
left join per_customer b on b.customer_id = s.customer_id and b.cutoff_date = s.cutoff_date

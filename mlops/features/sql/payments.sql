-- Payments as known at the cutoff: only invoices already due (due_date < cutoff) count, and a
-- payment received on or after the cutoff is treated as not yet received. The contract's
-- days_late column is computed at the extract date, so it is never read.
with due as (
  select
    s.customer_id,
    s.cutoff_date,
    p.due_date,
    case when p.paid_date < s.cutoff_date then p.paid_date end as paid_before_cutoff,
    greatest(
      0,
      @days_between(p.due_date, coalesce(case when p.paid_date < s.cutoff_date then p.paid_date end, s.cutoff_date))
    ) as days_late
  from {{spine}} s
  join silver.billing_payments p on p.customer_id = s.customer_id and p.due_date < s.cutoff_date
),
per_customer as (
  select
    customer_id,
    cutoff_date,
    count(case when due_date >= @days_before(cutoff_date, {{lookback_days}}) and days_late > 0 then 1 end)
      as late_payments,
    max(case when due_date >= @days_before(cutoff_date, {{lookback_days}}) then days_late end) as max_days_late,
    max(case when paid_before_cutoff is null then days_late end) as days_overdue
  from due
  group by customer_id, cutoff_date
)
select
  s.customer_id,
  s.cutoff_date,
  @float(coalesce(d.late_payments, 0)) as late_payments_90d,
  @float(coalesce(d.max_days_late, 0)) as max_days_late_90d,
  @float(coalesce(d.days_overdue, 0)) as days_overdue
from {{spine}} s
left join per_customer d on d.customer_id = s.customer_id and d.cutoff_date = s.cutoff_date

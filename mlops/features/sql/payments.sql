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
      date_diff('day', p.due_date, coalesce(case when p.paid_date < s.cutoff_date then p.paid_date end, s.cutoff_date))
    ) as days_late
  from {{spine}} s
  join silver.billing_payments p on p.customer_id = s.customer_id and p.due_date < s.cutoff_date
),
per_customer as (
  select
    customer_id,
    cutoff_date,
    count(*) filter (where due_date >= cutoff_date - interval {{lookback_days}} day and days_late > 0) as late_payments,
    max(days_late) filter (where due_date >= cutoff_date - interval {{lookback_days}} day) as max_days_late,
    max(days_late) filter (where paid_before_cutoff is null) as days_overdue
  from due
  group by customer_id, cutoff_date
)
select
  s.customer_id,
  s.cutoff_date,
  cast(coalesce(d.late_payments, 0) as double) as late_payments_90d,
  cast(coalesce(d.max_days_late, 0) as double) as max_days_late_90d,
  cast(coalesce(d.days_overdue, 0) as double) as days_overdue
from {{spine}} s
left join per_customer d on d.customer_id = s.customer_id and d.cutoff_date = s.cutoff_date

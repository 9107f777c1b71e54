-- Disputes opened before the cutoff and not resolved before it (the status column describes
-- the extract date, so it is never read).
select
  s.customer_id,
  s.cutoff_date,
  @float(count(d.dispute_id)) as open_disputes
from {{spine}} s
left join silver.billing_disputes d
  on d.customer_id = s.customer_id
 and d.opened_date < s.cutoff_date
 and (d.resolved_date is null or d.resolved_date >= s.cutoff_date)
group by s.customer_id, s.cutoff_date

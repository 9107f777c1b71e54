-- Support tickets opened in the last {{lookback_days}} days before the cutoff. A ticket resolved
-- on or after the cutoff counts as unresolved, and its survey score (given after the contact)
-- is not yet known.
select
  s.customer_id,
  s.cutoff_date,
  cast(count(t.ticket_id) as double) as tickets_90d,
  cast(count(t.ticket_id) filter (where t.repeat_contact) as double) as repeat_contacts_90d,
  cast(
    count(t.ticket_id) filter (where t.resolved_at is null or t.resolved_at >= s.cutoff_date) as double
  ) as unresolved_tickets_90d,
  cast(count(t.ticket_id) filter (where t.category = 'cancelamento') as double) as cancellation_tickets_90d,
  cast(count(t.ticket_id) filter (where t.channel = 'anatel') as double) as anatel_complaints_90d,
  cast(round(avg(t.satisfaction) filter (where t.resolved_at < s.cutoff_date), 2) as double) as avg_satisfaction_90d
from {{spine}} s
left join silver.support_tickets t
  on t.customer_id = s.customer_id
 and t.opened_at < s.cutoff_date
 and t.opened_at >= s.cutoff_date - interval {{lookback_days}} day
group by s.customer_id, s.cutoff_date

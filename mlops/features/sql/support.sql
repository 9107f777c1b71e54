-- Support tickets opened in the last {{lookback_days}} days before the cutoff. A ticket resolved
-- on or after the cutoff counts as unresolved, and its survey score (given after the contact)
-- is not yet known.
select
  s.customer_id,
  s.cutoff_date,
  @float(count(t.ticket_id)) as tickets_90d,
  @float(count(case when t.repeat_contact then t.ticket_id end)) as repeat_contacts_90d,
  @float(count(case when t.resolved_at is null or t.resolved_at >= @ts(s.cutoff_date) then t.ticket_id end))
    as unresolved_tickets_90d,
  @float(count(case when t.category = 'cancelamento' then t.ticket_id end)) as cancellation_tickets_90d,
  @float(count(case when t.channel = 'anatel' then t.ticket_id end)) as anatel_complaints_90d,
  @float(round(avg(case when t.resolved_at < @ts(s.cutoff_date) then t.satisfaction end), 2)) as avg_satisfaction_90d
from {{spine}} s
left join silver.support_tickets t
  on t.customer_id = s.customer_id
 and t.opened_at < @ts(s.cutoff_date)
 and t.opened_at >= @ts(@days_before(s.cutoff_date, {{lookback_days}}))
group by s.customer_id, s.cutoff_date

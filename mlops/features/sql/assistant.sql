-- Conversations registered in the CRM through the assistant's channels (chat, WhatsApp, API, CLI)
-- before the cutoff: contacts in the last 30 days, and whether a retention offer was accepted in the
-- last {{lookback_days}} days. Empty until interactions are exported (`telco data ingest interactions`).
select
  s.customer_id,
  s.cutoff_date,
  cast(
    count(i.interaction_id) filter (
      where i.channel in ('chat', 'whatsapp', 'api', 'cli') and i.created_at >= s.cutoff_date - interval 30 day
    ) as double
  ) as assistant_contacts_30d,
  coalesce(bool_or(i.offer_accepted is not null), false) as retention_offer_accepted_90d
from {{spine}} s
left join silver.crm_interactions i
  on i.customer_id = s.customer_id
 and i.created_at < s.cutoff_date
 and i.created_at >= s.cutoff_date - interval {{lookback_days}} day
group by s.customer_id, s.cutoff_date

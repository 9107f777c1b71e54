-- Conversations registered in the CRM through the assistant's channels (chat, WhatsApp, API, CLI)
-- before the cutoff: contacts in the last 30 days, and whether a retention offer was accepted in the
-- last {{lookback_days}} days. Empty until interactions are exported (`telco data ingest interactions`).
select
  s.customer_id,
  s.cutoff_date,
  @float(
    count(
      case
        when i.channel in ('chat', 'whatsapp', 'api', 'cli') and i.created_at >= @ts(@days_before(s.cutoff_date, 30))
          then i.interaction_id
      end
    )
  ) as assistant_contacts_30d,
  coalesce(@any_true(i.offer_accepted is not null), false) as retention_offer_accepted_90d
from {{spine}} s
left join silver.crm_interactions i
  on i.customer_id = s.customer_id
 and i.created_at < @ts(s.cutoff_date)
 and i.created_at >= @ts(@days_before(s.cutoff_date, {{lookback_days}}))
group by s.customer_id, s.cutoff_date

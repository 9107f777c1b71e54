-- Competitor offers running in the customer's state on the day before the cutoff (offers are
-- public from their start date; their announced end date is part of the offer).
with states as (
  select distinct cu.uf, s.cutoff_date
  from {{spine}} s
  join silver.crm_customers cu on cu.customer_id = s.customer_id
),
per_state as (
  select
    st.uf,
    st.cutoff_date,
    count(o.offer_id) as offers,
    max(o.discount_pct) as max_discount
  from states st
  join silver.market_competitor_offers o
    on o.uf = st.uf
   and o.start_date < st.cutoff_date
   and o.end_date >= @days_before(st.cutoff_date, 1)
  group by st.uf, st.cutoff_date
)
select
  s.customer_id,
  s.cutoff_date,
  coalesce(ps.offers, 0) > 0 as competitor_offer_active,
  @float(coalesce(ps.max_discount, 0)) as competitor_max_discount_pct
from {{spine}} s
left join silver.crm_customers cu on cu.customer_id = s.customer_id
left join per_state ps on ps.uf = cu.uf and ps.cutoff_date = s.cutoff_date

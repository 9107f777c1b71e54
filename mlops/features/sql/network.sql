-- Network experience in the last {{lookback_days}} days before the cutoff.
-- Outages: same state, whole-state (city empty) or the customer's city, affecting the
-- customer's product family; computed once per (region, product, cutoff) then joined back.
-- Minutes count only the part of an outage elapsed before the cutoff.
with customers as (
  select
    s.customer_id,
    s.cutoff_date,
    cu.uf,
    cu.city,
    case
      when c.product like 'mobile%' then 'mobile'
      when c.product in ('fibra', 'tv') then c.product
      else 'combo'
    end as family
  from {{spine}} s
  join silver.crm_customers cu on cu.customer_id = s.customer_id
  join silver.crm_contracts c on c.contract_id = s.contract_id
),
regions as (
  select distinct uf, city, family, cutoff_date from customers
),
region_outages as (
  select
    r.uf,
    r.city,
    r.family,
    r.cutoff_date,
    count(o.outage_id) as outages,
    -- an outage still open (no end) counts up to the cutoff; coalesce keeps BigQuery's least() from
    -- returning null
    sum(@minutes_between(o.started_at, least(coalesce(o.ended_at, @ts(r.cutoff_date)), @ts(r.cutoff_date))))
      as minutes
  from regions r
  join silver.network_outages o
    on o.uf = r.uf
   and (o.city is null or o.city = r.city)
   and o.started_at < @ts(r.cutoff_date)
   and o.started_at >= @ts(@days_before(r.cutoff_date, {{lookback_days}}))
   and (
     o.affected_product = 'all'
     or o.affected_product = r.family
     -- combo customers use mobile, fibra and tv
     or (r.family = 'combo' and o.affected_product in ('mobile', 'fibra', 'tv'))
   )
  group by r.uf, r.city, r.family, r.cutoff_date
),
tests as (
  select
    s.customer_id,
    s.cutoff_date,
    -- averages of exact decimals: a float sum depends on row order (threads), and a mean such as
    -- 18.425 would then round to 18.42 in one build and 18.43 in the next
    avg(cast(q.download_mbps / nullif(q.contracted_mbps, 0) as decimal(38, 9))) as speed_ratio,
    avg(cast(q.latency_ms as decimal(38, 9))) as latency,
    avg(cast(q.packet_loss_pct as decimal(38, 9))) as loss
  from {{spine}} s
  join silver.network_quality q
    on q.customer_id = s.customer_id
   and q.measured_at < @ts(s.cutoff_date)
   and q.measured_at >= @ts(@days_before(s.cutoff_date, {{lookback_days}}))
  group by s.customer_id, s.cutoff_date
)
select
  s.customer_id,
  s.cutoff_date,
  @float(coalesce(ro.outages, 0)) as outages_90d,
  @float(coalesce(ro.minutes, 0)) as outage_minutes_90d,
  -- greatest() skips nulls in DuckDB and not in BigQuery, so keep "no contracted speed" empty explicitly
  @float(case when t.speed_ratio is not null then round(greatest(0, 100 * (1 - t.speed_ratio)), 2) end)
    as speed_shortfall_pct_90d,
  @float(round(t.latency, 2)) as avg_latency_ms_90d,
  @float(round(t.loss, 3)) as avg_packet_loss_pct_90d
from {{spine}} s
left join customers cu on cu.customer_id = s.customer_id and cu.cutoff_date = s.cutoff_date
left join region_outages ro
  on ro.uf = cu.uf and ro.city = cu.city and ro.family = cu.family and ro.cutoff_date = cu.cutoff_date
left join tests t on t.customer_id = s.customer_id and t.cutoff_date = s.cutoff_date

-- Usage of complete months only: month M is known once M + 1 month <= cutoff.
with months as (
  select
    s.customer_id,
    s.cutoff_date,
    u.month,
    u.data_gb,
    max(u.month) over (partition by s.customer_id, s.cutoff_date) as last_month
  from {{spine}} s
  join silver.usage_monthly u
    on u.customer_id = s.customer_id
   and u.month + interval 1 month <= s.cutoff_date
   and u.month >= s.cutoff_date - interval 6 month
),
per_customer as (
  select
    customer_id,
    cutoff_date,
    max(data_gb) filter (where month = last_month) as last_gb,
    avg(data_gb) filter (where month < last_month and month >= last_month - interval 3 month) as prev_gb
  from months
  group by customer_id, cutoff_date
)
select
  s.customer_id,
  s.cutoff_date,
  cast(u.last_gb as double) as data_gb_last_month,
  cast(round(100 * (u.last_gb / nullif(u.prev_gb, 0) - 1), 2) as double) as data_usage_trend_pct
from {{spine}} s
left join per_customer u on u.customer_id = s.customer_id and u.cutoff_date = s.cutoff_date

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
   and @months_after(u.month, 1) <= s.cutoff_date
   and u.month >= @months_before(s.cutoff_date, 6)
),
per_customer as (
  select
    customer_id,
    cutoff_date,
    max(case when month = last_month then data_gb end) as last_gb,
    -- an average of exact decimals: a float sum depends on row order, so the rounded trend could differ by build
    avg(case when month < last_month and month >= @months_before(last_month, 3) then cast(data_gb as decimal(38, 9)) end)
      as prev_gb
  from months
  group by customer_id, cutoff_date
)
select
  s.customer_id,
  s.cutoff_date,
  @float(u.last_gb) as data_gb_last_month,
  @float(round(100 * (u.last_gb / nullif(u.prev_gb, 0) - 1), 2)) as data_usage_trend_pct
from {{spine}} s
left join per_customer u on u.customer_id = s.customer_id and u.cutoff_date = s.cutoff_date

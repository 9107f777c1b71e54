-- Training spine: one row per (customer, monthly cutoff) where the customer's contract is
-- active at the cutoff (started before it, not cancelled before it), with the label.
-- label = 1 when the contract's cancellation takes effect in [cutoff, cutoff + horizon).
-- cancel_date is read here ONLY to decide activity (cancelled before the cutoff = known past)
-- and the label; no feature group sees it.
with cutoffs as (
  select cast(d as date) as cutoff_date
  from @month_series(date '{{first_cutoff}}', date '{{last_cutoff}}', d)
),
active as (
  select
    c.customer_id,
    c.contract_id,
    k.cutoff_date,
    c.cancel_date,
    row_number() over (
      partition by c.customer_id, k.cutoff_date order by c.start_date desc, c.contract_id desc
    ) as rn
  from silver.crm_contracts c
  join cutoffs k
    on c.start_date < k.cutoff_date
   and (c.cancel_date is null or c.cancel_date >= k.cutoff_date)
)
select
  customer_id,
  contract_id,
  cutoff_date,
  cast(case when cancel_date < @days_after(cutoff_date, {{horizon_days}}) then 1 else 0 end as integer) as label,
  case when cancel_date < @days_after(cutoff_date, {{horizon_days}}) then cancel_date end as churn_date
from active
where rn = 1

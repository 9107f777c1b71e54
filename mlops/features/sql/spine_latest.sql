-- Serving spine: every customer whose contract is active at {{as_of}} (events strictly before
-- it are known), one row each. Same activity rule as the training spine, without a label.
with active as (
  select
    c.customer_id,
    c.contract_id,
    date '{{as_of}}' as cutoff_date,
    row_number() over (partition by c.customer_id order by c.start_date desc, c.contract_id desc) as rn
  from silver.crm_contracts c
  where c.start_date < date '{{as_of}}'
    and (c.cancel_date is null or c.cancel_date >= date '{{as_of}}')
)
select customer_id, contract_id, cutoff_date
from active
where rn = 1

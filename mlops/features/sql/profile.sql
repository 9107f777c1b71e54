-- Profile: registration data of the customer. Age is computed at the cutoff.
select
  s.customer_id,
  s.cutoff_date,
  @float(@years_between(cu.birth_date, s.cutoff_date)) as age_years,
  cu.segment,
  cu.uf
from {{spine}} s
left join silver.crm_customers cu on cu.customer_id = s.customer_id

-- Contract active at the cutoff (chosen by the spine). Only attributes fixed at signing are
-- read: status, cancel_date and the current monthly_price_brl describe the extract date.
select
  s.customer_id,
  s.cutoff_date,
  c.product,
  c.plan_id,
  c.sales_channel,
  @float(@months_between(c.start_date, s.cutoff_date)) as tenure_months,
  @float(
    case
      when c.fidelity_end_date is null or c.fidelity_end_date <= s.cutoff_date then 0
      -- complete months left, plus one for a partial month (rounded up)
      else @months_between(s.cutoff_date, c.fidelity_end_date)
        + case
            when @months_after(s.cutoff_date, @months_between(s.cutoff_date, c.fidelity_end_date)) < c.fidelity_end_date
              then 1
            else 0
          end
    end
  ) as fidelity_months_left,
  @float(
    case
      when c.fidelity_end_date <= s.cutoff_date then @months_between(c.fidelity_end_date, s.cutoff_date)
    end
  ) as months_since_fidelity_end
from {{spine}} s
left join silver.crm_contracts c on c.contract_id = s.contract_id

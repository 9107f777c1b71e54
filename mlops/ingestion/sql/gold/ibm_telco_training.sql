-- gold.ibm_telco_training: the agreed training shape (customer_id, label 0/1, features).
-- Binary flags become 'Yes'/'No' categoricals (the convention maps VARCHAR to categorical);
-- senior_citizen stays numeric 0/1. TotalCharges is kept: NULL only for tenure-0 customers,
-- where nothing has been billed yet, so 0 is the true value.
SELECT
  customer_id,
  CAST(churned AS INTEGER) AS label,
  gender,
  CAST(senior_citizen AS INTEGER) AS senior_citizen,
  CASE WHEN partner THEN 'Yes' ELSE 'No' END AS partner,
  CASE WHEN dependents THEN 'Yes' ELSE 'No' END AS dependents,
  @float(tenure_months) AS tenure_months,
  CASE WHEN phone_service THEN 'Yes' ELSE 'No' END AS phone_service,
  multiple_lines,
  internet_service,
  online_security,
  online_backup,
  device_protection,
  tech_support,
  streaming_tv,
  streaming_movies,
  contract,
  CASE WHEN paperless_billing THEN 'Yes' ELSE 'No' END AS paperless_billing,
  payment_method,
  monthly_charges,
  CASE WHEN total_charges IS NULL AND tenure_months = 0 THEN 0.0 ELSE total_charges END AS total_charges
FROM {{silver}}
ORDER BY customer_id

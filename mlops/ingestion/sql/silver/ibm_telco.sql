-- Silver IBM Telco: one row per customer (latest delivery wins), snake_case names, Yes/No as BOOLEAN.
-- "No phone service" / "No internet service" stay as their own category (they carry signal).
SELECT
  customerID AS customer_id,
  gender,
  SeniorCitizen = 1 AS senior_citizen,
  Partner = 'Yes' AS partner,
  Dependents = 'Yes' AS dependents,
  tenure AS tenure_months,
  PhoneService = 'Yes' AS phone_service,
  MultipleLines AS multiple_lines,
  InternetService AS internet_service,
  OnlineSecurity AS online_security,
  OnlineBackup AS online_backup,
  DeviceProtection AS device_protection,
  TechSupport AS tech_support,
  StreamingTV AS streaming_tv,
  StreamingMovies AS streaming_movies,
  Contract AS contract,
  PaperlessBilling = 'Yes' AS paperless_billing,
  PaymentMethod AS payment_method,
  MonthlyCharges AS monthly_charges,
  TotalCharges AS total_charges,
  Churn = 'Yes' AS churned
FROM (
  SELECT *, row_number() OVER (
    PARTITION BY customerID
    ORDER BY _ingested_at DESC, _batch_id DESC, _line DESC
  ) AS _latest
  FROM {{bronze}}
) AS b
WHERE _latest = 1

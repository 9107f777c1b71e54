-- gold.<name>_training for a user CSV: customer_id, label (1 when the target equals the
-- positive value given or guessed at first ingest), then every other column as a feature.
SELECT
  CAST({{id}} AS VARCHAR) AS customer_id,
  CAST(trim(CAST({{target}} AS VARCHAR)) = {{positive}} AS INTEGER) AS label,
  {{features}}
FROM {{silver}}
ORDER BY customer_id

-- gold.<name>_training for a user CSV: customer_id, label (1 when the target, trimmed and
-- lower-cased, is one of the positive spellings frozen in the contract), then every other column
-- as a feature.
SELECT
  @string({{id}}) AS customer_id,
  CAST(lower(trim(@string({{target}}))) IN ({{positive}}) AS INTEGER) AS label,
  {{features}}
FROM {{silver}}
ORDER BY customer_id

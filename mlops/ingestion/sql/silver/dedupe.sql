-- Silver for a contract table: the latest row per primary key across every bronze batch
-- (a later batch wins; within a batch the later line), contract columns only, conformed names.
-- (A row_number() subquery rather than QUALIFY: the same SQL runs on DuckDB and BigQuery.)
SELECT {{columns}}
FROM (
  SELECT *, row_number() OVER (
    PARTITION BY {{primary_key}}
    ORDER BY _ingested_at DESC, _batch_id DESC, _line DESC
  ) AS _latest
  FROM {{bronze}}
) AS b
WHERE _latest = 1

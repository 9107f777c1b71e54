-- Silver for a contract table: the latest row per primary key across every bronze batch
-- (a later batch wins; within a batch the later line), contract columns only, conformed names.
SELECT {{columns}}
FROM {{bronze}}
QUALIFY row_number() OVER (
  PARTITION BY {{primary_key}}
  ORDER BY _ingested_at DESC, _batch_id DESC, _line DESC
) = 1

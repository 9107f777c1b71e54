-- Silver for a contract table when bronze holds a single batch: bronze already has one row per
-- primary key (duplicates within a batch are rejected), so no window is needed.
SELECT {{columns}}
FROM {{bronze}}

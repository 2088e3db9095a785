-- The matrix under a write stream (issue 16): a pair's revision is now drawn from one rising
-- counter (the highest revision + 1; SQLite has one writer at a time, so no two changes draw the
-- same value), and this index finds the highest one and the pairs changed since a given one. A
-- server keeping the matrix then reads only those pairs instead of every pair's revision.
CREATE INDEX ix_current_deployment_revision ON current_deployment (revision);

-- Delivery insights at 1M rows (issue 17): the retracted deployments of an environment's range
-- (failures) without visiting every deployment's row in that range.
CREATE INDEX ix_deployment_retracted ON deployment (environment_id, deployment_date)
    WHERE deleted_at IS NOT NULL;

-- The matrix under a write stream (issue 16): a pair's revision is now drawn from one sequence,
-- so a server keeping the matrix can read only the pairs changed since the highest revision it
-- saw instead of every pair's revision. Writers to different pairs still never wait for each
-- other (nextval takes no lock that lasts the transaction); a change that commits out of
-- sequence order is caught by the stamp's sum, which the server checks (matrix_cache.rs).
CREATE SEQUENCE matrix_revision;
SELECT setval('matrix_revision', (SELECT COALESCE(MAX(revision), 0) + 1 FROM current_deployment));
CREATE INDEX ix_current_deployment_revision ON current_deployment (revision);

-- Delivery insights at 1M rows (issue 17): the retracted deployments of an environment's range
-- (failures) without visiting every deployment's row in that range.
CREATE INDEX ix_deployment_retracted ON deployment (environment_id, deployment_date)
    WHERE deleted_at IS NOT NULL;

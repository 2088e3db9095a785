-- The current-state table carries everything a matrix cell needs, so the matrix is one pass over
-- it with name joins: the deployment's version and deployer, and the version that ran in the pair
-- just before (for the rollback mark), and how many live deployments the pair has (the
-- dashboard's per-environment totals), kept up to date when deployments are recorded or retracted.
-- It is derived data: rebuilt from history here.
DROP TABLE current_deployment;
CREATE TABLE current_deployment (
    application_id      TEXT NOT NULL REFERENCES application (id),
    environment_id      TEXT NOT NULL REFERENCES environment (id),
    deployment_id       TEXT NOT NULL REFERENCES deployment (id),
    deployment_date     TEXT NOT NULL,
    created_at          TEXT NOT NULL,
    version_id          TEXT NOT NULL REFERENCES version (id),
    deployed_by         TEXT,
    previous_version_id TEXT REFERENCES version (id),
    live_deployments    INTEGER NOT NULL,
    PRIMARY KEY (application_id, environment_id)
);
CREATE INDEX ix_current_deployment_env ON current_deployment (environment_id);
CREATE UNIQUE INDEX ux_current_deployment_deployment ON current_deployment (deployment_id);

-- Time travel seeks the latest live deployment per pair at an instant; with the version and the
-- deployer in the index those seeks never visit the table. (deleted_at is always NULL here, but
-- SQLite only treats the index as covering when every column the query names is in it.)
DROP INDEX ix_deployment_pair_latest;
CREATE INDEX ix_deployment_pair_state ON deployment
    (application_id, environment_id, deployment_date DESC, created_at DESC, id DESC, version_id, deployed_by, deleted_at)
    WHERE deleted_at IS NULL;

-- Weekly counts of live deployments read this index alone.
CREATE INDEX ix_deployment_live_date ON deployment (deployment_date) WHERE deleted_at IS NULL;

INSERT INTO current_deployment
       (application_id, environment_id, deployment_id, deployment_date, created_at,
        version_id, deployed_by, previous_version_id, live_deployments)
SELECT application_id, environment_id, id, deployment_date, created_at,
       version_id, deployed_by, previous_version_id, live_deployments
  FROM (SELECT d.*,
               ROW_NUMBER() OVER pair_history AS latest,
               LEAD(version_id) OVER pair_history AS previous_version_id,
               COUNT(*) OVER (PARTITION BY application_id, environment_id) AS live_deployments
          FROM deployment d
         WHERE deleted_at IS NULL
        WINDOW pair_history AS (PARTITION BY application_id, environment_id
                                ORDER BY deployment_date DESC, created_at DESC, id DESC)) ranked
 WHERE latest = 1;

-- Fresh planner statistics for the new indexes (otherwise SQLite mistakes the new pair index for
-- the most selective one and sorts the whole history for a page of it).
ANALYZE deployment;
ANALYZE current_deployment;

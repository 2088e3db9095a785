-- Delivery insights at 1M rows (issue 17): a version's first deployments to a set of
-- environments are read from the index alone (0011's index made each check read table rows).
DROP INDEX ix_deployment_version_first;
CREATE INDEX ix_deployment_version_first ON deployment (version_id, deployment_date, environment_id)
    WHERE deleted_at IS NULL;

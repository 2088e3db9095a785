-- Delivery insights (issue 17): a version's first deployments (lead time to production) are
-- found through this index instead of scanning the history.
CREATE INDEX ix_deployment_version_first ON deployment (version_id, deployment_date)
    WHERE deleted_at IS NULL;

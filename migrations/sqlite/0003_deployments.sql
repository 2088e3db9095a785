-- Deployments: an immutable record. "Version belongs to application" is a composite foreign key.

CREATE TABLE deployment (
    id              TEXT PRIMARY KEY NOT NULL,
    application_id  TEXT NOT NULL REFERENCES application (id),
    version_id      TEXT NOT NULL REFERENCES version (id),
    environment_id  TEXT NOT NULL REFERENCES environment (id),
    deployment_date TEXT NOT NULL,
    deployed_by     TEXT,
    notes           TEXT,
    created_at      TEXT NOT NULL,
    deleted_at      TEXT,
    deleted_by      TEXT,
    delete_reason   TEXT,
    CONSTRAINT fk_deployment_version_of_application
        FOREIGN KEY (application_id, version_id) REFERENCES version (application_id, id)
);

-- The story's indexes.
CREATE INDEX idx_deployment_application ON deployment (application_id);
CREATE INDEX idx_deployment_environment ON deployment (environment_id);
CREATE INDEX idx_deployment_date ON deployment (deployment_date DESC);
CREATE INDEX idx_deployment_app_env ON deployment (application_id, environment_id);
-- History in its stable order (deploymentDate, createdAt, id — all descending), overall and per
-- application / environment, for keyset pagination.
CREATE INDEX ix_deployment_history ON deployment (deployment_date DESC, created_at DESC, id DESC);
CREATE INDEX ix_deployment_history_app ON deployment (application_id, deployment_date DESC, created_at DESC, id DESC);
CREATE INDEX ix_deployment_history_env ON deployment (environment_id, deployment_date DESC, created_at DESC, id DESC);
-- Latest live deployment per pair: time travel and the previous version for rollback detection.
CREATE INDEX ix_deployment_pair_latest ON deployment
    (application_id, environment_id, deployment_date DESC, created_at DESC, id DESC)
    WHERE deleted_at IS NULL;

-- Immutability, enforced by the database itself: no DELETE; no UPDATE of a recorded field; the
-- three deleted_* columns may be set once, together (the admin soft-delete).
CREATE TRIGGER deployment_no_delete BEFORE DELETE ON deployment
BEGIN
    SELECT RAISE(ABORT, 'deployments are immutable: they cannot be deleted');
END;

CREATE TRIGGER deployment_no_update BEFORE UPDATE ON deployment
WHEN NEW.id IS NOT OLD.id
  OR NEW.application_id IS NOT OLD.application_id
  OR NEW.version_id IS NOT OLD.version_id
  OR NEW.environment_id IS NOT OLD.environment_id
  OR NEW.deployment_date IS NOT OLD.deployment_date
  OR NEW.deployed_by IS NOT OLD.deployed_by
  OR NEW.notes IS NOT OLD.notes
  OR NEW.created_at IS NOT OLD.created_at
  OR OLD.deleted_at IS NOT NULL
  OR NEW.deleted_at IS NULL OR NEW.deleted_by IS NULL OR NEW.delete_reason IS NULL
BEGIN
    SELECT RAISE(ABORT, 'deployments are immutable: only a one-time soft-delete is allowed');
END;

-- The current deployment per (application, environment), maintained in the recording
-- transaction so the current-state read never scans history.
CREATE TABLE current_deployment (
    application_id  TEXT NOT NULL REFERENCES application (id),
    environment_id  TEXT NOT NULL REFERENCES environment (id),
    deployment_id   TEXT NOT NULL REFERENCES deployment (id),
    deployment_date TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (application_id, environment_id)
);
CREATE INDEX ix_current_deployment_env ON current_deployment (environment_id);

-- Deployments: an immutable record. "Version belongs to application" is a composite foreign key
-- (the story's CHECK (EXISTS …) is not valid in PostgreSQL).

CREATE TABLE deployment (
    id              UUID PRIMARY KEY,
    application_id  UUID NOT NULL REFERENCES application (id),
    version_id      UUID NOT NULL REFERENCES version (id),
    environment_id  UUID NOT NULL REFERENCES environment (id),
    deployment_date TIMESTAMPTZ NOT NULL,
    deployed_by     TEXT,
    notes           TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    deleted_at      TIMESTAMPTZ,
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
-- History in its stable order, overall and per application / environment (keyset pagination).
CREATE INDEX ix_deployment_history ON deployment (deployment_date DESC, created_at DESC, id DESC);
CREATE INDEX ix_deployment_history_app ON deployment (application_id, deployment_date DESC, created_at DESC, id DESC);
CREATE INDEX ix_deployment_history_env ON deployment (environment_id, deployment_date DESC, created_at DESC, id DESC);
-- Latest live deployment per pair: time travel and the previous version for rollback detection.
CREATE INDEX ix_deployment_pair_latest ON deployment
    (application_id, environment_id, deployment_date DESC, created_at DESC, id DESC)
    WHERE deleted_at IS NULL;

-- Immutability, enforced by the database itself.
CREATE FUNCTION deployment_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR TG_OP = 'TRUNCATE' THEN
        RAISE EXCEPTION 'deployments are immutable: they cannot be deleted';
    END IF;
    IF NEW.id IS DISTINCT FROM OLD.id
       OR NEW.application_id IS DISTINCT FROM OLD.application_id
       OR NEW.version_id IS DISTINCT FROM OLD.version_id
       OR NEW.environment_id IS DISTINCT FROM OLD.environment_id
       OR NEW.deployment_date IS DISTINCT FROM OLD.deployment_date
       OR NEW.deployed_by IS DISTINCT FROM OLD.deployed_by
       OR NEW.notes IS DISTINCT FROM OLD.notes
       OR NEW.created_at IS DISTINCT FROM OLD.created_at
       OR OLD.deleted_at IS NOT NULL
       OR NEW.deleted_at IS NULL OR NEW.deleted_by IS NULL OR NEW.delete_reason IS NULL THEN
        RAISE EXCEPTION 'deployments are immutable: only a one-time soft-delete is allowed';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER deployment_immutable_rows BEFORE UPDATE OR DELETE ON deployment
    FOR EACH ROW EXECUTE FUNCTION deployment_guard();
CREATE TRIGGER deployment_immutable_table BEFORE TRUNCATE ON deployment
    FOR EACH STATEMENT EXECUTE FUNCTION deployment_guard();

-- The current deployment per (application, environment), maintained in the recording transaction.
CREATE TABLE current_deployment (
    application_id  UUID NOT NULL REFERENCES application (id),
    environment_id  UUID NOT NULL REFERENCES environment (id),
    deployment_id   UUID NOT NULL REFERENCES deployment (id),
    deployment_date TIMESTAMPTZ NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (application_id, environment_id)
);
CREATE INDEX ix_current_deployment_env ON current_deployment (environment_id);

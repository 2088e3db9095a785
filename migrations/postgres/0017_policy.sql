-- Deploy policy (issue 35): freeze windows, locks and promotion rules, which every pipeline can
-- ask about (GET /api/deploy-check), and what blocked a deployment recorded anyway.

-- A freeze window ("freeze" is a keyword in PostgreSQL): a one-off window (starts_at..ends_at) or a recurrence (rrule from starts_at, its
-- series anchor, in time_zone; each occurrence lasts `duration`, ISO 8601).
CREATE TABLE freeze_window (
    id              UUID PRIMARY KEY,
    name            TEXT NOT NULL,
    reason          TEXT,
    -- Comma-separated ids; NULL: every production environment / every application.
    environment_ids TEXT,
    application_ids TEXT,
    starts_at       TIMESTAMPTZ NOT NULL,
    ends_at         TIMESTAMPTZ,
    rrule           TEXT,
    duration        TEXT,
    time_zone       TEXT NOT NULL,
    created_by      UUID NOT NULL REFERENCES app_user (id),
    created_at      TIMESTAMPTZ NOT NULL,
    CHECK ((rrule IS NULL) = (duration IS NULL)),
    CHECK ((rrule IS NULL) = (ends_at IS NOT NULL))
);

-- An occurrence ended early (POST /api/freezes/{id}/end).
CREATE TABLE freeze_end (
    freeze_id        UUID NOT NULL REFERENCES freeze_window (id) ON DELETE CASCADE,
    occurrence_start TIMESTAMPTZ NOT NULL,
    ended_at         TIMESTAMPTZ NOT NULL,
    ended_by         TEXT NOT NULL,
    reason           TEXT NOT NULL,
    PRIMARY KEY (freeze_id, occurrence_start)
);

-- freeze.started / freeze.ended announced once per occurrence: the instance whose insert wins
-- queues the notifications in the same transaction. No foreign key: the marker outlives a
-- deleted freeze so nothing is announced twice.
CREATE TABLE freeze_event (
    freeze_id        UUID NOT NULL,
    occurrence_start TIMESTAMPTZ NOT NULL,
    event            TEXT NOT NULL,
    at               TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (freeze_id, occurrence_start, event)
);

-- A lock on an environment (or one application in it); open until released.
CREATE TABLE deploy_lock (
    id              UUID PRIMARY KEY,
    environment_id  UUID NOT NULL REFERENCES environment (id),
    application_id  UUID REFERENCES application (id),
    -- environment id '/' application id or '*': what the one-open-lock rule compares.
    scope           TEXT NOT NULL,
    reason          TEXT NOT NULL,
    created_by      UUID NOT NULL REFERENCES app_user (id),
    created_by_name TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    released_at     TIMESTAMPTZ,
    released_by     TEXT
);
CREATE UNIQUE INDEX ux_lock_scope ON deploy_lock (scope) WHERE released_at IS NULL;
CREATE INDEX ix_lock_environment ON deploy_lock (environment_id, created_at);

-- A promotion rule: a version may go to environment_id only after running in each required
-- environment for at least min_soak (ISO 8601).
CREATE TABLE promotion_requirement (
    environment_id          UUID NOT NULL REFERENCES environment (id),
    required_environment_id UUID NOT NULL REFERENCES environment (id),
    min_soak                TEXT NOT NULL,
    PRIMARY KEY (environment_id, required_environment_id)
);

-- What blocked a deployment when it was recorded (a JSON array of blockers) and the override
-- reason given: immutable, like the deployment.
CREATE TABLE deployment_policy (
    deployment_id   UUID PRIMARY KEY REFERENCES deployment (id),
    violations      TEXT NOT NULL,
    override_reason TEXT
);
CREATE FUNCTION deployment_policy_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'deployments are immutable: their policy violations cannot be changed or deleted';
END;
$$;
CREATE TRIGGER deployment_policy_immutable_rows BEFORE UPDATE OR DELETE ON deployment_policy
    FOR EACH ROW EXECUTE FUNCTION deployment_policy_guard();
CREATE TRIGGER deployment_policy_immutable_table BEFORE TRUNCATE ON deployment_policy
    FOR EACH STATEMENT EXECUTE FUNCTION deployment_policy_guard();

-- Notifications about a freeze or lock carry what they are about, fixed when queued.
ALTER TABLE webhook_delivery ADD COLUMN subject TEXT;

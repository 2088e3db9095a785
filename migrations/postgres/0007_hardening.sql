-- Hardening found by fuzzing from outside.
--
-- 1. Immutability: `INSERT ... ON CONFLICT (id) DO UPDATE` fires the UPDATE trigger of 0003, so
--    PostgreSQL has no replace back door; nothing to add here.
--
-- 2. Instants only from 1970-01-01 to 9999-12-31: PostgreSQL accepts years up to 294276, which
--    come back in a form that is not RFC 3339. NOT VALID: rows stored before this migration are
--    not rewritten (deployments are immutable); the server reports any at start-up.
ALTER TABLE deployment ADD CONSTRAINT deployment_date_in_range
    CHECK (deployment_date >= '1970-01-01T00:00:00Z' AND deployment_date < '10000-01-01T00:00:00Z')
    NOT VALID;
ALTER TABLE version ADD CONSTRAINT version_released_at_in_range
    CHECK (released_at >= '1970-01-01T00:00:00Z' AND released_at < '10000-01-01T00:00:00Z')
    NOT VALID;
ALTER TABLE api_token ADD CONSTRAINT api_token_expires_at_in_range
    CHECK (expires_at >= '1970-01-01T00:00:00Z' AND expires_at < '10000-01-01T00:00:00Z')
    NOT VALID;

-- 3. Failed sign-ins, in the database so the throttle holds across instances and restarts. One row
--    per key ("pair:<SHA-256 of username>|<client>" or "client:<client>"); rows whose last failure is older
--    than the window are pruned when failures are recorded.
CREATE TABLE login_throttle (
    throttle_key    TEXT PRIMARY KEY NOT NULL,
    failures        INTEGER NOT NULL,
    last_failure_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX ix_login_throttle_last_failure ON login_throttle (last_failure_at);

-- Hardening found by fuzzing from outside.
--
-- 1. No back door to immutability: `REPLACE INTO deployment` / `INSERT OR REPLACE` with an
--    existing id deletes the old row without firing DELETE triggers (SQLite fires them on REPLACE
--    only with recursive_triggers on). Refuse any insert whose id is already recorded.
CREATE TRIGGER deployment_no_replace BEFORE INSERT ON deployment
WHEN EXISTS (SELECT 1 FROM deployment WHERE id = NEW.id)
BEGIN
    SELECT RAISE(ABORT, 'deployments are immutable: a recorded deployment cannot be replaced');
END;

-- 2. Instants only from 1970-01-01 to 9999-12-31, in the one canonical form the application writes
--    (YYYY-MM-DDTHH:MM:SS.ffffffZ, 27 characters). A signed or five-digit year sorts below 1970 as
--    text, so one range comparison catches both. Rows stored before this migration are not
--    rewritten (deployments are immutable); the server reports any at start-up.
CREATE TRIGGER deployment_date_in_range BEFORE INSERT ON deployment
WHEN NEW.deployment_date NOT BETWEEN '1970-01-01T00:00:00.000000Z' AND '9999-12-31T23:59:59.999999Z'
  OR length(NEW.deployment_date) <> 27
BEGIN
    SELECT RAISE(ABORT, 'deployment_date out of range: 1970-01-01 to 9999-12-31 in UTC');
END;

CREATE TRIGGER version_released_at_in_range_insert BEFORE INSERT ON version
WHEN NEW.released_at IS NOT NULL
 AND (NEW.released_at NOT BETWEEN '1970-01-01T00:00:00.000000Z' AND '9999-12-31T23:59:59.999999Z'
      OR length(NEW.released_at) <> 27)
BEGIN
    SELECT RAISE(ABORT, 'released_at out of range: 1970-01-01 to 9999-12-31 in UTC');
END;

CREATE TRIGGER version_released_at_in_range_update BEFORE UPDATE OF released_at ON version
WHEN NEW.released_at IS NOT NULL
 AND (NEW.released_at NOT BETWEEN '1970-01-01T00:00:00.000000Z' AND '9999-12-31T23:59:59.999999Z'
      OR length(NEW.released_at) <> 27)
BEGIN
    SELECT RAISE(ABORT, 'released_at out of range: 1970-01-01 to 9999-12-31 in UTC');
END;

CREATE TRIGGER api_token_expires_at_in_range BEFORE INSERT ON api_token
WHEN NEW.expires_at IS NOT NULL
 AND (NEW.expires_at NOT BETWEEN '1970-01-01T00:00:00.000000Z' AND '9999-12-31T23:59:59.999999Z'
      OR length(NEW.expires_at) <> 27)
BEGIN
    SELECT RAISE(ABORT, 'expires_at out of range: 1970-01-01 to 9999-12-31 in UTC');
END;

-- 3. Failed sign-ins, in the database so the throttle holds across instances and restarts. One row
--    per key ("pair:<SHA-256 of username>|<client>" or "client:<client>"); rows whose last failure is older
--    than the window are pruned when failures are recorded.
CREATE TABLE login_throttle (
    throttle_key    TEXT PRIMARY KEY NOT NULL,
    failures        INTEGER NOT NULL,
    last_failure_at TEXT NOT NULL
);
CREATE INDEX ix_login_throttle_last_failure ON login_throttle (last_failure_at);

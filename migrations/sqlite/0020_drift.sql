-- Drift (issue 38): an environment may promise to keep up with another. Its open breaches are
-- kept so that each is announced once (drift.breached / drift.resolved) however many instances
-- look, and each team's daily digest is marked as sent for its local day.

CREATE TABLE drift_policy (
    environment_id      TEXT PRIMARY KEY NOT NULL REFERENCES environment (id),
    compared_to         TEXT NOT NULL REFERENCES environment (id),
    max_lag_seconds     INTEGER,
    max_versions_behind INTEGER,
    updated_at          TEXT NOT NULL
);

CREATE TABLE drift_breach (
    id               TEXT PRIMARY KEY NOT NULL,
    environment_id   TEXT NOT NULL,
    application_id   TEXT NOT NULL,
    compared_to      TEXT NOT NULL,
    behind_since     TEXT NOT NULL,
    versions_behind  INTEGER NOT NULL,
    breached_at      TEXT NOT NULL,
    resolved_at      TEXT
);
-- At most one open breach per pair: the second instance to notice it inserts nothing.
CREATE UNIQUE INDEX ux_drift_breach_open ON drift_breach (environment_id, application_id)
    WHERE resolved_at IS NULL;

CREATE TABLE drift_digest (
    team_key TEXT NOT NULL,
    day      TEXT NOT NULL,
    sent_at  TEXT NOT NULL,
    PRIMARY KEY (team_key, day)
);

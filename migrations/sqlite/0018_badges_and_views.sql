-- Read-only keys for status badges (issue 38): an image request carries no bearer token, so a
-- badge URL carries `?key=`. Only the key's SHA-256 is stored; a key is for one application or,
-- without one, for all.

CREATE TABLE badge_key (
    id             TEXT PRIMARY KEY NOT NULL,
    name           TEXT NOT NULL,
    application_id TEXT REFERENCES application (id),
    secret_hash    TEXT NOT NULL,
    created_by     TEXT NOT NULL REFERENCES app_user (id),
    created_at     TEXT NOT NULL,
    revoked_at     TEXT
);
CREATE UNIQUE INDEX ux_badge_key_secret ON badge_key (secret_hash);

-- Saved views: a page and its query under a name, for its owner or (shared by an admin) for all.
CREATE TABLE saved_view (
    id         TEXT PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL,
    path       TEXT NOT NULL,
    query      TEXT NOT NULL,
    shared     INTEGER NOT NULL CHECK (shared IN (0, 1)),
    owner_id   TEXT NOT NULL REFERENCES app_user (id),
    created_at TEXT NOT NULL
);
CREATE INDEX ix_saved_view_owner ON saved_view (owner_id);

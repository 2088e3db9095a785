-- Read-only keys for status badges (issue 38): an image request carries no bearer token, so a
-- badge URL carries `?key=`. Only the key's SHA-256 is stored; a key is for one application or,
-- without one, for all.

CREATE TABLE badge_key (
    id             UUID PRIMARY KEY,
    name           TEXT NOT NULL,
    application_id UUID REFERENCES application (id),
    secret_hash    TEXT NOT NULL,
    created_by     UUID NOT NULL REFERENCES app_user (id),
    created_at     TIMESTAMPTZ NOT NULL,
    revoked_at     TIMESTAMPTZ
);
CREATE UNIQUE INDEX ux_badge_key_secret ON badge_key (secret_hash);

-- Saved views: a page and its query under a name, for its owner or (shared by an admin) for all.
CREATE TABLE saved_view (
    id         UUID PRIMARY KEY,
    name       TEXT NOT NULL,
    path       TEXT NOT NULL,
    query      TEXT NOT NULL,
    shared     BOOLEAN NOT NULL,
    owner_id   UUID NOT NULL REFERENCES app_user (id),
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX ix_saved_view_owner ON saved_view (owner_id);

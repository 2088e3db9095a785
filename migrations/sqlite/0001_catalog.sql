-- Applications, environments and versions. Ids are UUID text; timestamps are fixed-width
-- RFC 3339 UTC text with microseconds ("2026-11-27T09:00:00.000000Z"), so text order is time order.

CREATE TABLE application (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    description TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    archived_at TEXT
);
CREATE UNIQUE INDEX ux_application_name ON application (lower(name));

CREATE TABLE environment (
    id            TEXT PRIMARY KEY NOT NULL,
    name          TEXT NOT NULL,
    description   TEXT,
    position      INTEGER NOT NULL,
    is_production INTEGER NOT NULL DEFAULT 0 CHECK (is_production IN (0, 1)),
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    archived_at   TEXT
);
CREATE UNIQUE INDEX ux_environment_name ON environment (lower(name));
CREATE INDEX ix_environment_position ON environment (position, name);

CREATE TABLE version (
    id                 TEXT PRIMARY KEY NOT NULL,
    application_id     TEXT NOT NULL REFERENCES application (id),
    version_identifier TEXT NOT NULL,
    released_at        TEXT,
    notes              TEXT,
    created_at         TEXT NOT NULL,
    archived_at        TEXT
);
CREATE UNIQUE INDEX ux_version_identifier ON version (application_id, version_identifier);
-- Target of the deployment table's composite foreign key (version belongs to application).
CREATE UNIQUE INDEX ux_version_application ON version (application_id, id);

-- Applications, environments and versions.

CREATE TABLE application (
    id          UUID PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    archived_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX ux_application_name ON application (lower(name));

CREATE TABLE environment (
    id            UUID PRIMARY KEY,
    name          TEXT NOT NULL,
    description   TEXT,
    position      INTEGER NOT NULL,
    is_production BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    archived_at   TIMESTAMPTZ
);
CREATE UNIQUE INDEX ux_environment_name ON environment (lower(name));
CREATE INDEX ix_environment_position ON environment (position, name);

CREATE TABLE version (
    id                 UUID PRIMARY KEY,
    application_id     UUID NOT NULL REFERENCES application (id),
    version_identifier TEXT NOT NULL,
    released_at        TIMESTAMPTZ,
    notes              TEXT,
    created_at         TIMESTAMPTZ NOT NULL,
    archived_at        TIMESTAMPTZ
);
CREATE UNIQUE INDEX ux_version_identifier ON version (application_id, version_identifier);
-- Target of the deployment table's composite foreign key (version belongs to application).
CREATE UNIQUE INDEX ux_version_application ON version (application_id, id);

-- Teams (issue 38): who owns which applications. An application belongs to at most one team;
-- people may belong to several.

CREATE TABLE team (
    id            TEXT PRIMARY KEY NOT NULL,
    name          TEXT NOT NULL,
    slack_channel TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE UNIQUE INDEX ux_team_name ON team (lower(name));

CREATE TABLE team_member (
    team_id TEXT NOT NULL REFERENCES team (id),
    user_id TEXT NOT NULL REFERENCES app_user (id),
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX ix_team_member_user ON team_member (user_id);

ALTER TABLE application ADD COLUMN team_id TEXT REFERENCES team (id);
CREATE INDEX ix_application_team ON application (team_id);

-- Users, API tokens and browser sessions. Secrets are stored only as hashes:
-- passwords as argon2id PHC strings, token and session secrets as SHA-256 hex.

CREATE TABLE app_user (
    id            TEXT PRIMARY KEY NOT NULL,
    username      TEXT NOT NULL,
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    disabled_at   TEXT
);
CREATE UNIQUE INDEX ux_user_username ON app_user (lower(username));

CREATE TABLE api_token (
    id           TEXT PRIMARY KEY NOT NULL,
    user_id      TEXT NOT NULL REFERENCES app_user (id),
    name         TEXT NOT NULL,
    secret_hash  TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    expires_at   TEXT,
    revoked_at   TEXT
);
CREATE UNIQUE INDEX ux_api_token_secret ON api_token (secret_hash);
CREATE INDEX ix_api_token_user ON api_token (user_id, created_at);

CREATE TABLE user_session (
    secret_hash  TEXT PRIMARY KEY NOT NULL,
    user_id      TEXT NOT NULL REFERENCES app_user (id),
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);
CREATE INDEX ix_user_session_user ON user_session (user_id);

-- Sign-in through an OpenID Connect provider, and pipelines recording with their CI ID token
-- (issue 37). A person or pipeline from a provider is one row of app_user (with no password:
-- an empty hash never verifies) plus the provider's name for it: (issuer, subject), never the
-- username, so a provider account called "admin" is not our admin.

CREATE TABLE user_identity (
    issuer     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES app_user (id),
    created_at TEXT NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX ix_user_identity_user ON user_identity (user_id);

-- A sign-in under way: kept by the hash of its state, taken (deleted) by the callback, so a state
-- and its code verifier serve once.
CREATE TABLE oidc_login (
    state_hash    TEXT PRIMARY KEY NOT NULL,
    nonce         TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    next_path     TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL
);
CREATE INDEX ix_oidc_login_expires ON oidc_login (expires_at);

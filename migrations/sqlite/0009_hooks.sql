-- Signed inbound hooks from GitHub and GitLab (issue 14).
--
-- 1. An application may name its repository (`owner/name`, GitLab's `group/project`), which is
--    how a provider's event finds it. One application per repository.
ALTER TABLE application ADD COLUMN repository TEXT;
CREATE UNIQUE INDEX ux_application_repository ON application (lower(repository));

-- 2. Hooks. GitHub signs each delivery with HMAC-SHA256 under the hook's secret, so the secret
--    itself must be kept to check the signature (`signing_secret`, GitHub only, never shown
--    again or logged); GitLab sends the secret as a header, so only its SHA-256 is kept.
CREATE TABLE hook (
    id             TEXT PRIMARY KEY NOT NULL,
    provider       TEXT NOT NULL CHECK (provider IN ('github', 'gitlab')),
    name           TEXT NOT NULL,
    signing_secret TEXT,
    secret_hash    TEXT NOT NULL,
    created_by     TEXT NOT NULL REFERENCES app_user (id),
    created_at     TEXT NOT NULL
);

-- 3. What each hook received, the last 100 per hook (older ones are pruned on insert): when,
--    the provider's delivery id (a redelivery of one id records nothing new), and the outcome.
CREATE TABLE hook_delivery (
    id            TEXT PRIMARY KEY NOT NULL,
    hook_id       TEXT NOT NULL REFERENCES hook (id) ON DELETE CASCADE,
    delivery_id   TEXT NOT NULL,
    received_at   TEXT NOT NULL,
    event         TEXT NOT NULL,
    outcome       TEXT NOT NULL CHECK (outcome IN ('recorded', 'ignored', 'refused', 'replayed')),
    detail        TEXT NOT NULL,
    deployment_id TEXT REFERENCES deployment (id)
);
CREATE UNIQUE INDEX ux_hook_delivery ON hook_delivery (hook_id, delivery_id);
CREATE INDEX ix_hook_delivery_recent ON hook_delivery (hook_id, received_at);

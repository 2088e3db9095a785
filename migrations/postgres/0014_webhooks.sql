-- Signed outbound notifications (issue 17): webhook targets and their outbox. A recorded or
-- retracted deployment writes one outbox row per matching target in its own transaction; a
-- background worker delivers them (claiming rows with a lease, so a crashed instance's rows are
-- picked up again) and keeps each target's last 100 as its delivery log.
CREATE TABLE webhook (
    id              UUID PRIMARY KEY,
    url             TEXT NOT NULL,
    -- Comma-separated: deployment.recorded, deployment.retracted.
    events          TEXT NOT NULL,
    -- Comma-separated environment ids, or NULL for every environment.
    environment_ids TEXT,
    format          TEXT NOT NULL CHECK (format IN ('json', 'slack')),
    -- The HMAC key itself (a signature cannot be made from a hash); never shown again.
    signing_secret  TEXT NOT NULL,
    created_by      UUID NOT NULL REFERENCES app_user (id),
    created_at      TIMESTAMPTZ NOT NULL
);

CREATE TABLE webhook_delivery (
    id              UUID PRIMARY KEY,
    webhook_id      UUID NOT NULL REFERENCES webhook (id) ON DELETE CASCADE,
    event           TEXT NOT NULL,
    deployment_id   UUID REFERENCES deployment (id),
    created_at      TIMESTAMPTZ NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    locked_until    TIMESTAMPTZ,
    last_status     INTEGER,
    last_error      TEXT,
    delivered_at    TIMESTAMPTZ
);
CREATE INDEX ix_webhook_delivery_due ON webhook_delivery (next_attempt_at) WHERE status = 'pending';
CREATE INDEX ix_webhook_delivery_recent ON webhook_delivery (webhook_id, created_at);

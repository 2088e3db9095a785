-- Recording from pipelines (issue 14).
--
-- 1. A version may name the commit it was built from (pipelines know it; `createVersion` takes it).
ALTER TABLE version ADD COLUMN commit_sha TEXT;

-- 2. Idempotency keys: a retried `POST /api/deployments` with the same `Idempotency-Key` from the
--    same user replays the first answer instead of recording again. The row is written in the
--    deployment's own transaction, so a key is never taken without its deployment or the reverse;
--    the primary key makes a concurrent second request with the same key wait and then replay.
--    Rows older than 24 hours no longer count and are pruned when new keys are written.
CREATE TABLE idempotency_key (
    user_id         UUID NOT NULL REFERENCES app_user (id),
    idempotency_key TEXT NOT NULL,
    request_hash    TEXT NOT NULL,
    deployment_id   UUID NOT NULL REFERENCES deployment (id),
    created_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, idempotency_key)
);
CREATE INDEX ix_idempotency_key_created ON idempotency_key (created_at);

-- The audit trail (issue 17): every state change and security event, appended in the same
-- transaction as the change it describes. Append-only, enforced here like deployments.
-- `actor_username` and `token_name` are copies taken at the time (a later rename must not
-- rewrite history); `changes` is a JSON object {field: {"before": …, "after": …}}.
CREATE TABLE audit_entry (
    id             UUID PRIMARY KEY,
    at             TIMESTAMPTZ NOT NULL,
    actor_id       UUID REFERENCES app_user (id),
    actor_username TEXT,
    token_name     TEXT,
    client_address TEXT,
    action         TEXT NOT NULL,
    target_type    TEXT NOT NULL,
    target_id      TEXT,
    changes        TEXT
);
CREATE INDEX ix_audit_recent ON audit_entry (at DESC, id DESC);
CREATE INDEX ix_audit_actor ON audit_entry (actor_id, at DESC, id DESC);
CREATE INDEX ix_audit_target ON audit_entry (target_id, at DESC, id DESC);
CREATE INDEX ix_audit_action ON audit_entry (action, at DESC, id DESC);

CREATE FUNCTION audit_entry_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: entries cannot be changed or deleted';
END;
$$;

CREATE TRIGGER audit_entry_immutable_rows BEFORE UPDATE OR DELETE ON audit_entry
    FOR EACH ROW EXECUTE FUNCTION audit_entry_guard();
CREATE TRIGGER audit_entry_immutable_table BEFORE TRUNCATE ON audit_entry
    FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_guard();

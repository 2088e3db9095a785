-- The audit trail (issue 17): every state change and security event, appended in the same
-- transaction as the change it describes. Append-only, enforced here like deployments.
-- `actor_username` and `token_name` are copies taken at the time (a later rename must not
-- rewrite history); `changes` is a JSON object {field: {"before": …, "after": …}}.
CREATE TABLE audit_entry (
    id             TEXT PRIMARY KEY,
    at             TEXT NOT NULL,
    actor_id       TEXT REFERENCES app_user (id),
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

CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_entry
BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only: entries cannot be changed');
END;

CREATE TRIGGER audit_entry_no_delete BEFORE DELETE ON audit_entry
BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only: entries cannot be deleted');
END;

-- REPLACE INTO deletes without firing DELETE triggers: refuse a second row with the same id.
CREATE TRIGGER audit_entry_no_replace BEFORE INSERT ON audit_entry
WHEN EXISTS (SELECT 1 FROM audit_entry WHERE id = NEW.id)
BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only: entries cannot be replaced');
END;

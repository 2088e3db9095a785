-- A stamp for the settings every deploy check and every record reads besides the catalogue:
-- freezes and their early ends, locks, promotion rules, environments and webhooks. A server keeps
-- what it read with the epoch it read first, and reads it all again only when the epoch moved, so
-- a record asks one small row instead of six lists; a change made through another server moves
-- the same row. Statement triggers: one bump per changing statement, whatever it touched.
CREATE TABLE settings_epoch (
    id    SMALLINT PRIMARY KEY CHECK (id = 1),
    epoch BIGINT NOT NULL
);
INSERT INTO settings_epoch (id, epoch) VALUES (1, 0);

CREATE FUNCTION bump_settings_epoch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE settings_epoch SET epoch = epoch + 1 WHERE id = 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER freeze_window_changes_settings AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON freeze_window
    FOR EACH STATEMENT EXECUTE FUNCTION bump_settings_epoch();
CREATE TRIGGER freeze_end_changes_settings AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON freeze_end
    FOR EACH STATEMENT EXECUTE FUNCTION bump_settings_epoch();
CREATE TRIGGER deploy_lock_changes_settings AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON deploy_lock
    FOR EACH STATEMENT EXECUTE FUNCTION bump_settings_epoch();
CREATE TRIGGER promotion_requirement_changes_settings AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON promotion_requirement
    FOR EACH STATEMENT EXECUTE FUNCTION bump_settings_epoch();
CREATE TRIGGER environment_changes_settings AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON environment
    FOR EACH STATEMENT EXECUTE FUNCTION bump_settings_epoch();
CREATE TRIGGER webhook_changes_settings AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON webhook
    FOR EACH STATEMENT EXECUTE FUNCTION bump_settings_epoch();

-- A stamp for the settings every deploy check and every record reads besides the catalogue:
-- freezes and their early ends, locks, promotion rules, environments and webhooks. A server keeps
-- what it read with the epoch it read first, and reads it all again only when the epoch moved, so
-- a record asks one small row instead of six lists; a change made through another process moves
-- the same row.
CREATE TABLE settings_epoch (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    epoch INTEGER NOT NULL
);
INSERT INTO settings_epoch (id, epoch) VALUES (1, 0);

CREATE TRIGGER freeze_window_insert_changes_settings AFTER INSERT ON freeze_window
BEGIN UPDATE settings_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER freeze_window_update_changes_settings AFTER UPDATE ON freeze_window
BEGIN UPDATE settings_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER freeze_window_delete_changes_settings AFTER DELETE ON freeze_window
BEGIN UPDATE settings_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER freeze_end_insert_changes_settings AFTER INSERT ON freeze_end
BEGIN UPDATE settings_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER freeze_end_update_changes_settings AFTER UPDATE ON freeze_end
BEGIN UPDATE settings_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER freeze_end_delete_changes_settings AFTER DELETE ON freeze_end
BEGIN UPDATE settings_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER deploy_lock_insert_changes_settings AFTER INSERT ON deploy_lock
BEGIN UPDATE settings_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER deploy_lock_update_changes_settings AFTER UPDATE ON deploy_lock
BEGIN UPDATE settings_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER deploy_lock_delete_changes_settings AFTER DELETE ON deploy_lock
BEGIN UPDATE settings_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER promotion_requirement_insert_changes_settings AFTER INSERT ON promotion_requirement
BEGIN UPDATE settings_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER promotion_requirement_update_changes_settings AFTER UPDATE ON promotion_requirement
BEGIN UPDATE settings_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER promotion_requirement_delete_changes_settings AFTER DELETE ON promotion_requirement
BEGIN UPDATE settings_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER environment_insert_changes_settings AFTER INSERT ON environment
BEGIN UPDATE settings_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER environment_update_changes_settings AFTER UPDATE ON environment
BEGIN UPDATE settings_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER environment_delete_changes_settings AFTER DELETE ON environment
BEGIN UPDATE settings_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER webhook_insert_changes_settings AFTER INSERT ON webhook
BEGIN UPDATE settings_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER webhook_update_changes_settings AFTER UPDATE ON webhook
BEGIN UPDATE settings_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER webhook_delete_changes_settings AFTER DELETE ON webhook
BEGIN UPDATE settings_epoch SET epoch = epoch + 1 WHERE id = 1; END;

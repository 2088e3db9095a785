-- A stamp for the current-state matrix, so a server can keep the last matrix it built and reuse it
-- until something it shows has changed, even when another process on the same file made the
-- change. The stamp is (matrix_epoch.epoch, sum of current_deployment.revision):
--   * recording or retracting bumps the revision of the pair it touches;
--   * the rarer changes that remove a pair row, or change a name or the order the matrix shows
--     (applications, environments), bump the single epoch row through the triggers below.
-- Every committed change raises one of the two and nothing lowers them without raising the epoch,
-- so an unchanged stamp means an unchanged matrix.
ALTER TABLE current_deployment ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;

CREATE TABLE matrix_epoch (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    epoch INTEGER NOT NULL
);
INSERT INTO matrix_epoch (id, epoch) VALUES (1, 0);

CREATE TRIGGER application_insert_changes_matrix AFTER INSERT ON application
BEGIN UPDATE matrix_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER application_update_changes_matrix AFTER UPDATE ON application
BEGIN UPDATE matrix_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER application_delete_changes_matrix AFTER DELETE ON application
BEGIN UPDATE matrix_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER environment_insert_changes_matrix AFTER INSERT ON environment
BEGIN UPDATE matrix_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER environment_update_changes_matrix AFTER UPDATE ON environment
BEGIN UPDATE matrix_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER environment_delete_changes_matrix AFTER DELETE ON environment
BEGIN UPDATE matrix_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER pair_removal_changes_matrix AFTER DELETE ON current_deployment
BEGIN UPDATE matrix_epoch SET epoch = epoch + 1 WHERE id = 1; END;

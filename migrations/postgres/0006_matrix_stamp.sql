-- A stamp for the current-state matrix, so a server can keep the last matrix it built and reuse it
-- until something it shows has changed, even when another server on the same database made the
-- change. The stamp is (matrix_epoch.epoch, sum of current_deployment.revision):
--   * recording or retracting bumps the revision of the pair it touches (a row the transaction
--     locks anyway, so writers to different pairs never wait for each other);
--   * the rarer changes that remove a pair row, or change a name or the order the matrix shows
--     (applications, environments), bump the single epoch row through the triggers below.
-- Every committed change raises one of the two and nothing lowers them without raising the epoch,
-- so an unchanged stamp means an unchanged matrix.
ALTER TABLE current_deployment ADD COLUMN revision BIGINT NOT NULL DEFAULT 1;

CREATE TABLE matrix_epoch (
    id    SMALLINT PRIMARY KEY CHECK (id = 1),
    epoch BIGINT NOT NULL
);
INSERT INTO matrix_epoch (id, epoch) VALUES (1, 0);

CREATE FUNCTION bump_matrix_epoch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE matrix_epoch SET epoch = epoch + 1 WHERE id = 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER application_changes_matrix AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON application
    FOR EACH STATEMENT EXECUTE FUNCTION bump_matrix_epoch();
CREATE TRIGGER environment_changes_matrix AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON environment
    FOR EACH STATEMENT EXECUTE FUNCTION bump_matrix_epoch();
CREATE TRIGGER pair_removal_changes_matrix AFTER DELETE OR TRUNCATE ON current_deployment
    FOR EACH STATEMENT EXECUTE FUNCTION bump_matrix_epoch();

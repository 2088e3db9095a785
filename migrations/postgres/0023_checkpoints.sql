-- Time travel in bounded memory (issue 39): the whole matrix at chosen instants, so the state at
-- any instant is the latest checkpoint before it plus the few deployments between the two.
-- `cells` is every pair's cell at `at` (see app::ssr::store::checkpoints), encoded as one value:
-- one read instead of thousands of rows. A record or retraction marks `stale` the checkpoints
-- whose cells it changes (in its own transaction, under a shared advisory lock the builder takes
-- exclusively); answers skip stale ones and the builder writes them again. `position` is how
-- many live deployments were dated at or before `at` when it was written.
CREATE TABLE matrix_checkpoint (
    at       TIMESTAMPTZ PRIMARY KEY,
    stale    BOOLEAN NOT NULL DEFAULT FALSE,
    position BIGINT NOT NULL,
    cells    BYTEA NOT NULL
);
CREATE INDEX ix_matrix_checkpoint_stale ON matrix_checkpoint (at) WHERE stale;
-- Stored as written: the cells are mostly random ids, which compression barely shrinks, and
-- decompressing them would cost every answer.
ALTER TABLE matrix_checkpoint ALTER COLUMN cells SET STORAGE EXTERNAL;

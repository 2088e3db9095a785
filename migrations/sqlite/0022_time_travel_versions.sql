-- Time travel reads each deployment's version after a checkpoint by its id, for its identifier
-- and creation time: about 1,900 versions per answer. This index holds all three, so each is
-- one index search instead of a search in the primary key's index and another in the table
-- (5.7 -> 3.1 ms for that statement at 1M deployments). The statement names it (INDEXED BY):
-- without statistics SQLite's planner prefers the primary key's index.
CREATE INDEX ix_version_shown ON version (id, version_identifier, created_at);

-- What changed between two deployed versions (issue 36): the commits pipelines send with a
-- deployment or for a version, stored once per application and commit.

CREATE TABLE source_commit (
    application_id TEXT NOT NULL REFERENCES application (id),
    sha            TEXT NOT NULL,
    title          TEXT NOT NULL,
    author         TEXT NOT NULL,
    authored_at    TEXT NOT NULL,
    url            TEXT,
    PRIMARY KEY (application_id, sha)
);

-- One list sent for a version: `git log <since>..<version's commit>`. `since` is the commit
-- that was excluded ('' when the list runs from the repository's first commit); base_version_id
-- the version built from it, when one is known; base_is_ancestor false when history was
-- rewritten in between (a rebase), so the range says nothing about what the base contained.
CREATE TABLE commit_range (
    id               TEXT PRIMARY KEY NOT NULL,
    version_id       TEXT NOT NULL REFERENCES version (id),
    since_sha        TEXT NOT NULL,
    base_version_id  TEXT REFERENCES version (id),
    base_is_ancestor INTEGER NOT NULL,
    commit_count     INTEGER NOT NULL,
    truncated        INTEGER NOT NULL,
    created_at       TEXT NOT NULL,
    UNIQUE (version_id, since_sha)
);
CREATE INDEX ix_commit_range_base ON commit_range (base_version_id);

-- The range's commits in the order git log gave them (0 = newest).
CREATE TABLE range_commit (
    range_id TEXT NOT NULL REFERENCES commit_range (id),
    position INTEGER NOT NULL,
    sha      TEXT NOT NULL,
    PRIMARY KEY (range_id, position)
);
CREATE INDEX ix_range_commit_sha ON range_commit (sha, range_id);

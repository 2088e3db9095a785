//! The two storage backends. The `DATABASE_URL` scheme picks one at start-up.

// Defined before the backend modules so that they can use them too.
/// One column of the live deployment that ran in `d`'s pair just before `d` (`p`, joined to
/// its version as `pv`): a subquery, one index seek. The leading range on deployment_date lets
/// SQLite seek rather than scan the pair.
macro_rules! previous_in_pair_of_d {
    ($column:literal) => {
        concat!(
            "(SELECT ",
            $column,
            " FROM deployment p JOIN version pv ON pv.id = p.version_id
               WHERE p.application_id = d.application_id AND p.environment_id = d.environment_id
                 AND p.deleted_at IS NULL AND p.deployment_date <= d.deployment_date
                 AND (p.deployment_date, p.created_at, p.id) < (d.deployment_date, d.created_at, d.id)
               ORDER BY p.deployment_date DESC, p.created_at DESC, p.id DESC
               LIMIT 1)"
        )
    };
}

/// Webhook deliveries due at `$now` (a placeholder): pending, their time come, not held by
/// another instance's lease.
macro_rules! due_delivery {
    ($now:literal) => {
        concat!(
            "status = 'pending' AND next_attempt_at <= ",
            $now,
            " AND (locked_until IS NULL OR locked_until <= ",
            $now,
            ")"
        )
    };
}

/// The version of the live deployment that ran in `d`'s pair just before `d`.
macro_rules! previous_version_of_d {
    () => {
        previous_in_pair_of_d!("p.version_id")
    };
}

/// Counts a just-inserted deployment in its pair's current_deployment row (creating the row for
/// a pair's first deployment) and gives the row a new revision (the matrix stamp, migrations
/// 0006 and 0014/0016): `$next` is the backend's next value of the revision counter, `$raised`
/// the conflicting row's new revision, which must exceed its old one (the stamp's sum never
/// goes down).
/// This also locks the row until commit: concurrent recorders of one pair then refresh it one
/// after the other. Binds: application_id, environment_id,
/// deployment_id, deployment_date, created_at, version_id, deployed_by of the new deployment.
macro_rules! claim_pair {
    ($next:literal, $raised:literal) => {
        concat!(
            "INSERT INTO current_deployment
               (application_id, environment_id, deployment_id, deployment_date, created_at,
                version_id, deployed_by, live_deployments, revision)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 1, ",
            $next,
            ")
             ON CONFLICT (application_id, environment_id)
             DO UPDATE SET live_deployments = current_deployment.live_deployments + 1,
                           revision = ",
            $raised
        )
    };
}

/// Uncounts a retracted deployment and gives the pair a new revision (and locks the pair's
/// row). Binds: application_id, environment_id.
macro_rules! uncount_retracted {
    ($next:literal) => {
        concat!(
            "UPDATE current_deployment
                SET live_deployments = live_deployments - 1, revision = ",
            $next,
            " WHERE application_id = $1 AND environment_id = $2"
        )
    };
}

#[macro_use]
mod shared;
mod batch;
mod columns;
mod postgres;
mod sqlite;

use std::sync::Arc;

use app::ssr::Store;

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

/// Connects to the database named by `url`, applies pending migrations, and returns the store.
pub async fn connect(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    connect_via(url, None).await
}

/// As [`connect`]; on PostgreSQL, migrations run over `direct_url` when given (see
/// `DEPLOYTRACK_LISTEN_URL`: a connection that bypasses a transaction-mode pooler).
pub async fn connect_via(url: &str, direct_url: Option<&str>) -> anyhow::Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Arc::new(
            PgStore::connect(url, direct_url.unwrap_or(url)).await?,
        ))
    } else {
        anyhow::bail!(
            "unsupported DATABASE_URL scheme in {:?}: use sqlite://path/to/file.db or postgres://user@host/db",
            redact(url)
        )
    }
}

/// The login throttle's statements (migration 0007), the same text on both backends: sqlx binds
/// `$n` on SQLite too. Instants compare correctly as SQLite's fixed-width text.
const LOGIN_FAILURES: &str = "SELECT CAST(failures AS BIGINT), last_failure_at FROM login_throttle
      WHERE throttle_key = $1 AND last_failure_at >= $2";
/// Binds: key, at, since. A count whose last failure is older than `since` starts again at 1.
const RECORD_LOGIN_FAILURE: &str =
    "INSERT INTO login_throttle (throttle_key, failures, last_failure_at)
     VALUES ($1, 1, $2)
     ON CONFLICT (throttle_key) DO UPDATE
        SET failures = CASE WHEN login_throttle.last_failure_at < $3 THEN 1
                            ELSE login_throttle.failures + 1 END,
            last_failure_at = excluded.last_failure_at";
const PRUNE_LOGIN_FAILURES: &str = "DELETE FROM login_throttle WHERE last_failure_at < $1";
const CLEAR_LOGIN_FAILURES: &str = "DELETE FROM login_throttle WHERE throttle_key = $1";

/// Instants stored before migration 0007 refused those outside 1970–9999, one line each.
/// `$1`/`$2` are the range's ends in the backend's own spelling.
const OUT_OF_RANGE_INSTANTS: &str = "
    SELECT 'deployment ' || id || ' deployment_date ' || CAST(deployment_date AS TEXT) FROM deployment
     WHERE deployment_date < $1 OR deployment_date > $2
    UNION ALL
    SELECT 'version ' || id || ' released_at ' || CAST(released_at AS TEXT) FROM version
     WHERE released_at < $1 OR released_at > $2
    UNION ALL
    SELECT 'api_token ' || id || ' expires_at ' || CAST(expires_at AS TEXT) FROM api_token
     WHERE expires_at < $1 OR expires_at > $2
    LIMIT 100";

/// The URL without any password, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            let user = credentials.split(':').next().unwrap_or_default();
            format!("{}://{}:***@{}", &url[..scheme_end], user, &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

/// A deployment with the names it refers to and the version that ran in the same pair just
/// before it. Plain SQL that both SQLite and PostgreSQL accept; callers append WHERE/ORDER BY.
/// The previous version is looked up per output row in the select list (an index seek each,
/// only for the rows a page returns); as a join, SQLite computed it for every row of history.
/// Registers a version; bound by `bind_version` in the store macro.
macro_rules! insert_version {
    () => {
        "INSERT INTO version (id, application_id, version_identifier,
                              released_at, notes, commit_sha, created_at, archived_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    };
}
/// Appends an audit entry; binds the columns in table order.
const INSERT_AUDIT: &str = "INSERT INTO audit_entry
       (id, at, actor_id, actor_username, token_name, client_address, action, target_type,
        target_id, changes)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

/// Queues a webhook notification (the outbox), in the transaction of the change it reports.
const INSERT_OUTBOX: &str = "INSERT INTO webhook_delivery
       (id, webhook_id, event, deployment_id, created_at, status, attempts, next_attempt_at)
     VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6)";

/// Records a deployment; binds its columns in table order.
const INSERT_DEPLOYMENT: &str = "INSERT INTO deployment
       (id, application_id, version_id, environment_id, deployment_date, deployed_by, notes,
        created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

const INSERT_VERSION: &str = insert_version!();
/// As `INSERT_VERSION`, leaving an identifier the application already has alone.
const INSERT_VERSION_IF_NEW: &str = concat!(
    insert_version!(),
    " ON CONFLICT (application_id, version_identifier) DO NOTHING"
);

const DEPLOYMENT_SELECT: &str = concat!(
    "SELECT d.id, d.application_id, a.name AS application_name,
            d.version_id, v.version_identifier, v.created_at AS version_created_at,
            d.environment_id, e.name AS environment_name,
            d.deployment_date, d.deployed_by, d.notes, d.created_at,
            d.deleted_at, d.deleted_by, d.delete_reason, ",
    previous_in_pair_of_d!("pv.version_identifier"),
    " AS previous_version_identifier, ",
    previous_in_pair_of_d!("pv.created_at"),
    " AS previous_version_created_at
       FROM deployment d
       JOIN application a ON a.id = d.application_id
       JOIN version v ON v.id = d.version_id
       JOIN environment e ON e.id = d.environment_id"
);

/// Recomputes current_deployment from history (after a bulk import): per pair, the latest live
/// deployment, the version of the one before it and the number of live deployments. Both
/// backends accept it.
const REBUILD_CURRENT: &str = "INSERT INTO current_deployment
       (application_id, environment_id, deployment_id, deployment_date, created_at,
        version_id, deployed_by, previous_version_id, live_deployments)
     SELECT application_id, environment_id, id, deployment_date, created_at,
            version_id, deployed_by, previous_version_id, live_deployments
       FROM (SELECT d.*,
                    ROW_NUMBER() OVER pair_history AS latest,
                    LEAD(version_id) OVER pair_history AS previous_version_id,
                    COUNT(*) OVER (PARTITION BY application_id, environment_id)
                        AS live_deployments
               FROM deployment d
              WHERE deleted_at IS NULL
             WINDOW pair_history AS (PARTITION BY application_id, environment_id
                                     ORDER BY deployment_date DESC, created_at DESC, id DESC)) ranked
      WHERE latest = 1";

/// Recomputes a locked pair's current_deployment row from history, in a statement of its own so
/// that it sees every deployment committed before the lock was taken.
/// Binds: application_id, environment_id.
const REFRESH_PAIR: &str = concat!(
    "UPDATE current_deployment
        SET (deployment_id, deployment_date, created_at, version_id, deployed_by,
             previous_version_id) =
            (SELECT d.id, d.deployment_date, d.created_at, d.version_id, d.deployed_by, ",
    previous_version_of_d!(),
    "       FROM deployment d
             WHERE d.application_id = current_deployment.application_id
               AND d.environment_id = current_deployment.environment_id
               AND d.deleted_at IS NULL
             ORDER BY d.deployment_date DESC, d.created_at DESC, d.id DESC
             LIMIT 1)
      WHERE application_id = $1 AND environment_id = $2"
);

/// The matrix stamp (migration 0006): it changes whenever anything the matrix shows changes.
const MATRIX_STAMP: &str = "SELECT (SELECT epoch FROM matrix_epoch WHERE id = 1),
            (SELECT CAST(COALESCE(SUM(revision), 0) AS BIGINT) FROM current_deployment)";

/// The matrix epoch and the parts of the stamp's sum in the pairs' key order, as one row (one
/// snapshot; and SQLite hands a row at a time across threads, so one text beats 7,500 rows).
/// Both backends have string_agg with ORDER BY (SQLite since 3.44).
const PAIR_REVISIONS: &str = "SELECT (SELECT epoch FROM matrix_epoch WHERE id = 1),
            (SELECT string_agg(CAST(revision AS TEXT), ',' ORDER BY application_id, environment_id)
               FROM current_deployment),
            NULL";

/// As [`PAIR_REVISIONS`], naming the pairs too (`application_id environment_id`, in order).
const PAIR_REVISIONS_AND_KEYS: &str = "SELECT (SELECT epoch FROM matrix_epoch WHERE id = 1),
            (SELECT string_agg(CAST(revision AS TEXT), ',' ORDER BY application_id, environment_id)
               FROM current_deployment),
            (SELECT string_agg(CAST(application_id AS TEXT) || ' ' || CAST(environment_id AS TEXT),
                               ',' ORDER BY application_id, environment_id)
               FROM current_deployment)";

/// The matrix epoch, the stamp's sum and the pairs whose revision is above `$1`
/// (`application_id environment_id revision`, comma-separated; at most 33, lowest first: more
/// than the kept matrix patches means a rebuild anyway), as one row from one snapshot.
const PAIR_CHANGES: &str = "SELECT (SELECT epoch FROM matrix_epoch WHERE id = 1),
            (SELECT CAST(COALESCE(SUM(revision), 0) AS BIGINT) FROM current_deployment),
            (SELECT string_agg(CAST(application_id AS TEXT) || ' ' || CAST(environment_id AS TEXT)
                               || ' ' || CAST(revision AS TEXT), ',')
               FROM (SELECT application_id, environment_id, revision FROM current_deployment
                      WHERE revision > $1 ORDER BY revision LIMIT 33) changed)";

/// Reads [`PAIR_CHANGES`]' row.
fn parse_pair_changes(
    epoch: i64,
    revision_sum: i64,
    changed: Option<String>,
) -> Result<app::ssr::PairChanges, app::ssr::StoreError> {
    let parse = |entry: &str| -> Option<((uuid::Uuid, uuid::Uuid), i64)> {
        let mut parts = entry.split(' ');
        let application = uuid::Uuid::parse_str(parts.next()?).ok()?;
        let environment = uuid::Uuid::parse_str(parts.next()?).ok()?;
        let revision = parts.next()?.parse().ok()?;
        Some(((application, environment), revision))
    };
    let changed = changed
        .as_deref()
        .map_or(Some(vec![]), |text| text.split(',').map(parse).collect())
        .ok_or_else(|| {
            app::ssr::StoreError::other(std::io::Error::other("malformed pair changes"))
        })?;
    Ok(app::ssr::PairChanges {
        epoch,
        revision_sum,
        changed,
    })
}

/// Reads [`PAIR_REVISIONS`]' row.
fn parse_pair_revisions(
    epoch: i64,
    revisions: Option<String>,
    pairs: Option<String>,
) -> Result<app::ssr::PairRevisions, app::ssr::StoreError> {
    use app::ssr::StoreError;
    let malformed = || StoreError::other(std::io::Error::other("malformed pair revisions"));
    let revisions = revisions
        .as_deref()
        .map_or(Ok(vec![]), |text| text.split(',').map(str::parse).collect())
        .map_err(|_| malformed())?;
    let pairs = pairs
        .as_deref()
        .map_or(Ok(vec![]), |text| {
            text.split(',')
                .map(|pair| {
                    let (application, environment) = pair.split_once(' ').ok_or(())?;
                    Ok((
                        uuid::Uuid::parse_str(application).map_err(|_| ())?,
                        uuid::Uuid::parse_str(environment).map_err(|_| ())?,
                    ))
                })
                .collect::<Result<Vec<_>, ()>>()
        })
        .map_err(|_| malformed())?;
    Ok(app::ssr::PairRevisions {
        epoch,
        revisions,
        pairs,
    })
}

/// Insights are read in three statements (deployments to the measured environments dated in
/// [from, to), optionally of one application): the range's deployments, each measured pair's
/// first live deployment after the range, and the first live deployments of each version the
/// range holds. What followed a deployment in its pair is then found by walking the pair (see
/// [`insight_records`]): one index seek per pair instead of one per deployment, two per
/// version instead of two per deployment. Each comes back as one JSON text (see `json_rows`).
///
/// The range's deployments: these columns, from [`INSIGHT_RANGE`], a predicate on `d`, and the
/// range predicate; live ones and retracted ones apart (see `insight_rows`).
const INSIGHT_RANGE_COLUMNS: &str = "id, application_id, environment_id, version_id,
        deployment_date, created_at, deleted_at, version_identifier, version_created_at,
        released_at";
const INSIGHT_RANGE: &str = "SELECT d.id, d.application_id, d.environment_id, d.version_id,
            d.deployment_date, d.created_at, d.deleted_at,
            v.version_identifier, v.created_at AS version_created_at, v.released_at
       FROM deployment d JOIN version v ON v.id = d.version_id
      WHERE ";

/// Each measured pair with its first live deployment dated at or after `to`: these columns,
/// from [`INSIGHT_NEXT`], the bound `to`, [`INSIGHT_NEXT_PAIRS`] and a filter on `p`.
const INSIGHT_NEXT_COLUMNS: &str =
    "application_id, environment_id, deployment_date, version_identifier, version_created_at";
const INSIGHT_NEXT: &str = "SELECT p.application_id, p.environment_id, n.deployment_date,
            nv.version_identifier, nv.created_at AS version_created_at
       FROM current_deployment p
       JOIN deployment n ON n.id =
            (SELECT x.id FROM deployment x
              WHERE x.application_id = p.application_id AND x.environment_id = p.environment_id
                AND x.deleted_at IS NULL AND x.deployment_date >= ";
const INSIGHT_NEXT_PAIRS: &str = "
              ORDER BY x.deployment_date, x.created_at, x.id
              LIMIT 1)
       JOIN version nv ON nv.id = n.version_id
      WHERE ";

/// A version's first live deployment to the environments in the list that follows (`IN` or
/// `NOT IN` before it), read in date order from `ix_deployment_version_first` until one matches.
const INSIGHT_FIRSTS_COLUMNS: &str = "version_id, first_here, first_elsewhere";
const FIRST_DEPLOYMENT_OF_V: &str = "(SELECT f.deployment_date FROM deployment f
        WHERE f.version_id = v.id AND f.deleted_at IS NULL AND f.environment_id ";
const FIRST_DEPLOYMENT_END: &str = " ORDER BY f.deployment_date LIMIT 1)";

/// An application's live deployments for time travel (see `application_timeline`): these
/// columns, from [`TIMELINE`], the bound application id, an optional environment filter and
/// [`TIMELINE_ORDER`] (the pair index's order, so it is the index read).
const TIMELINE_COLUMNS: &str =
    "environment_id, id, deployment_date, created_at, version_id, deployed_by";
const TIMELINE: &str =
    "SELECT environment_id, id, deployment_date, created_at, version_id, deployed_by
       FROM deployment WHERE deleted_at IS NULL AND application_id = ";
const TIMELINE_ORDER: &str =
    " ORDER BY application_id, environment_id, deployment_date DESC, created_at DESC, id DESC";
/// An application's versions as time travel needs them (then the bound application id).
const VERSION_BRIEF_COLUMNS: &str = "id, version_identifier, created_at";
const VERSION_BRIEFS: &str =
    "SELECT id, version_identifier, created_at FROM version WHERE application_id = ";

/// How many ids one statement binds (both backends allow far more; this keeps statements short).
const IDS_PER_STATEMENT: usize = 1_000;

/// How many applications' deployments one statement of insights reads (see `insight_rows`).
const APPLICATIONS_PER_INSIGHT_READ: usize = 100;

/// What followed in a pair: a live deployment's date and version.
#[derive(Clone)]
struct NextInPair {
    date: chrono::DateTime<chrono::Utc>,
    version_identifier: String,
    version_created_at: chrono::DateTime<chrono::Utc>,
}

/// The insight records of the range's deployments, oldest first: each with the next live
/// deployment of its pair (the next one in the range, else the pair's first after it) and its
/// version's first deployments.
fn insight_records(
    mut range: Vec<columns::InsightRangeRow>,
    after: Vec<columns::InsightNextRow>,
    firsts: Vec<columns::InsightFirstsRow>,
) -> Vec<app::ssr::InsightRecord> {
    use std::collections::HashMap;
    let after: HashMap<(uuid::Uuid, uuid::Uuid), NextInPair> = after
        .into_iter()
        .map(|n| {
            let next = NextInPair {
                date: n.deployment_date.0,
                version_identifier: n.version_identifier,
                version_created_at: n.version_created_at.0,
            };
            ((n.application_id, n.environment_id), next)
        })
        .collect();
    let firsts: HashMap<uuid::Uuid, _> = firsts
        .into_iter()
        .map(|f| (f.version_id, (f.first_here, f.first_elsewhere)))
        .collect();
    // Pair by pair in history order (the order the old per-row seek used), walked backwards.
    range.sort_unstable_by_key(|r| {
        let pair = (r.application_id, r.environment_id);
        (pair, r.deployment_date.0, r.created_at.0, r.id)
    });
    let mut records = Vec::with_capacity(range.len());
    let mut pair = None;
    let mut next: Option<NextInPair> = None;
    for row in range.into_iter().rev() {
        let this_pair = (row.application_id, row.environment_id);
        if pair != Some(this_pair) {
            pair = Some(this_pair);
            next = after.get(&this_pair).cloned();
        }
        let (first_here, first_elsewhere) =
            firsts.get(&row.version_id).copied().unwrap_or_default();
        let record = app::ssr::InsightRecord {
            deployment_id: row.id,
            application_id: row.application_id,
            environment_id: row.environment_id,
            version_id: row.version_id,
            deployment_date: row.deployment_date.0,
            deleted_at: row.deleted_at.map(|t| t.0),
            version_identifier: row.version_identifier,
            version_created_at: row.version_created_at.0,
            released_at: row.released_at.map(|t| t.0),
            next_date: next.as_ref().map(|n| n.date),
            next_version_identifier: next.as_ref().map(|n| n.version_identifier.clone()),
            next_version_created_at: next.as_ref().map(|n| n.version_created_at),
            first_here: first_here.map(|t| t.0),
            first_elsewhere: first_elsewhere.map(|t| t.0),
        };
        if record.deleted_at.is_none() {
            next = Some(NextInPair {
                date: record.deployment_date,
                version_identifier: record.version_identifier.clone(),
                version_created_at: record.version_created_at,
            });
        }
        records.push(record);
    }
    records.reverse();
    records.sort_by_key(|r| r.deployment_date);
    records
}

/// Live deployments per environment, from the per-pair counts.
const COUNT_PER_ENVIRONMENT: &str = "SELECT environment_id, CAST(SUM(live_deployments) AS BIGINT)
       FROM current_deployment GROUP BY environment_id";

/// Removes a pair's current row once no live deployment is left in it (after a retraction).
/// Binds: application_id, environment_id.
const DROP_EMPTY_PAIR: &str = "DELETE FROM current_deployment
      WHERE application_id = $1 AND environment_id = $2
        AND NOT EXISTS (SELECT 1 FROM deployment d
                         WHERE d.application_id = current_deployment.application_id
                           AND d.environment_id = current_deployment.environment_id
                           AND d.deleted_at IS NULL)";

/// Matrix cells: `CURRENT_STATE_COLUMNS`, a relation shaped like current_deployment (the table
/// itself, or the time-travel cells of each backend), then `CURRENT_STATE_JOINS` and the pair
/// filter on `a`/`e`. The sort_* columns carry the matrix order ([`PAIR_ORDER`]).
const CURRENT_STATE_COLUMNS: &str = "
    SELECT c.application_id, a.name AS application_name,
           c.environment_id, e.name AS environment_name,
           c.deployment_id, c.version_id, v.version_identifier,
           v.created_at AS version_created_at, c.deployment_date, c.deployed_by,
           pv.version_identifier AS previous_version_identifier,
           pv.created_at AS previous_version_created_at,
           lower(a.name) AS sort_application, e.position AS sort_position,
           lower(e.name) AS sort_environment
      FROM ";
const CURRENT_STATE_JOINS: &str = " c
      JOIN application a ON a.id = c.application_id
      JOIN environment e ON e.id = c.environment_id
      JOIN version v ON v.id = c.version_id
      LEFT JOIN version pv ON pv.id = c.previous_version_id
     WHERE 1 = 1";

/// Matrix order: applications by name, environments in pipeline order.
const PAIR_ORDER: &str = " ORDER BY lower(a.name), a.id, e.position, lower(e.name)";

/// History order (and its keyset).
const HISTORY_ORDER: &str = " ORDER BY d.deployment_date DESC, d.created_at DESC, d.id DESC";

/// How a statement's outcome becomes the store's: driver errors mapped in one place, rows
/// turned into the model's types.
trait Outcome<T> {
    /// For statements whose result is not needed.
    fn done(self) -> Result<(), app::ssr::StoreError>;
    /// For one row (or value), converted.
    fn one<U: From<T>>(self) -> Result<U, app::ssr::StoreError>;
}

impl<T> Outcome<T> for Result<T, sqlx::Error> {
    fn done(self) -> Result<(), app::ssr::StoreError> {
        self.map(|_| ()).map_err(map_sqlx_error)
    }

    fn one<U: From<T>>(self) -> Result<U, app::ssr::StoreError> {
        self.map(U::from).map_err(map_sqlx_error)
    }
}

/// For many rows, each converted.
trait Rows<R> {
    fn many<U: From<R>>(self) -> Result<Vec<U>, app::ssr::StoreError>;
}

impl<R> Rows<R> for Result<Vec<R>, sqlx::Error> {
    fn many<U: From<R>>(self) -> Result<Vec<U>, app::ssr::StoreError> {
        self.map(|rows| rows.into_iter().map(U::from).collect())
            .map_err(map_sqlx_error)
    }
}

/// An UPDATE that touched nothing means the row does not exist.
fn expect_one(rows_affected: Result<u64, sqlx::Error>) -> Result<(), app::ssr::StoreError> {
    match rows_affected.map_err(map_sqlx_error)? {
        0 => Err(app::ssr::StoreError::NotFound),
        _ => Ok(()),
    }
}

/// The instants the model accepts (migration 0007 holds the databases to the same range).
fn instant_range() -> (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>) {
    let latest = "9999-12-31T23:59:59.999999Z"
        .parse()
        .expect("a valid instant");
    (chrono::DateTime::UNIX_EPOCH, latest)
}

/// `%q%` for LIKE, with LIKE's own wildcards in `q` taken literally (escape character `\`).
fn like_pattern(q: &str) -> String {
    let escaped = q
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// Maps a driver error into the store's vocabulary; `constraint` is what names the broken index.
fn map_sqlx_error(err: sqlx::Error) -> app::ssr::StoreError {
    use app::ssr::store::field_of_unique_index;
    use app::ssr::StoreError;
    let conflict = match &err {
        sqlx::Error::RowNotFound => return StoreError::NotFound,
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            let name = db.constraint().unwrap_or_else(|| db.message());
            field_of_unique_index(name)
        }
        // PostgreSQL's data exceptions for values it cannot hold: NUL in text (22021,
        // 22P05), instants outside its range (22008), and the range checks of migration 0007
        // (23514). SQLite's range triggers say "out of range".
        sqlx::Error::Database(db)
            if matches!(
                db.code().as_deref(),
                Some("22021" | "22P05" | "22008" | "23514")
            ) || db.message().contains("out of range") =>
        {
            return StoreError::Invalid(db.message().to_string());
        }
        _ => None,
    };
    match conflict {
        Some(field) => StoreError::Conflict(field),
        None => StoreError::other(err),
    }
}

#[cfg(test)]
mod tests {
    use super::columns::{InsightNextRow, InsightRangeRow, JsonInstant};
    use super::{insight_records, like_pattern, redact};
    use chrono::{TimeZone, Utc};
    use uuid::Uuid;

    fn at(day: u32) -> JsonInstant {
        JsonInstant(Utc.with_ymd_and_hms(2026, 11, day, 12, 0, 0).unwrap())
    }

    fn deployed(pair: u128, day: u32, version: &str, retracted: bool) -> InsightRangeRow {
        InsightRangeRow {
            id: Uuid::now_v7(),
            application_id: Uuid::from_u128(pair),
            environment_id: Uuid::nil(),
            version_id: Uuid::nil(),
            deployment_date: at(day),
            created_at: at(day),
            deleted_at: retracted.then(|| at(day + 1)),
            version_identifier: version.into(),
            version_created_at: at(1),
            released_at: None,
        }
    }

    /// Each deployment is followed by the next live one of its own pair: a retracted one in
    /// between is skipped, and the last ones take the pair's first deployment after the range.
    #[test]
    fn insight_records_follow_each_pair_to_its_next_live_deployment() {
        let range = vec![
            deployed(2, 4, "b1", false),
            deployed(1, 3, "a2", true),
            deployed(1, 2, "a1", false),
            deployed(1, 5, "a3", false),
        ];
        let after = vec![InsightNextRow {
            application_id: Uuid::from_u128(1),
            environment_id: Uuid::nil(),
            deployment_date: at(20),
            version_identifier: "a4".into(),
            version_created_at: at(1),
        }];
        let records = insight_records(range, after, vec![]);
        let next: Vec<(&str, Option<&str>)> = records
            .iter()
            .map(|r| {
                (
                    r.version_identifier.as_str(),
                    r.next_version_identifier.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            next,
            [
                ("a1", Some("a3")),
                ("a2", Some("a3")),
                ("b1", None),
                ("a3", Some("a4"))
            ],
            "oldest first"
        );
        assert_eq!(records[3].next_date, Some(at(20).0));
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern("50%_off"), "%50\\%\\_off%");
    }

    #[test]
    fn redact_hides_passwords_only() {
        assert_eq!(
            redact("postgres://app:s3cret@db:5432/x"),
            "postgres://app:***@db:5432/x"
        );
        assert_eq!(
            redact("sqlite://data/deploytrack.db"),
            "sqlite://data/deploytrack.db"
        );
    }
}

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

/// The version of the live deployment that ran in `d`'s pair just before `d`.
macro_rules! previous_version_of_d {
    () => {
        previous_in_pair_of_d!("p.version_id")
    };
}

#[macro_use]
mod shared;
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

/// Counts a just-inserted deployment in its pair's current_deployment row (creating the row for
/// a pair's first deployment) and bumps the row's revision (the matrix stamp, migration 0006).
/// This also locks the row until commit: concurrent recorders of one pair then refresh it one
/// after the other. Binds: application_id, environment_id,
/// deployment_id, deployment_date, created_at, version_id, deployed_by of the new deployment.
const CLAIM_PAIR: &str = "INSERT INTO current_deployment
       (application_id, environment_id, deployment_id, deployment_date, created_at,
        version_id, deployed_by, live_deployments)
     VALUES ($1, $2, $3, $4, $5, $6, $7, 1)
     ON CONFLICT (application_id, environment_id)
     DO UPDATE SET live_deployments = current_deployment.live_deployments + 1,
                   revision = current_deployment.revision + 1";

/// Uncounts a retracted deployment and bumps the pair's revision (and locks the pair's row).
/// Binds: application_id, environment_id.
const UNCOUNT_RETRACTED: &str = "UPDATE current_deployment
        SET live_deployments = live_deployments - 1, revision = revision + 1
      WHERE application_id = $1 AND environment_id = $2";

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

/// Insight rows ([`app::ssr::InsightRecord`]): the deployment, its version, and the next live
/// deployment in its pair (found by one seek down the pair index: a plain range on the date, which
/// SQLite turns into an index range where it would not for a row value); the caller appends the two
/// first-deployment columns, [`INSIGHT_JOINS`] and the range.
const INSIGHT_COLUMNS: &str = "SELECT d.id AS deployment_id, d.application_id, d.environment_id,
            d.version_id, d.deployment_date, d.deleted_at,
            v.version_identifier, v.created_at AS version_created_at, v.released_at,
            n.deployment_date AS next_date, nv.version_identifier AS next_version_identifier,
            nv.created_at AS next_version_created_at,";

const INSIGHT_JOINS: &str = " FROM deployment d
       JOIN version v ON v.id = d.version_id
       LEFT JOIN deployment n ON n.id =
            (SELECT x.id FROM deployment x
              WHERE x.application_id = d.application_id AND x.environment_id = d.environment_id
                AND x.deleted_at IS NULL
                AND x.deployment_date >= d.deployment_date
                AND (x.deployment_date > d.deployment_date OR x.created_at > d.created_at
                     OR (x.created_at = d.created_at AND x.id > d.id))
              ORDER BY x.deployment_date, x.created_at, x.id
              LIMIT 1)
       LEFT JOIN version nv ON nv.id = n.version_id";

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

/// current_deployment as it was at an instant, per backend (`CELLS_AT`, then the bound instant,
/// `CELLS_AT_PAIRS`, a pair filter on `pa`/`pe`, and `CELLS_AT_END`): per pair, the latest live
/// deployment dated at or before the instant and the version before it — index seeks per pair,
/// whatever the length of history.
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
    use super::{like_pattern, redact};

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

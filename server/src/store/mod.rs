//! The two storage backends. The `DATABASE_URL` scheme picks one at start-up.

mod postgres;
mod sqlite;

use std::sync::Arc;

use app::ssr::Store;

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

/// Connects to the database named by `url`, applies pending migrations, and returns the store.
pub async fn connect(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Arc::new(PgStore::connect(url).await?))
    } else {
        anyhow::bail!(
            "unsupported DATABASE_URL scheme in {:?}: use sqlite://path/to/file.db or postgres://user@host/db",
            redact(url)
        )
    }
}

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
/// The previous version is looked up per output row in the select list (an index seek each);
/// as a join condition SQLite re-ran the lookup for every version row, which cost seconds.
const DEPLOYMENT_SELECT: &str = "
    SELECT d.id, d.application_id, a.name AS application_name,
           d.version_id, v.version_identifier, v.created_at AS version_created_at,
           d.environment_id, e.name AS environment_name,
           d.deployment_date, d.deployed_by, d.notes, d.created_at,
           d.deleted_at, d.deleted_by, d.delete_reason,
           (SELECT pv.version_identifier FROM deployment p JOIN version pv ON pv.id = p.version_id
             WHERE p.application_id = d.application_id AND p.environment_id = d.environment_id
               AND p.deleted_at IS NULL
               AND (p.deployment_date, p.created_at, p.id) < (d.deployment_date, d.created_at, d.id)
             ORDER BY p.deployment_date DESC, p.created_at DESC, p.id DESC
             LIMIT 1) AS previous_version_identifier,
           (SELECT pv.created_at FROM deployment p JOIN version pv ON pv.id = p.version_id
             WHERE p.application_id = d.application_id AND p.environment_id = d.environment_id
               AND p.deleted_at IS NULL
               AND (p.deployment_date, p.created_at, p.id) < (d.deployment_date, d.created_at, d.id)
             ORDER BY p.deployment_date DESC, p.created_at DESC, p.id DESC
             LIMIT 1) AS previous_version_created_at
      FROM deployment d
      JOIN application a ON a.id = d.application_id
      JOIN version v ON v.id = d.version_id
      JOIN environment e ON e.id = d.environment_id";

/// Recomputes current_deployment from history (after a bulk import): the latest live deployment
/// of every pair. Both backends accept it.
const REBUILD_CURRENT: &str = "INSERT INTO current_deployment
               (application_id, environment_id, deployment_id, deployment_date, created_at)
             SELECT application_id, environment_id, id, deployment_date, created_at
               FROM (SELECT d.*, ROW_NUMBER() OVER (
                            PARTITION BY application_id, environment_id
                            ORDER BY deployment_date DESC, created_at DESC, id DESC) AS latest
                       FROM deployment d
                      WHERE deleted_at IS NULL) ranked
              WHERE latest = 1";

/// Matrix order: applications by name, environments in pipeline order.
const PAIR_ORDER: &str = " ORDER BY lower(a.name), a.id, e.position, lower(e.name)";

/// History order (and its keyset).
const HISTORY_ORDER: &str = " ORDER BY d.deployment_date DESC, d.created_at DESC, d.id DESC";

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

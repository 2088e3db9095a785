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
    use super::redact;

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

//! The two storage backends. The `DATABASE_URL` scheme picks one at start-up.
//!
//! - `dialect.rs`: what a backend supplies (the [`dialect::Dialect`] trait) and the helpers every
//!   area shares;
//! - one file per area of the storage contract (`app::ssr::store`), with that area's statements,
//!   written once for both backends: `catalogue`, `access`, `hooks`, `deployments`, `current`,
//!   `audit`, `badges`, `insights`, `webhooks`, `policy`, `changes`;
//! - `sqlite.rs` and `postgres.rs`: each backend's connection and its `Dialect`, nothing else;
//! - `columns.rs` (how values and rows cross into each database), `batch.rs` (statements sent
//!   together), `outcome.rs` (driver errors into the store's).

mod access;
mod audit;
mod badges;
mod batch;
mod catalogue;
mod changes;
mod checkpoints;
mod columns;
mod current;
mod deployments;
mod dialect;
mod drift;
mod hooks;
mod insights;
mod outcome;
mod policy;
mod postgres;
mod sqlite;
mod teams;
mod webhooks;

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

/// Implements the whole storage contract for a backend (`$store`, a [`dialect::Dialect`] over
/// `$db`): every area's statements, and what concerns the database as such.
macro_rules! store_for {
    ($store:ty, $db:ty) => {
        crate::store::dialect::shared_helpers!($store, $db);
        crate::store::catalogue::application_store!($store, $db);
        crate::store::catalogue::environment_store!($store, $db);
        crate::store::catalogue::version_store!($store, $db);
        crate::store::access::user_store!($store, $db);
        crate::store::access::credential_store!($store, $db);
        crate::store::access::identity_store!($store, $db);
        crate::store::hooks::hook_store!($store, $db);
        crate::store::deployments::deployment_store!($store, $db);
        crate::store::deployments::history_store!($store, $db);
        crate::store::current::current_state_store!($store, $db);
        crate::store::checkpoints::checkpoint_store!($store, $db);
        crate::store::audit::audit_store!($store, $db);
        crate::store::badges::badge_store!($store, $db);
        crate::store::badges::view_store!($store, $db);
        crate::store::teams::team_store!($store, $db);
        crate::store::drift::drift_store!($store, $db);
        crate::store::insights::insight_store!($store, $db);
        crate::store::webhooks::webhook_store!($store, $db);
        crate::store::policy::policy_store!($store, $db);
        crate::store::changes::change_store!($store, $db);

        const _: () = {
            use app::ssr::store::{Store, StoreError};

            use crate::store::columns::DbTime;
            use crate::store::dialect::Dialect;
            use crate::store::outcome::{instant_range, map_sqlx_error, Outcome};
            use crate::store::OUT_OF_RANGE_INSTANTS;

            #[async_trait::async_trait]
            impl Store for $store {
                fn backend(&self) -> &'static str {
                    Self::NAME
                }

                fn announces_changes(&self) -> bool {
                    Self::ANNOUNCES_CHANGES
                }

                async fn ping(&self) -> Result<(), StoreError> {
                    sqlx::query("SELECT 1").execute(self.reader()).await.done()
                }

                async fn out_of_range_instants(&self) -> Result<Vec<String>, StoreError> {
                    let (earliest, latest) = instant_range();
                    sqlx::query_scalar(OUT_OF_RANGE_INSTANTS)
                        .bind(DbTime(earliest))
                        .bind(DbTime(latest))
                        .fetch_all(self.reader())
                        .await
                        .map_err(map_sqlx_error)
                }
            }
        };
    };
}
use store_for;

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

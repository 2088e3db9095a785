//! What a backend supplies, written down as a trait the compiler checks: everything that
//! differs between SQLite and PostgreSQL. The statements themselves are written once, per area
//! (`catalogue.rs`, `deployments.rs`, …), each area as a small macro expanded for each backend:
//! sqlx's per-database types (arguments, rows, connections) leave no generic way to write a
//! statement once, but every name a statement needs from its backend is named here.

use std::future::Future;
use std::ops::DerefMut;

use app::ssr::store::{CurrentStateRecord, HistoryKey, NewDeployment, StoreError};
use sqlx::{Database, Pool, QueryBuilder};

use super::batch::Batch;

/// A backend: its pools, its spelling of what the two dialects write differently, and the few
/// operations each does its own way.
pub(super) trait Dialect: Send + Sync + Sized + 'static {
    type Db: Database;
    /// A connection that may write, held until dropped (SQLite's one writer, waited for in
    /// turn; a pooled connection on PostgreSQL).
    type Writer<'a>: DerefMut<Target = <Self::Db as Database>::Connection> + Send
    where
        Self: 'a;

    /// For logs and health output.
    const NAME: &'static str;
    /// True when the database itself tells every instance about committed changes (PostgreSQL's
    /// NOTIFY, migration 0010).
    const ANNOUNCES_CHANGES: bool;
    /// The case-insensitive match (`LIKE` in SQLite, `ILIKE` in PostgreSQL).
    const LIKE: &'static str;
    /// Appended to the select that claims webhook deliveries: how concurrent claimers avoid
    /// each other's rows (nothing on SQLite, which has one writer).
    const SKIP_LOCKED: &'static str;
    /// A statement whose rows come back as one JSON text, `[[value, …], …]` (NULL when there are
    /// none): `{columns}` and `{rows}` are filled in by [`wrapped`] (see `json_rows`).
    const JSON_ROWS: &'static str;
    /// The statement that reads matrix cells, in matrix order: `{rows}` is the current-state
    /// query, `{columns}` the cell's columns (SQLite packs cells into one JSON text; PostgreSQL
    /// reads rows).
    const CELLS: &'static str;
    /// Counts a new deployment in its pair's row with a new revision (see
    /// `deployments::claim_pair!`): how the next revision is drawn.
    const CLAIM_PAIR: &'static str;
    /// Uncounts a retracted deployment (see `deployments::uncount_retracted!`).
    const UNCOUNT_RETRACTED: &'static str;
    /// Taken by a record, a retraction or a bulk load before it marks checkpoints stale, and
    /// held to its commit (PostgreSQL's shared advisory lock); none on SQLite, whose one writer
    /// already keeps them apart from the checkpoint builder.
    const CHECKPOINT_SHARED_LOCK: Option<&'static str>;
    /// Taken by the checkpoint builder before it reads (the exclusive one): a change either
    /// committed before the builder read, or marks what the builder wrote stale.
    const CHECKPOINT_EXCLUSIVE_LOCK: Option<&'static str>;
    /// Run first in a read transaction whose statements must all see one snapshot (SQLite's
    /// transactions always do).
    const ONE_SNAPSHOT: Option<&'static str>;
    /// How time travel's statement names the version table: SQLite is told to read it through
    /// its covering index (migration 0022), which its planner passes over without statistics.
    const VERSIONS_SHOWN: &'static str;
    /// How the checkpoint builder (to find the n-th live deployment after an instant) and time
    /// travel (the deployments after a checkpoint) name the deployment table, as `d`: SQLite is told to
    /// walk the live-date index (migration 0005). At 10M its planner chose a skip-scan of the pair
    /// index and a sort instead for the builder, 3.5 s per checkpoint.
    const LIVE_BY_DATE: &'static str;
    /// Run in time travel's read transaction before its statements (see `CheckpointStore::state_at`).
    /// PostgreSQL plans the deployments after a checkpoint for ~5,000 rows and hashes the whole
    /// version table for them (12 of 14 ms at 1M with 20,000 versions); told not to hash or merge,
    /// it looks each version up in its covering index (migration 0024): 6–7 ms.
    const TIME_TRAVEL_JOINS: Option<&'static str>;
    /// Run after the planner's statistics are gathered (ANALYZE), in order. SQLite (built with
    /// STAT4, as libsqlite3-sys builds it) drops its value samples: with them, every statement
    /// whose plan could depend on a bound value is compiled again each time it runs with new
    /// values, which was a seventh of recording's CPU at 1M. The row counts (sqlite_stat1) stay.
    const AFTER_ANALYZE: &'static [&'static str];

    /// The pool for statements that change nothing.
    fn reader(&self) -> &Pool<Self::Db>;
    /// The connection for changes, once it is this caller's turn.
    fn writer(&self) -> impl Future<Output = Result<Self::Writer<'_>, sqlx::Error>> + Send;
    /// Runs the batch's statements in order on `tx` (see `batch`).
    fn run_batch(
        tx: &mut <Self::Db as Database>::Connection,
        batch: Batch,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
    /// Runs the batch's statements on the writer as a transaction of their own: begin, the
    /// statements, commit.
    fn run_transaction(&self, batch: Batch)
        -> impl Future<Output = Result<(), sqlx::Error>> + Send;
    /// Pushes " AND …": strictly after `key` in history order (each planner wants its own
    /// spelling of the keyset predicate).
    fn push_after_key(qb: &mut QueryBuilder<'_, Self::Db>, key: HistoryKey);
    /// Runs a [`Self::CELLS`] statement and decodes its cells.
    fn fetch_cells(
        &self,
        query: QueryBuilder<'_, Self::Db>,
    ) -> impl Future<Output = Result<Vec<CurrentStateRecord>, StoreError>> + Send;
    /// Bulk import: many deployments in one transaction, without touching the current state.
    fn insert_deployments_bulk(
        &self,
        deployments: &[NewDeployment],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// `template`, a whole statement with a `{columns}` and a `{rows}` hole, with `columns` written
/// in and what `rows` pushes (the inner query, binds and all) in place of `{rows}`.
pub(super) fn wrapped<DB: Database>(
    template: &str,
    columns: &[&str],
    rows: impl FnOnce(&mut QueryBuilder<'static, DB>),
) -> QueryBuilder<'static, DB> {
    let (before, after) = template.split_once("{rows}").expect("a {rows} hole");
    let mut query = QueryBuilder::default();
    query.push(before.replace("{columns}", &columns.join(", ")));
    rows(&mut query);
    query.push(after);
    query
}

/// Runs `$body` (which reaches the transaction's connection as `$tx`) in a transaction on the
/// writer, appends the audit entries to the same transaction and commits: a change and its entry
/// land together or not at all. With `if |outcome| keep`, an outcome that fails `keep` (an
/// update that found no row) is rolled back and no entry written.
macro_rules! audited {
    ($self:ident, $audit:expr, |$tx:ident| $body:expr) => {
        audited!($self, $audit, |$tx| $body, if |_outcome| true)
    };
    ($self:ident, $audit:expr, |$tx:ident| $body:expr, if |$outcome:ident| $keep:expr) => {
        async {
            let mut writer = $self.writer().await?;
            let mut transaction = sqlx::Connection::begin(&mut *writer).await?;
            let outcome = {
                let $tx = &mut *transaction;
                $body
            };
            let $outcome = &outcome;
            if $keep {
                Self::append_audit(&mut transaction, $audit).await?;
                transaction.commit().await?;
            }
            Ok::<_, sqlx::Error>(outcome)
        }
        .await
    };
}
pub(super) use audited;

/// The helpers every area's statements share, for one backend (inherent methods: they name the
/// backend's own sqlx types).
macro_rules! shared_helpers {
    ($store:ty, $db:ty) => {
        const _: () = {
            use app::model::Version;
            use app::ssr::store::{AuditRecord, StoreError};
            use uuid::Uuid;

            use crate::store::batch::Batch;
            use crate::store::columns::{DbId, DbTime, JsonRow};
            use crate::store::dialect::{wrapped, Dialect};
            use crate::store::outcome::map_sqlx_error;

            impl $store {
                /// Pushes `(id, id, …)` with each id bound: the list after an `IN`.
                fn push_id_list(qb: &mut sqlx::QueryBuilder<'_, $db>, ids: &[Uuid]) {
                    qb.push("(");
                    let mut list = qb.separated(", ");
                    for id in ids {
                        list.push_bind(DbId(*id));
                    }
                    qb.push(")");
                }

                /// The rows `rows` pushes (its columns named as `T`'s fields), as one JSON text:
                /// sqlx hands SQLite rows over one at a time from its worker thread, a thread
                /// wake-up per row; for thousands of rows one text is several times faster (and
                /// on PostgreSQL about as fast as rows).
                async fn json_rows<T: JsonRow>(
                    &self,
                    rows: impl FnOnce(&mut sqlx::QueryBuilder<'static, $db>) + Send,
                ) -> Result<Vec<T>, StoreError> {
                    let mut query = wrapped(Self::JSON_ROWS, T::COLUMNS, rows);
                    let text: Option<String> = query
                        .build_query_scalar()
                        .fetch_one(self.reader())
                        .await
                        .map_err(map_sqlx_error)?;
                    text.map_or(Ok(vec![]), |text| {
                        serde_json::from_str(&text).map_err(StoreError::other)
                    })
                }

                /// Deletes row `id` of `table`, after the rows of `children` that refer to it by
                /// `column`; how many `table` rows went (0: there was no such row).
                async fn delete_with_children(
                    tx: &mut <$db as sqlx::Database>::Connection,
                    table: &str,
                    children: &str,
                    column: &str,
                    id: Uuid,
                ) -> Result<u64, sqlx::Error> {
                    sqlx::query(&format!("DELETE FROM {children} WHERE {column} = $1"))
                        .bind(DbId(id))
                        .execute(&mut *tx)
                        .await?;
                    let deleted = sqlx::query(&format!("DELETE FROM {table} WHERE id = $1"))
                        .bind(DbId(id))
                        .execute(&mut *tx)
                        .await?;
                    Ok(deleted.rows_affected())
                }

                /// Appends audit entries inside the caller's transaction.
                async fn append_audit(
                    tx: &mut <$db as sqlx::Database>::Connection,
                    entries: &[AuditRecord],
                ) -> Result<(), sqlx::Error> {
                    let mut batch = Batch::default();
                    batch.audit(entries);
                    Self::run_batch(tx, batch).await
                }

                /// `sql` (an `insert_version!` statement) with the version's columns bound in order.
                fn bind_version<'q>(
                    sql: &'q str,
                    v: &'q Version,
                ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>> {
                    sqlx::query(sql)
                        .bind(DbId(v.id))
                        .bind(DbId(v.application_id))
                        .bind(&v.version_identifier)
                        .bind(v.released_at.map(DbTime))
                        .bind(&v.notes)
                        .bind(&v.commit_sha)
                        .bind(DbTime(v.created_at))
                        .bind(v.archived_at.map(DbTime))
                }
            }
        };
    };
}
pub(super) use shared_helpers;

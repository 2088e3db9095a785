//! The embedded default: one SQLite file in WAL mode with foreign keys on.
//! Ids are stored as UUID text and instants as fixed-width RFC 3339 text (see the migration and
//! `columns`). The statements are written once per area (see `mod.rs`); this is the SQLite
//! `Dialect`: its connections and what it spells its own way.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use app::ssr::store::{CurrentStateRecord, HistoryKey, NewDeployment, StoreError};
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{ConnectOptions, QueryBuilder, Sqlite, SqlitePool};

use super::batch::{arguments, Batch};
use super::columns::{CellRow, DbId, DbTime};
use super::deployments::{claim_pair, uncount_retracted};
use super::dialect::Dialect;
use super::outcome::map_sqlx_error;

/// Reading connections: WAL lets them run beside the writer. More than the cores buys no speed
/// and costs memory (a page cache and a worker thread with its own malloc arena each; see
/// benches/README.md).
const READERS: u32 = 2;

pub struct SqliteStore {
    /// Read-only connections for every query that changes nothing.
    pool: SqlitePool,
    /// The one connection that writes. Held directly rather than as a pool of one: a pool
    /// pings a connection each time it is given back (a trip to SQLite's thread per change),
    /// and tokio's lock hands it to waiting writers in the order they came.
    writer: tokio::sync::Mutex<WriterConnection>,
}

/// The writer connection, and whether a transaction sent as one text (see
/// `run_transaction`) may have been left open on it: its caller went away before it knew.
pub struct WriterConnection {
    connection: SqliteConnection,
    in_doubt: bool,
}

/// The writer, held until dropped; it derefs to the connection.
pub struct Writer<'a>(tokio::sync::MutexGuard<'a, WriterConnection>);

impl std::ops::Deref for Writer<'_> {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        &self.0.connection
    }
}

impl std::ops::DerefMut for Writer<'_> {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self.0.connection
    }
}

impl SqliteStore {
    /// Opens (creating file and folder if needed) and migrates the database at `url`.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            // A page cache per connection, never given back: sized for what is still read
            // from the database (the dashboard's weekly counts), no larger (figures in
            // benches/README.md, "Figures behind the code").
            .pragma("cache_size", "-4000");
        let file = options.get_filename();
        if let Some(folder) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
            if !Path::new(folder).exists() {
                std::fs::create_dir_all(folder)?;
            }
        }
        // SQLite has one writer at a time. Writers queue for the single writer connection in
        // order; several connections contending for the lock would instead sleep in SQLite's
        // busy handler (in steps up to 100 ms), which is what made recording's p99 slow.
        let mut writer = options.connect().await?;
        sqlx::migrate!("../migrations/sqlite")
            .run(&mut writer)
            .await?;
        // SQLite never gathers planner statistics by itself; without them a grown history can
        // be read through the wrong index. This refreshes them when they are missing or stale
        // (a table grown 25-fold since it was last analysed), in full: with analysis_limit the
        // estimates were wrong enough for a history page to sort the whole table.
        sqlx::query("PRAGMA optimize=0x10002")
            .execute(&mut writer)
            .await?;
        for statement in Self::AFTER_ANALYZE {
            sqlx::query(statement).execute(&mut writer).await?;
        }
        // A connection to a file cannot go stale: no ping before each use (on SQLite a trip
        // to the connection's thread, as costly as the statement).
        let pool = SqlitePoolOptions::new()
            .max_connections(READERS)
            .test_before_acquire(false)
            .connect_with(options.read_only(true))
            .await?;
        Ok(Self {
            pool,
            writer: tokio::sync::Mutex::new(WriterConnection {
                connection: writer,
                in_doubt: false,
            }),
        })
    }
}

impl Dialect for SqliteStore {
    type Db = Sqlite;
    type Writer<'a> = Writer<'a>;

    const NAME: &'static str = "sqlite";
    const CHECKPOINT_SHARED_LOCK: Option<&'static str> = None;
    const CHECKPOINT_EXCLUSIVE_LOCK: Option<&'static str> = None;
    const ONE_SNAPSHOT: Option<&'static str> = None;
    const VERSIONS_SHOWN: &'static str = "version v INDEXED BY ix_version_shown";
    const LIVE_BY_DATE: &'static str = "deployment d INDEXED BY ix_deployment_live_date";
    const TIME_TRAVEL_JOINS: Option<&'static str> = None;
    /// Then reads the statistics again (the documented way to make SQLite reload them; it
    /// makes the table again, empty).
    const AFTER_ANALYZE: &'static [&'static str] =
        &["DROP TABLE IF EXISTS sqlite_stat4", "ANALYZE sqlite_schema"];
    const ANNOUNCES_CHANGES: bool = false;
    const LIKE: &'static str = "LIKE";
    /// One writer at a time: a claiming UPDATE needs no row locks to be exclusive.
    const SKIP_LOCKED: &'static str = "";
    /// Rows as one JSON text (see `json_rows`).
    const JSON_ROWS: &'static str =
        "SELECT json_group_array(json_array({columns})) FROM ({rows}) json_rows";
    /// Matrix cells come back as one JSON text rather than thousands of rows: sqlx hands SQLite
    /// rows over one at a time from its worker thread, a thread wake-up per row, which made the
    /// 7,500-cell matrix spend most of its time switching threads. Kept in matrix order.
    const CELLS: &'static str = "SELECT json_group_array(json_array({columns})
            ORDER BY sort_application, application_id, sort_position, sort_environment)
          FROM ({rows})";
    // One writer at a time: the highest revision + 1 is never drawn twice.
    const CLAIM_PAIR: &'static str = claim_pair!(
        "(SELECT COALESCE(MAX(revision), 0) + 1 FROM current_deployment)",
        "excluded.revision"
    );
    const UNCOUNT_RETRACTED: &'static str =
        uncount_retracted!("(SELECT MAX(revision) + 1 FROM current_deployment)");

    fn reader(&self) -> &SqlitePool {
        &self.pool
    }

    /// The writer, once the changes queued before this one are done; a transaction its last
    /// holder may have left open is rolled back first.
    async fn writer(&self) -> Result<Self::Writer<'_>, sqlx::Error> {
        let mut writer = Writer(self.writer.lock().await);
        if writer.0.in_doubt {
            // Fails harmlessly when the transaction had ended.
            let _ = sqlx::query("ROLLBACK").execute(&mut *writer).await;
            writer.0.in_doubt = false;
        }
        Ok(writer)
    }

    /// Begin, the statements and commit as one text: one trip to the writer's thread instead
    /// of three (the single writer's trips are what limits recording). The text stops at the
    /// first statement that fails, inside the transaction, which is then rolled back; if the
    /// caller goes away before it knows, the next one to take the writer rolls it back.
    async fn run_transaction(&self, batch: Batch) -> Result<(), sqlx::Error> {
        let (sql, values) = batch.into_one_text();
        let sql = format!("BEGIN;\n{sql}COMMIT;");
        let values = arguments::<SqliteArguments<'static>>(values)?;
        let mut writer = self.writer().await?;
        writer.0.in_doubt = true;
        let ran = sqlx::query_with(&sql, values).execute(&mut *writer).await;
        if ran.is_err() {
            let _ = sqlx::query("ROLLBACK").execute(&mut *writer).await;
        }
        writer.0.in_doubt = false;
        ran.map(|_| ())
    }

    /// The statements as one text: SQLite runs them in order on the connection's thread, one
    /// trip there and back instead of one per statement (see `batch`).
    async fn run_batch(tx: &mut SqliteConnection, batch: Batch) -> Result<(), sqlx::Error> {
        let (sql, values) = batch.into_one_text();
        sqlx::query_with(&sql, arguments::<SqliteArguments<'static>>(values)?)
            .execute(tx)
            .await
            .map(|_| ())
    }

    /// Strictly after `key` in history order. Spelled out, with a plain range on the leading
    /// column: SQLite then walks the history index from the cursor; with a row-value comparison
    /// it sorted whole tables.
    fn push_after_key(qb: &mut QueryBuilder<'_, Sqlite>, key: HistoryKey) {
        let (date, created, id) = (
            DbTime(key.deployment_date),
            DbTime(key.created_at),
            DbId(key.id),
        );
        qb.push(" AND d.deployment_date <= ")
            .push_bind(date)
            .push(" AND (d.deployment_date < ")
            .push_bind(date)
            .push(" OR (d.deployment_date = ")
            .push_bind(date)
            .push(" AND (d.created_at < ")
            .push_bind(created)
            .push(" OR (d.created_at = ")
            .push_bind(created)
            .push(" AND d.id < ")
            .push_bind(id)
            .push("))))");
    }

    async fn fetch_cells(
        &self,
        mut query: QueryBuilder<'_, Sqlite>,
    ) -> Result<Vec<CurrentStateRecord>, StoreError> {
        let json: String = query
            .build_query_scalar()
            .fetch_one(&self.pool)
            .await
            .map_err(map_sqlx_error)?;
        let cells: Vec<CellRow> = serde_json::from_str(&json).map_err(StoreError::other)?;
        Ok(cells.into_iter().map(CurrentStateRecord::from).collect())
    }

    async fn insert_deployments_bulk(
        &self,
        deployments: &[NewDeployment],
    ) -> Result<(), StoreError> {
        async {
            let mut writer = self.writer().await?;
            let mut tx = sqlx::Connection::begin(&mut *writer).await?;
            // 8 values a row; 1,000 rows stay well under SQLite's limit on bound parameters.
            for chunk in deployments.chunks(1_000) {
                let mut qb = QueryBuilder::<Sqlite>::new(
                    "INSERT INTO deployment (id, application_id, version_id, environment_id,
                                             deployment_date, deployed_by, notes, created_at) ",
                );
                qb.push_values(chunk, |mut row, d| {
                    row.push_bind(DbId(d.id))
                        .push_bind(DbId(d.application_id))
                        .push_bind(DbId(d.version_id))
                        .push_bind(DbId(d.environment_id))
                        .push_bind(DbTime(d.deployment_date))
                        .push_bind(d.deployed_by.clone())
                        .push_bind(d.notes.clone())
                        .push_bind(DbTime(d.created_at));
                });
                qb.build().execute(&mut *tx).await?;
            }
            tx.commit().await
        }
        .await
        .map_err(map_sqlx_error)
    }
}

super::store_for!(SqliteStore, Sqlite);

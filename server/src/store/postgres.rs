//! PostgreSQL for production and scale-out: native UUID and TIMESTAMPTZ columns. The statements
//! are written once per area (see `mod.rs`); this is the PostgreSQL `Dialect`: its pool and
//! what it spells its own way.

use std::str::FromStr;

use app::ssr::store::{CurrentStateRecord, HistoryKey, NewDeployment, StoreError};
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgArguments, PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use super::batch::{arguments, one_statement, Batch};
use super::columns::{CurrentStateRow, DbId, DbTime};
use super::deployments::{claim_pair, uncount_retracted};
use super::dialect::Dialect;
use super::outcome::{map_sqlx_error, Rows};

pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Migrates over `direct_url`, then opens the pool on `url`. The two differ when `url` goes
    /// through a transaction-mode pooler (PgBouncer): the migrator's advisory lock is session
    /// state, which only a direct connection keeps. The pool's connections rely on no session
    /// state at all: no startup options (the pooler refuses them; JIT is switched off for this
    /// role and database by migration 0011 instead), and prepared statements are named per
    /// connection, which PgBouncer 1.21+ maps onto its server connections
    /// (`max_prepared_statements`).
    pub async fn connect(url: &str, direct_url: &str) -> anyhow::Result<Self> {
        let options = |url: &str| -> anyhow::Result<PgConnectOptions> {
            // Floats are never stored; without this startup parameter a pooler need not be told
            // to ignore it.
            Ok(PgConnectOptions::from_str(url)?.extra_float_digits(None))
        };
        {
            let mut direct = PgConnection::connect_with(&options(direct_url)?).await?;
            sqlx::migrate!("../migrations/postgres")
                .run(&mut direct)
                .await?;
            direct.close().await?;
        }
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .connect_with(options(url)?)
            .await?;
        Ok(Self { pool })
    }
}

impl Dialect for PgStore {
    type Db = Postgres;
    type Writer<'a> = sqlx::pool::PoolConnection<Postgres>;

    const NAME: &'static str = "postgres";
    const CHECKPOINT_SHARED_LOCK: Option<&'static str> =
        Some("SELECT pg_advisory_xact_lock_shared(7468322049)");
    const CHECKPOINT_EXCLUSIVE_LOCK: Option<&'static str> =
        Some("SELECT pg_advisory_xact_lock(7468322049)");
    const ONE_SNAPSHOT: Option<&'static str> =
        Some("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    const VERSIONS_SHOWN: &'static str = "version v";
    const LIVE_BY_DATE: &'static str = "deployment d";
    const TIME_TRAVEL_JOINS: Option<&'static str> = Some(
        "SELECT set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true)",
    );
    const AFTER_ANALYZE: &'static [&'static str] = &[];
    const ANNOUNCES_CHANGES: bool = true;
    const LIKE: &'static str = "ILIKE";
    /// Instances claiming at once each take other rows instead of waiting for one another.
    const SKIP_LOCKED: &'static str = " FOR UPDATE SKIP LOCKED";
    /// Rows as one JSON text (see `json_rows`); an empty set is NULL.
    const JSON_ROWS: &'static str =
        "SELECT CAST(json_agg(json_build_array({columns})) AS TEXT) FROM ({rows}) json_rows";
    /// Cells as rows, in matrix order.
    const CELLS: &'static str = "{rows} ORDER BY lower(a.name), a.id, e.position, lower(e.name)";
    const CLAIM_PAIR: &'static str = claim_pair!(
        "nextval('matrix_revision')",
        // Drawn before waiting for the row lock: a writer that drew later but locked first may
        // have committed a higher revision meanwhile.
        "GREATEST(excluded.revision, current_deployment.revision + 1)"
    );
    const UNCOUNT_RETRACTED: &'static str =
        uncount_retracted!("GREATEST(nextval('matrix_revision'), revision + 1)");

    fn reader(&self) -> &PgPool {
        &self.pool
    }

    async fn writer(&self) -> Result<Self::Writer<'_>, sqlx::Error> {
        self.pool.acquire().await
    }

    /// The statements one by one (a bound query carries one statement here), those pushed
    /// `as_one` as one.
    async fn run_batch(tx: &mut PgConnection, batch: Batch) -> Result<(), sqlx::Error> {
        for group in batch.into_groups() {
            let (sql, values) = one_statement(group);
            sqlx::query_with(&sql, arguments::<PgArguments>(values)?)
                .execute(&mut *tx)
                .await?;
        }
        Ok(())
    }

    async fn run_transaction(&self, batch: Batch) -> Result<(), sqlx::Error> {
        let mut writer = self.writer().await?;
        let mut tx = sqlx::Connection::begin(&mut *writer).await?;
        Self::run_batch(&mut tx, batch).await?;
        tx.commit().await
    }

    /// Strictly after `key` in history order: PostgreSQL walks the history index from a
    /// row-value comparison.
    fn push_after_key(qb: &mut QueryBuilder<'_, Postgres>, key: HistoryKey) {
        qb.push(" AND (d.deployment_date, d.created_at, d.id) < (")
            .push_bind(DbTime(key.deployment_date))
            .push(", ")
            .push_bind(DbTime(key.created_at))
            .push(", ")
            .push_bind(DbId(key.id))
            .push(")");
    }

    async fn fetch_cells(
        &self,
        mut query: QueryBuilder<'_, Postgres>,
    ) -> Result<Vec<CurrentStateRecord>, StoreError> {
        query
            .build_query_as::<CurrentStateRow>()
            .fetch_all(&self.pool)
            .await
            .many()
    }

    async fn insert_deployments_bulk(
        &self,
        deployments: &[NewDeployment],
    ) -> Result<(), StoreError> {
        async {
            let mut tx = self.pool.begin().await?;
            // Column arrays through UNNEST: one statement per 10,000 rows.
            for chunk in deployments.chunks(10_000) {
                let ids = |f: fn(&NewDeployment) -> Uuid| chunk.iter().map(f).collect::<Vec<_>>();
                let times = |f: fn(&NewDeployment) -> DateTime<Utc>| {
                    chunk.iter().map(f).collect::<Vec<_>>()
                };
                let texts = |f: fn(&NewDeployment) -> &Option<String>| {
                    chunk.iter().map(|d| f(d).clone()).collect::<Vec<_>>()
                };
                sqlx::query(
                    "INSERT INTO deployment (id, application_id, version_id, environment_id,
                                             deployment_date, deployed_by, notes, created_at)
                     SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[],
                                          $5::timestamptz[], $6::text[], $7::text[], $8::timestamptz[])",
                )
                .bind(ids(|d| d.id))
                .bind(ids(|d| d.application_id))
                .bind(ids(|d| d.version_id))
                .bind(ids(|d| d.environment_id))
                .bind(times(|d| d.deployment_date))
                .bind(texts(|d| &d.deployed_by))
                .bind(texts(|d| &d.notes))
                .bind(times(|d| d.created_at))
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await
        }
        .await
        .map_err(map_sqlx_error)
    }
}

super::store_for!(PgStore, Postgres);

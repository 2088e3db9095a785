//! The embedded default: one SQLite file in WAL mode with foreign keys on.
//! Ids are stored as UUID text and instants as fixed-width RFC 3339 text (see the migration).

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use app::model::{ApiToken, Application, DeploymentFilter, Environment, Role, User, Version};
use app::ssr::{
    CurrentStateRecord, DeploymentRecord, HistoryKey, MatrixStamp, NewDeployment, PairFilter,
    SessionRecord, Store, StoreError,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool};
use uuid::Uuid;

use super::{
    like_pattern, map_sqlx_error, CLAIM_PAIR, COUNT_PER_ENVIRONMENT, CURRENT_STATE_COLUMNS,
    CURRENT_STATE_JOINS, DEPLOYMENT_SELECT, DROP_EMPTY_PAIR, HISTORY_ORDER, MATRIX_STAMP,
    REBUILD_CURRENT as REBUILD, REFRESH_PAIR, UNCOUNT_RETRACTED,
};
use super::{
    CLEAR_LOGIN_FAILURES, LOGIN_FAILURES, OUT_OF_RANGE_INSTANTS, PRUNE_LOGIN_FAILURES,
    RECORD_LOGIN_FAILURE,
};

/// Time-travel cells (see `CURRENT_STATE_COLUMNS`): a subquery seeks each pair's latest
/// deployment id at the instant, then the deployment and its previous version are looked up.
const CELLS_AT: &str = concat!(
    "(SELECT d.application_id, d.environment_id, d.id AS deployment_id, d.deployment_date,
             d.created_at, d.version_id, d.deployed_by, ",
    previous_version_of_d!(),
    " AS previous_version_id
        FROM (SELECT (SELECT p.id FROM deployment p
                       WHERE p.application_id = pa.id AND p.environment_id = pe.id
                         AND p.deleted_at IS NULL AND p.deployment_date <= "
);
const CELLS_AT_PAIRS: &str = "
                       ORDER BY p.deployment_date DESC, p.created_at DESC, p.id DESC
                       LIMIT 1) AS id
                FROM application pa CROSS JOIN environment pe
               WHERE 1 = 1";
const CELLS_AT_END: &str = ") latest
        JOIN deployment d ON d.id = latest.id)";

/// Reading connections: WAL lets them run beside the writer. More than the cores buys no speed
/// and costs memory (a page cache and a worker thread with its own malloc arena each: 4 readers
/// peaked at 224 MB RSS under `make bench` at 10k rows, 2 at 162 MB).
const READERS: u32 = 2;

pub struct SqliteStore {
    /// Read-only connections for every query that changes nothing.
    pool: SqlitePool,
    /// The one connection that writes.
    writer: SqlitePool,
}

fn ts(at: &DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

fn opt_ts(at: &Option<DateTime<Utc>>) -> Option<String> {
    at.as_ref().map(ts)
}

fn decode_err(column: &str, err: impl std::error::Error + Send + Sync + 'static) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: column.to_string(),
        source: Box::new(err),
    }
}

fn get_id(row: &SqliteRow, column: &str) -> Result<Uuid, sqlx::Error> {
    let raw: String = row.try_get(column)?;
    Uuid::parse_str(&raw).map_err(|e| decode_err(column, e))
}

/// Reads an instant. Before migration 0007, instants with signed or five-digit years could be
/// written (`-5000-…`, `+10000-…`, which RFC 3339 cannot express); they are read as they were
/// written rather than making every page that shows them fail.
fn parse_ts(raw: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|err| {
            chrono::NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.fZ")
                .map(|t| t.and_utc())
                .map_err(|_| err)
        })
}

fn get_ts(row: &SqliteRow, column: &str) -> Result<DateTime<Utc>, sqlx::Error> {
    let raw: String = row.try_get(column)?;
    parse_ts(&raw).map_err(|e| decode_err(column, e))
}

fn get_opt_ts(row: &SqliteRow, column: &str) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    let raw: Option<String> = row.try_get(column)?;
    raw.map(|raw| parse_ts(&raw).map_err(|e| decode_err(column, e)))
        .transpose()
}

fn application_from(row: SqliteRow) -> Result<Application, sqlx::Error> {
    Ok(Application {
        id: get_id(&row, "id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        created_at: get_ts(&row, "created_at")?,
        updated_at: get_ts(&row, "updated_at")?,
        archived_at: get_opt_ts(&row, "archived_at")?,
    })
}

fn environment_from(row: SqliteRow) -> Result<Environment, sqlx::Error> {
    Ok(Environment {
        id: get_id(&row, "id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        position: row.try_get("position")?,
        is_production: row.try_get("is_production")?,
        created_at: get_ts(&row, "created_at")?,
        updated_at: get_ts(&row, "updated_at")?,
        archived_at: get_opt_ts(&row, "archived_at")?,
    })
}

fn version_from(row: SqliteRow) -> Result<Version, sqlx::Error> {
    Ok(Version {
        id: get_id(&row, "id")?,
        application_id: get_id(&row, "application_id")?,
        version_identifier: row.try_get("version_identifier")?,
        released_at: get_opt_ts(&row, "released_at")?,
        notes: row.try_get("notes")?,
        created_at: get_ts(&row, "created_at")?,
        archived_at: get_opt_ts(&row, "archived_at")?,
    })
}

fn get_role(row: &SqliteRow) -> Result<Role, sqlx::Error> {
    let raw: String = row.try_get("role")?;
    Role::parse(&raw).ok_or_else(|| decode_err("role", UnknownRole(raw)))
}

#[derive(Debug, thiserror::Error)]
#[error("unknown role {0:?}")]
struct UnknownRole(String);

fn user_from(row: SqliteRow) -> Result<User, sqlx::Error> {
    Ok(User {
        id: get_id(&row, "id")?,
        username: row.try_get("username")?,
        display_name: row.try_get("display_name")?,
        role: get_role(&row)?,
        created_at: get_ts(&row, "created_at")?,
        disabled_at: get_opt_ts(&row, "disabled_at")?,
    })
}

fn token_from(row: SqliteRow) -> Result<ApiToken, sqlx::Error> {
    Ok(ApiToken {
        id: get_id(&row, "id")?,
        user_id: get_id(&row, "user_id")?,
        name: row.try_get("name")?,
        created_at: get_ts(&row, "created_at")?,
        last_used_at: get_opt_ts(&row, "last_used_at")?,
        expires_at: get_opt_ts(&row, "expires_at")?,
        revoked_at: get_opt_ts(&row, "revoked_at")?,
    })
}

fn session_from(row: SqliteRow) -> Result<SessionRecord, sqlx::Error> {
    Ok(SessionRecord {
        secret_hash: row.try_get("secret_hash")?,
        user_id: get_id(&row, "user_id")?,
        created_at: get_ts(&row, "created_at")?,
        last_seen_at: get_ts(&row, "last_seen_at")?,
        expires_at: get_ts(&row, "expires_at")?,
    })
}

fn deployment_from(row: SqliteRow) -> Result<DeploymentRecord, sqlx::Error> {
    let previous: Option<String> = row.try_get("previous_version_identifier")?;
    let previous_version = match previous {
        Some(identifier) => Some((identifier, get_ts(&row, "previous_version_created_at")?)),
        None => None,
    };
    Ok(DeploymentRecord {
        id: get_id(&row, "id")?,
        application_id: get_id(&row, "application_id")?,
        application_name: row.try_get("application_name")?,
        version_id: get_id(&row, "version_id")?,
        version_identifier: row.try_get("version_identifier")?,
        version_created_at: get_ts(&row, "version_created_at")?,
        environment_id: get_id(&row, "environment_id")?,
        environment_name: row.try_get("environment_name")?,
        deployment_date: get_ts(&row, "deployment_date")?,
        deployed_by: row.try_get("deployed_by")?,
        notes: row.try_get("notes")?,
        created_at: get_ts(&row, "created_at")?,
        deleted_at: get_opt_ts(&row, "deleted_at")?,
        deleted_by: row.try_get("deleted_by")?,
        delete_reason: row.try_get("delete_reason")?,
        previous_version,
    })
}

/// Matrix cells come back as one JSON text rather than thousands of rows: sqlx hands SQLite
/// rows over one at a time from its worker thread, a thread wake-up per row, which made the
/// 7,500-cell matrix spend most of its time switching threads. Wraps a current-state query
/// (pushed after it, closed by `)`) and keeps the matrix order.
const CELLS_AS_ONE_ROW: &str = "SELECT json_group_array(json_array(
        application_id, application_name, environment_id, environment_name, deployment_id,
        version_id, version_identifier, version_created_at, deployment_date, deployed_by,
        previous_version_identifier, previous_version_created_at)
        ORDER BY sort_application, application_id, sort_position, sort_environment)
      FROM (";

/// One cell as [`CELLS_AS_ONE_ROW`] encodes it.
type CellJson = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn cell_from_json(cell: CellJson) -> Result<CurrentStateRecord, StoreError> {
    let (
        app,
        app_name,
        env,
        env_name,
        deployment,
        version,
        identifier,
        version_created,
        deployment_date,
        deployed_by,
        previous_identifier,
        previous_created,
    ) = cell;
    let id = |raw: &str| Uuid::parse_str(raw).map_err(StoreError::other);
    let instant = |raw: &str| {
        DateTime::parse_from_rfc3339(raw)
            .map(|t| t.with_timezone(&Utc))
            .map_err(StoreError::other)
    };
    let previous_version = match (previous_identifier, previous_created) {
        (Some(identifier), Some(created)) => Some((identifier, instant(&created)?)),
        _ => None,
    };
    Ok(CurrentStateRecord {
        application_id: id(&app)?,
        application_name: app_name,
        environment_id: id(&env)?,
        environment_name: env_name,
        deployment_id: id(&deployment)?,
        version_id: id(&version)?,
        version_identifier: identifier,
        version_created_at: instant(&version_created)?,
        deployment_date: instant(&deployment_date)?,
        deployed_by,
        previous_version,
    })
}

/// Recomputes the pair's current row; see [`REFRESH_PAIR`].
async fn refresh_pair(
    tx: &mut sqlx::SqliteConnection,
    application_id: &str,
    environment_id: &str,
) -> Result<(), StoreError> {
    sqlx::query(REFRESH_PAIR)
        .bind(application_id)
        .bind(environment_id)
        .execute(tx)
        .await
        .map(|_| ())
        .map_err(map_sqlx_error)
}

/// Appends " AND …" conditions selecting active pairs, optionally one application / environment.
fn push_pair_filter(qb: &mut QueryBuilder<'_, Sqlite>, pairs: PairFilter, app: &str, env: &str) {
    qb.push(format!(
        " AND {app}.archived_at IS NULL AND {env}.archived_at IS NULL"
    ));
    if let Some(id) = pairs.application_id {
        qb.push(format!(" AND {app}.id = "))
            .push_bind(id.to_string());
    }
    if let Some(id) = pairs.environment_id {
        qb.push(format!(" AND {env}.id = "))
            .push_bind(id.to_string());
    }
}

/// An UPDATE that touched nothing means the row does not exist.
fn expect_one(result: sqlx::sqlite::SqliteQueryResult) -> Result<(), StoreError> {
    if result.rows_affected() == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

impl SqliteStore {
    /// Runs a [`CELLS_AS_ONE_ROW`] query and decodes its cells.
    async fn fetch_cells(
        &self,
        mut query: QueryBuilder<'_, Sqlite>,
    ) -> Result<Vec<CurrentStateRecord>, StoreError> {
        query.push(")");
        let json: String = query
            .build_query_scalar()
            .fetch_one(&self.pool)
            .await
            .map_err(map_sqlx_error)?;
        let cells: Vec<CellJson> = serde_json::from_str(&json).map_err(StoreError::other)?;
        cells.into_iter().map(cell_from_json).collect()
    }

    /// Opens (creating file and folder if needed) and migrates the database at `url`.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            // 8 MB of page cache per connection (the default is 2 MB): the matrix's working
            // set (current state, versions, names) is about 4 MB at 500 × 15; with less, each
            // read re-reads pages from the OS (measured: 88 ms -> 15 ms at 1M deployments).
            .pragma("cache_size", "-8000");
        let file = options.get_filename();
        if let Some(folder) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
            if !Path::new(folder).exists() {
                std::fs::create_dir_all(folder)?;
            }
        }
        // SQLite has one writer at a time. Writers queue for the single writer connection in
        // order; several connections contending for the lock would instead sleep in SQLite's
        // busy handler (in steps up to 100 ms), which is what made recording's p99 slow.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("../migrations/sqlite").run(&writer).await?;
        // SQLite never gathers planner statistics by itself; without them a grown history can
        // be read through the wrong index. This refreshes them when they are missing or stale
        // (a table grown 25-fold since it was last analysed), in full: with analysis_limit the
        // estimates were wrong enough (1,001 rows per environment instead of 66,667) that a
        // history page at 1M rows sorted the whole table (3 s instead of 2 ms). A full ANALYZE
        // of 1M deployments takes ~1.5 s, and happens only after such growth.
        sqlx::query("PRAGMA optimize=0x10002")
            .execute(&writer)
            .await?;
        let pool = SqlitePoolOptions::new()
            .max_connections(READERS)
            .connect_with(options.read_only(true))
            .await?;
        Ok(Self { pool, writer })
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(map_sqlx_error)
    }

    async fn list_applications(
        &self,
        include_archived: bool,
    ) -> Result<Vec<Application>, StoreError> {
        sqlx::query(
            "SELECT * FROM application WHERE (? OR archived_at IS NULL) ORDER BY lower(name)",
        )
        .bind(include_archived)
        .try_map(application_from)
        .fetch_all(&self.pool)
        .await
        .map_err(map_sqlx_error)
    }

    async fn get_application(&self, id: Uuid) -> Result<Application, StoreError> {
        sqlx::query("SELECT * FROM application WHERE id = ?")
            .bind(id.to_string())
            .try_map(application_from)
            .fetch_one(&self.pool)
            .await
            .map_err(map_sqlx_error)
    }

    async fn insert_application(&self, a: &Application) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO application (id, name, description, created_at, updated_at, archived_at)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(a.id.to_string())
        .bind(&a.name)
        .bind(&a.description)
        .bind(ts(&a.created_at))
        .bind(ts(&a.updated_at))
        .bind(opt_ts(&a.archived_at))
        .execute(&self.writer)
        .await
        .map(|_| ())
        .map_err(map_sqlx_error)
    }

    async fn update_application(&self, a: &Application) -> Result<(), StoreError> {
        let result = sqlx::query(
            "UPDATE application SET name = ?, description = ?, updated_at = ?, archived_at = ?
             WHERE id = ?",
        )
        .bind(&a.name)
        .bind(&a.description)
        .bind(ts(&a.updated_at))
        .bind(opt_ts(&a.archived_at))
        .bind(a.id.to_string())
        .execute(&self.writer)
        .await
        .map_err(map_sqlx_error)?;
        expect_one(result)
    }

    async fn list_environments(
        &self,
        include_archived: bool,
    ) -> Result<Vec<Environment>, StoreError> {
        sqlx::query(
            "SELECT * FROM environment WHERE (? OR archived_at IS NULL) ORDER BY position, lower(name)",
        )
        .bind(include_archived)
        .try_map(environment_from)
        .fetch_all(&self.pool)
        .await
        .map_err(map_sqlx_error)
    }

    async fn get_environment(&self, id: Uuid) -> Result<Environment, StoreError> {
        sqlx::query("SELECT * FROM environment WHERE id = ?")
            .bind(id.to_string())
            .try_map(environment_from)
            .fetch_one(&self.pool)
            .await
            .map_err(map_sqlx_error)
    }

    async fn insert_environment(&self, e: &Environment) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO environment
               (id, name, description, position, is_production, created_at, updated_at, archived_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(e.id.to_string())
        .bind(&e.name)
        .bind(&e.description)
        .bind(e.position)
        .bind(e.is_production)
        .bind(ts(&e.created_at))
        .bind(ts(&e.updated_at))
        .bind(opt_ts(&e.archived_at))
        .execute(&self.writer)
        .await
        .map(|_| ())
        .map_err(map_sqlx_error)
    }

    async fn update_environment(&self, e: &Environment) -> Result<(), StoreError> {
        let result = sqlx::query(
            "UPDATE environment SET name = ?, description = ?, position = ?, is_production = ?,
                    updated_at = ?, archived_at = ?
             WHERE id = ?",
        )
        .bind(&e.name)
        .bind(&e.description)
        .bind(e.position)
        .bind(e.is_production)
        .bind(ts(&e.updated_at))
        .bind(opt_ts(&e.archived_at))
        .bind(e.id.to_string())
        .execute(&self.writer)
        .await
        .map_err(map_sqlx_error)?;
        expect_one(result)
    }

    async fn next_environment_position(&self) -> Result<i32, StoreError> {
        sqlx::query_scalar("SELECT COALESCE(MAX(position) + 1, 0) FROM environment")
            .fetch_one(&self.pool)
            .await
            .map_err(map_sqlx_error)
    }

    async fn set_environment_positions(
        &self,
        ordered_ids: &[Uuid],
        updated_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await.map_err(map_sqlx_error)?;
        for (position, id) in ordered_ids.iter().enumerate() {
            sqlx::query("UPDATE environment SET position = ?, updated_at = ? WHERE id = ?")
                .bind(position as i32)
                .bind(ts(&updated_at))
                .bind(id.to_string())
                .execute(&mut *tx)
                .await
                .map_err(map_sqlx_error)?;
        }
        tx.commit().await.map_err(map_sqlx_error)
    }

    async fn list_versions(
        &self,
        application_id: Uuid,
        include_archived: bool,
    ) -> Result<Vec<Version>, StoreError> {
        sqlx::query(
            "SELECT * FROM version WHERE application_id = ? AND (? OR archived_at IS NULL)
             ORDER BY created_at DESC, id DESC",
        )
        .bind(application_id.to_string())
        .bind(include_archived)
        .try_map(version_from)
        .fetch_all(&self.pool)
        .await
        .map_err(map_sqlx_error)
    }

    async fn get_version(&self, id: Uuid) -> Result<Version, StoreError> {
        sqlx::query("SELECT * FROM version WHERE id = ?")
            .bind(id.to_string())
            .try_map(version_from)
            .fetch_one(&self.pool)
            .await
            .map_err(map_sqlx_error)
    }

    async fn insert_version(&self, v: &Version) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO version
               (id, application_id, version_identifier, released_at, notes, created_at, archived_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(v.id.to_string())
        .bind(v.application_id.to_string())
        .bind(&v.version_identifier)
        .bind(opt_ts(&v.released_at))
        .bind(&v.notes)
        .bind(ts(&v.created_at))
        .bind(opt_ts(&v.archived_at))
        .execute(&self.writer)
        .await
        .map(|_| ())
        .map_err(map_sqlx_error)
    }

    async fn update_version(&self, v: &Version) -> Result<(), StoreError> {
        let result = sqlx::query(
            "UPDATE version SET released_at = ?, notes = ?, archived_at = ? WHERE id = ?",
        )
        .bind(opt_ts(&v.released_at))
        .bind(&v.notes)
        .bind(opt_ts(&v.archived_at))
        .bind(v.id.to_string())
        .execute(&self.writer)
        .await
        .map_err(map_sqlx_error)?;
        expect_one(result)
    }

    async fn count_users(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT COUNT(*) FROM app_user")
            .fetch_one(&self.pool)
            .await
            .map_err(map_sqlx_error)
    }

    async fn insert_user(&self, u: &User, password_hash: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO app_user
               (id, username, display_name, role, password_hash, created_at, updated_at, disabled_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(u.id.to_string())
        .bind(&u.username)
        .bind(&u.display_name)
        .bind(u.role.as_str())
        .bind(password_hash)
        .bind(ts(&u.created_at))
        .bind(ts(&u.created_at))
        .bind(opt_ts(&u.disabled_at))
        .execute(&self.writer)
        .await
        .map(|_| ())
        .map_err(map_sqlx_error)
    }

    async fn get_user(&self, id: Uuid) -> Result<User, StoreError> {
        sqlx::query("SELECT * FROM app_user WHERE id = ?")
            .bind(id.to_string())
            .try_map(user_from)
            .fetch_one(&self.pool)
            .await
            .map_err(map_sqlx_error)
    }

    async fn find_credentials(&self, username: &str) -> Result<(User, String), StoreError> {
        sqlx::query("SELECT * FROM app_user WHERE lower(username) = lower(?)")
            .bind(username)
            .try_map(|row: SqliteRow| {
                let hash: String = row.try_get("password_hash")?;
                Ok((user_from(row)?, hash))
            })
            .fetch_one(&self.pool)
            .await
            .map_err(map_sqlx_error)
    }

    async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        sqlx::query("SELECT * FROM app_user ORDER BY lower(username)")
            .try_map(user_from)
            .fetch_all(&self.pool)
            .await
            .map_err(map_sqlx_error)
    }

    async fn update_user(&self, u: &User, updated_at: DateTime<Utc>) -> Result<(), StoreError> {
        let result = sqlx::query(
            "UPDATE app_user SET display_name = ?, role = ?, disabled_at = ?, updated_at = ?
             WHERE id = ?",
        )
        .bind(&u.display_name)
        .bind(u.role.as_str())
        .bind(opt_ts(&u.disabled_at))
        .bind(ts(&updated_at))
        .bind(u.id.to_string())
        .execute(&self.writer)
        .await
        .map_err(map_sqlx_error)?;
        expect_one(result)
    }

    async fn set_password_hash(
        &self,
        user_id: Uuid,
        password_hash: &str,
        updated_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let result =
            sqlx::query("UPDATE app_user SET password_hash = ?, updated_at = ? WHERE id = ?")
                .bind(password_hash)
                .bind(ts(&updated_at))
                .bind(user_id.to_string())
                .execute(&self.writer)
                .await
                .map_err(map_sqlx_error)?;
        expect_one(result)
    }

    async fn insert_session(&self, s: &SessionRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO user_session (secret_hash, user_id, created_at, last_seen_at, expires_at)
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&s.secret_hash)
        .bind(s.user_id.to_string())
        .bind(ts(&s.created_at))
        .bind(ts(&s.last_seen_at))
        .bind(ts(&s.expires_at))
        .execute(&self.writer)
        .await
        .map(|_| ())
        .map_err(map_sqlx_error)
    }

    async fn get_session(&self, secret_hash: &str) -> Result<SessionRecord, StoreError> {
        sqlx::query("SELECT * FROM user_session WHERE secret_hash = ?")
            .bind(secret_hash)
            .try_map(session_from)
            .fetch_one(&self.pool)
            .await
            .map_err(map_sqlx_error)
    }

    async fn touch_session(&self, secret_hash: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query("UPDATE user_session SET last_seen_at = ? WHERE secret_hash = ?")
            .bind(ts(&at))
            .bind(secret_hash)
            .execute(&self.writer)
            .await
            .map(|_| ())
            .map_err(map_sqlx_error)
    }

    async fn delete_session(&self, secret_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM user_session WHERE secret_hash = ?")
            .bind(secret_hash)
            .execute(&self.writer)
            .await
            .map(|_| ())
            .map_err(map_sqlx_error)
    }

    async fn delete_sessions_of(&self, user_id: Uuid) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM user_session WHERE user_id = ?")
            .bind(user_id.to_string())
            .execute(&self.writer)
            .await
            .map(|_| ())
            .map_err(map_sqlx_error)
    }

    async fn insert_token(&self, t: &ApiToken, secret_hash: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO api_token
               (id, user_id, name, secret_hash, created_at, last_used_at, expires_at, revoked_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(t.id.to_string())
        .bind(t.user_id.to_string())
        .bind(&t.name)
        .bind(secret_hash)
        .bind(ts(&t.created_at))
        .bind(opt_ts(&t.last_used_at))
        .bind(opt_ts(&t.expires_at))
        .bind(opt_ts(&t.revoked_at))
        .execute(&self.writer)
        .await
        .map(|_| ())
        .map_err(map_sqlx_error)
    }

    async fn list_tokens(&self, user_id: Uuid) -> Result<Vec<ApiToken>, StoreError> {
        sqlx::query("SELECT * FROM api_token WHERE user_id = ? ORDER BY created_at DESC, id DESC")
            .bind(user_id.to_string())
            .try_map(token_from)
            .fetch_all(&self.pool)
            .await
            .map_err(map_sqlx_error)
    }

    async fn get_token(&self, id: Uuid) -> Result<ApiToken, StoreError> {
        sqlx::query("SELECT * FROM api_token WHERE id = ?")
            .bind(id.to_string())
            .try_map(token_from)
            .fetch_one(&self.pool)
            .await
            .map_err(map_sqlx_error)
    }

    async fn find_token(&self, secret_hash: &str) -> Result<ApiToken, StoreError> {
        sqlx::query("SELECT * FROM api_token WHERE secret_hash = ?")
            .bind(secret_hash)
            .try_map(token_from)
            .fetch_one(&self.pool)
            .await
            .map_err(map_sqlx_error)
    }

    async fn touch_token(&self, id: Uuid, at: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query("UPDATE api_token SET last_used_at = ? WHERE id = ?")
            .bind(ts(&at))
            .bind(id.to_string())
            .execute(&self.writer)
            .await
            .map(|_| ())
            .map_err(map_sqlx_error)
    }

    async fn revoke_token(&self, id: Uuid, at: DateTime<Utc>) -> Result<(), StoreError> {
        let result =
            sqlx::query("UPDATE api_token SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?")
                .bind(ts(&at))
                .bind(id.to_string())
                .execute(&self.writer)
                .await
                .map_err(map_sqlx_error)?;
        expect_one(result)
    }

    async fn login_failures(
        &self,
        key: &str,
        since: DateTime<Utc>,
    ) -> Result<Option<(i64, DateTime<Utc>)>, StoreError> {
        let row = sqlx::query(LOGIN_FAILURES)
            .bind(key)
            .bind(ts(&since))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_sqlx_error)?;
        row.map(|row| Ok((row.try_get(0)?, get_ts(&row, "last_failure_at")?)))
            .transpose()
            .map_err(map_sqlx_error)
    }

    async fn record_login_failure(
        &self,
        key: &str,
        at: DateTime<Utc>,
        since: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await.map_err(map_sqlx_error)?;
        sqlx::query(PRUNE_LOGIN_FAILURES)
            .bind(ts(&since))
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx_error)?;
        sqlx::query(RECORD_LOGIN_FAILURE)
            .bind(key)
            .bind(ts(&at))
            .bind(ts(&since))
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx_error)?;
        tx.commit().await.map_err(map_sqlx_error)
    }

    async fn clear_login_failures(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query(CLEAR_LOGIN_FAILURES)
            .bind(key)
            .execute(&self.writer)
            .await
            .map(|_| ())
            .map_err(map_sqlx_error)
    }

    async fn out_of_range_instants(&self) -> Result<Vec<String>, StoreError> {
        sqlx::query_scalar(OUT_OF_RANGE_INSTANTS)
            .bind("1970-01-01T00:00:00.000000Z")
            .bind("9999-12-31T23:59:59.999999Z")
            .fetch_all(&self.pool)
            .await
            .map_err(map_sqlx_error)
    }

    async fn insert_deployment(&self, d: &NewDeployment) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await.map_err(map_sqlx_error)?;
        sqlx::query(
            "INSERT INTO deployment (id, application_id, version_id, environment_id,
                                     deployment_date, deployed_by, notes, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(d.id.to_string())
        .bind(d.application_id.to_string())
        .bind(d.version_id.to_string())
        .bind(d.environment_id.to_string())
        .bind(ts(&d.deployment_date))
        .bind(&d.deployed_by)
        .bind(&d.notes)
        .bind(ts(&d.created_at))
        .execute(&mut *tx)
        .await
        .map_err(map_sqlx_error)?;
        sqlx::query(CLAIM_PAIR)
            .bind(d.application_id.to_string())
            .bind(d.environment_id.to_string())
            .bind(d.id.to_string())
            .bind(ts(&d.deployment_date))
            .bind(ts(&d.created_at))
            .bind(d.version_id.to_string())
            .bind(&d.deployed_by)
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx_error)?;
        refresh_pair(
            &mut tx,
            &d.application_id.to_string(),
            &d.environment_id.to_string(),
        )
        .await?;
        tx.commit().await.map_err(map_sqlx_error)
    }

    async fn get_deployment(&self, id: Uuid) -> Result<DeploymentRecord, StoreError> {
        sqlx::query(&format!("{DEPLOYMENT_SELECT} WHERE d.id = ?"))
            .bind(id.to_string())
            .try_map(deployment_from)
            .fetch_one(&self.pool)
            .await
            .map_err(map_sqlx_error)
    }

    async fn list_deployments(
        &self,
        filter: &DeploymentFilter,
        after: Option<HistoryKey>,
        limit: i64,
    ) -> Result<Vec<DeploymentRecord>, StoreError> {
        let mut qb = QueryBuilder::<Sqlite>::new(DEPLOYMENT_SELECT);
        qb.push(" WHERE 1 = 1");
        if !filter.include_deleted {
            qb.push(" AND d.deleted_at IS NULL");
        }
        if let Some(id) = filter.application_id {
            qb.push(" AND d.application_id = ")
                .push_bind(id.to_string());
        }
        if let Some(id) = filter.environment_id {
            qb.push(" AND d.environment_id = ")
                .push_bind(id.to_string());
        }
        if let Some(id) = filter.version_id {
            qb.push(" AND d.version_id = ").push_bind(id.to_string());
        }
        if let Some(from) = filter.date_from {
            qb.push(" AND d.deployment_date >= ").push_bind(ts(&from));
        }
        if let Some(to) = filter.date_to {
            qb.push(" AND d.deployment_date <= ").push_bind(ts(&to));
        }
        if let Some(who) = &filter.deployed_by {
            qb.push(" AND lower(d.deployed_by) = lower(")
                .push_bind(who.clone())
                .push(")");
        }
        if let Some(q) = &filter.q {
            let pattern = like_pattern(q);
            qb.push(" AND (d.notes LIKE ").push_bind(pattern.clone());
            qb.push(" ESCAPE '\\' OR v.version_identifier LIKE ")
                .push_bind(pattern.clone());
            qb.push(" ESCAPE '\\' OR d.deployed_by LIKE ")
                .push_bind(pattern);
            qb.push(" ESCAPE '\\')");
        }
        if let Some(key) = after {
            // Spelled out, with a plain range on the leading column: SQLite then walks the
            // history index from the cursor; with a row-value comparison it sorted whole tables.
            let (date, created, id) = (
                ts(&key.deployment_date),
                ts(&key.created_at),
                key.id.to_string(),
            );
            qb.push(" AND d.deployment_date <= ")
                .push_bind(date.clone())
                .push(" AND (d.deployment_date < ")
                .push_bind(date.clone())
                .push(" OR (d.deployment_date = ")
                .push_bind(date)
                .push(" AND (d.created_at < ")
                .push_bind(created.clone())
                .push(" OR (d.created_at = ")
                .push_bind(created)
                .push(" AND d.id < ")
                .push_bind(id)
                .push("))))");
        }
        qb.push(HISTORY_ORDER).push(" LIMIT ").push_bind(limit);
        qb.build()
            .try_map(deployment_from)
            .fetch_all(&self.pool)
            .await
            .map_err(map_sqlx_error)
    }

    async fn current_states(
        &self,
        pairs: PairFilter,
    ) -> Result<Vec<CurrentStateRecord>, StoreError> {
        let mut qb = QueryBuilder::<Sqlite>::new(CELLS_AS_ONE_ROW);
        qb.push(CURRENT_STATE_COLUMNS)
            .push("current_deployment")
            .push(CURRENT_STATE_JOINS);
        push_pair_filter(&mut qb, pairs, "a", "e");
        self.fetch_cells(qb).await
    }

    async fn matrix_stamp(&self) -> Result<MatrixStamp, StoreError> {
        let (epoch, revisions) = sqlx::query_as(MATRIX_STAMP)
            .fetch_one(&self.pool)
            .await
            .map_err(map_sqlx_error)?;
        Ok(MatrixStamp { epoch, revisions })
    }

    async fn states_at(
        &self,
        pairs: PairFilter,
        at: DateTime<Utc>,
    ) -> Result<Vec<CurrentStateRecord>, StoreError> {
        let mut qb = QueryBuilder::<Sqlite>::new(CELLS_AS_ONE_ROW);
        qb.push(CURRENT_STATE_COLUMNS);
        qb.push(CELLS_AT).push_bind(ts(&at)).push(CELLS_AT_PAIRS);
        push_pair_filter(&mut qb, pairs, "pa", "pe");
        qb.push(CELLS_AT_END).push(CURRENT_STATE_JOINS);
        self.fetch_cells(qb).await
    }

    async fn retract_deployment(
        &self,
        id: Uuid,
        deleted_at: DateTime<Utc>,
        deleted_by: &str,
        reason: &str,
    ) -> Result<(), StoreError> {
        // Write first, so the transaction holds SQLite's write lock from its first statement.
        let mut tx = self.writer.begin().await.map_err(map_sqlx_error)?;
        let updated = sqlx::query(
            "UPDATE deployment SET deleted_at = ?, deleted_by = ?, delete_reason = ?
              WHERE id = ? AND deleted_at IS NULL",
        )
        .bind(ts(&deleted_at))
        .bind(deleted_by)
        .bind(reason)
        .bind(id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(map_sqlx_error)?;
        let (application_id, environment_id): (String, String) =
            sqlx::query_as("SELECT application_id, environment_id FROM deployment WHERE id = ?")
                .bind(id.to_string())
                .fetch_one(&mut *tx)
                .await
                .map_err(map_sqlx_error)?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::Conflict("id"));
        }
        sqlx::query(UNCOUNT_RETRACTED)
            .bind(&application_id)
            .bind(&environment_id)
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx_error)?;
        sqlx::query(DROP_EMPTY_PAIR)
            .bind(&application_id)
            .bind(&environment_id)
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx_error)?;
        refresh_pair(&mut tx, &application_id, &environment_id).await?;
        tx.commit().await.map_err(map_sqlx_error)
    }

    async fn count_deployments_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM deployment
              WHERE deleted_at IS NULL AND deployment_date >= ? AND deployment_date < ?",
        )
        .bind(ts(&from))
        .bind(ts(&to))
        .fetch_one(&self.pool)
        .await
        .map_err(map_sqlx_error)
    }

    async fn count_deployments_per_environment(&self) -> Result<Vec<(Uuid, i64)>, StoreError> {
        let rows: Vec<(String, i64)> = sqlx::query_as(COUNT_PER_ENVIRONMENT)
            .fetch_all(&self.pool)
            .await
            .map_err(map_sqlx_error)?;
        rows.into_iter()
            .map(|(id, n)| {
                Uuid::parse_str(&id)
                    .map(|id| (id, n))
                    .map_err(StoreError::other)
            })
            .collect()
    }

    async fn insert_deployments_bulk(
        &self,
        deployments: &[NewDeployment],
    ) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await.map_err(map_sqlx_error)?;
        // 8 values a row; 1,000 rows stay well under SQLite's limit on bound parameters.
        for chunk in deployments.chunks(1_000) {
            let mut qb = QueryBuilder::<Sqlite>::new(
                "INSERT INTO deployment (id, application_id, version_id, environment_id,
                                         deployment_date, deployed_by, notes, created_at) ",
            );
            qb.push_values(chunk, |mut row, d| {
                row.push_bind(d.id.to_string())
                    .push_bind(d.application_id.to_string())
                    .push_bind(d.version_id.to_string())
                    .push_bind(d.environment_id.to_string())
                    .push_bind(ts(&d.deployment_date))
                    .push_bind(d.deployed_by.clone())
                    .push_bind(d.notes.clone())
                    .push_bind(ts(&d.created_at));
            });
            qb.build().execute(&mut *tx).await.map_err(map_sqlx_error)?;
        }
        tx.commit().await.map_err(map_sqlx_error)
    }

    async fn rebuild_current_deployments(&self) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await.map_err(map_sqlx_error)?;
        sqlx::query("DELETE FROM current_deployment")
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx_error)?;
        sqlx::query(REBUILD)
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx_error)?;
        tx.commit().await.map_err(map_sqlx_error)?;
        // Fresh statistics after a bulk load, so the planner picks the right indexes.
        sqlx::query("ANALYZE")
            .execute(&self.writer)
            .await
            .map(|_| ())
            .map_err(map_sqlx_error)
    }
}

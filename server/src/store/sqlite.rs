//! The embedded default: one SQLite file in WAL mode with foreign keys on.
//! Ids are stored as UUID text and instants as fixed-width RFC 3339 text (see the migration).

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use app::model::{Application, Environment, Version};
use app::ssr::{Store, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, SqlitePool};
use uuid::Uuid;

use super::map_sqlx_error;

pub struct SqliteStore {
    pool: SqlitePool,
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

fn get_ts(row: &SqliteRow, column: &str) -> Result<DateTime<Utc>, sqlx::Error> {
    let raw: String = row.try_get(column)?;
    DateTime::parse_from_rfc3339(&raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| decode_err(column, e))
}

fn get_opt_ts(row: &SqliteRow, column: &str) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    let raw: Option<String> = row.try_get(column)?;
    raw.map(|raw| {
        DateTime::parse_from_rfc3339(&raw)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| decode_err(column, e))
    })
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

/// An UPDATE that touched nothing means the row does not exist.
fn expect_one(result: sqlx::sqlite::SqliteQueryResult) -> Result<(), StoreError> {
    if result.rows_affected() == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
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
            .busy_timeout(Duration::from_secs(10));
        let file = options.get_filename();
        if let Some(folder) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
            if !Path::new(folder).exists() {
                std::fs::create_dir_all(folder)?;
            }
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        sqlx::migrate!("../migrations/sqlite").run(&pool).await?;
        Ok(Self { pool })
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
        .execute(&self.pool)
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
        .execute(&self.pool)
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
        .execute(&self.pool)
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
        .execute(&self.pool)
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
        let mut tx = self.pool.begin().await.map_err(map_sqlx_error)?;
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
        .execute(&self.pool)
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
        .execute(&self.pool)
        .await
        .map_err(map_sqlx_error)?;
        expect_one(result)
    }
}

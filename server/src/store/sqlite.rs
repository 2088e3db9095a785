//! The embedded default: one SQLite file in WAL mode with foreign keys on.
//! Ids are stored as UUID text and instants as fixed-width RFC 3339 text (see the migration).

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use app::model::{ApiToken, Application, Environment, Role, User, Version};
use app::ssr::{SessionRecord, Store, StoreError};
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
        .execute(&self.pool)
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
        .execute(&self.pool)
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
                .execute(&self.pool)
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
        .execute(&self.pool)
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
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(map_sqlx_error)
    }

    async fn delete_session(&self, secret_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM user_session WHERE secret_hash = ?")
            .bind(secret_hash)
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(map_sqlx_error)
    }

    async fn delete_sessions_of(&self, user_id: Uuid) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM user_session WHERE user_id = ?")
            .bind(user_id.to_string())
            .execute(&self.pool)
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
        .execute(&self.pool)
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
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(map_sqlx_error)
    }

    async fn revoke_token(&self, id: Uuid, at: DateTime<Utc>) -> Result<(), StoreError> {
        let result =
            sqlx::query("UPDATE api_token SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?")
                .bind(ts(&at))
                .bind(id.to_string())
                .execute(&self.pool)
                .await
                .map_err(map_sqlx_error)?;
        expect_one(result)
    }
}

//! PostgreSQL for production and scale-out: native UUID and TIMESTAMPTZ columns.

use app::model::{Application, Environment, Version};
use app::ssr::{Store, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgPoolOptions, PgRow};
use sqlx::{PgPool, Row};
use uuid::Uuid;

use super::map_sqlx_error;

pub struct PgStore {
    pool: PgPool,
}

fn application_from(row: PgRow) -> Result<Application, sqlx::Error> {
    Ok(Application {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        archived_at: row.try_get("archived_at")?,
    })
}

fn environment_from(row: PgRow) -> Result<Environment, sqlx::Error> {
    Ok(Environment {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        position: row.try_get("position")?,
        is_production: row.try_get("is_production")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        archived_at: row.try_get("archived_at")?,
    })
}

fn version_from(row: PgRow) -> Result<Version, sqlx::Error> {
    Ok(Version {
        id: row.try_get("id")?,
        application_id: row.try_get("application_id")?,
        version_identifier: row.try_get("version_identifier")?,
        released_at: row.try_get("released_at")?,
        notes: row.try_get("notes")?,
        created_at: row.try_get("created_at")?,
        archived_at: row.try_get("archived_at")?,
    })
}

/// An UPDATE that touched nothing means the row does not exist.
fn expect_one(result: sqlx::postgres::PgQueryResult) -> Result<(), StoreError> {
    if result.rows_affected() == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

impl PgStore {
    /// Connects and applies pending migrations.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .connect(url)
            .await?;
        sqlx::migrate!("../migrations/postgres").run(&pool).await?;
        Ok(Self { pool })
    }
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
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
            "SELECT * FROM application WHERE ($1 OR archived_at IS NULL) ORDER BY lower(name)",
        )
        .bind(include_archived)
        .try_map(application_from)
        .fetch_all(&self.pool)
        .await
        .map_err(map_sqlx_error)
    }

    async fn get_application(&self, id: Uuid) -> Result<Application, StoreError> {
        sqlx::query("SELECT * FROM application WHERE id = $1")
            .bind(id)
            .try_map(application_from)
            .fetch_one(&self.pool)
            .await
            .map_err(map_sqlx_error)
    }

    async fn insert_application(&self, a: &Application) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO application (id, name, description, created_at, updated_at, archived_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(a.id)
        .bind(&a.name)
        .bind(&a.description)
        .bind(a.created_at)
        .bind(a.updated_at)
        .bind(a.archived_at)
        .execute(&self.pool)
        .await
        .map(|_| ())
        .map_err(map_sqlx_error)
    }

    async fn update_application(&self, a: &Application) -> Result<(), StoreError> {
        let result = sqlx::query(
            "UPDATE application SET name = $1, description = $2, updated_at = $3, archived_at = $4
             WHERE id = $5",
        )
        .bind(&a.name)
        .bind(&a.description)
        .bind(a.updated_at)
        .bind(a.archived_at)
        .bind(a.id)
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
            "SELECT * FROM environment WHERE ($1 OR archived_at IS NULL) ORDER BY position, lower(name)",
        )
        .bind(include_archived)
        .try_map(environment_from)
        .fetch_all(&self.pool)
        .await
        .map_err(map_sqlx_error)
    }

    async fn get_environment(&self, id: Uuid) -> Result<Environment, StoreError> {
        sqlx::query("SELECT * FROM environment WHERE id = $1")
            .bind(id)
            .try_map(environment_from)
            .fetch_one(&self.pool)
            .await
            .map_err(map_sqlx_error)
    }

    async fn insert_environment(&self, e: &Environment) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO environment
               (id, name, description, position, is_production, created_at, updated_at, archived_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(e.id)
        .bind(&e.name)
        .bind(&e.description)
        .bind(e.position)
        .bind(e.is_production)
        .bind(e.created_at)
        .bind(e.updated_at)
        .bind(e.archived_at)
        .execute(&self.pool)
        .await
        .map(|_| ())
        .map_err(map_sqlx_error)
    }

    async fn update_environment(&self, e: &Environment) -> Result<(), StoreError> {
        let result = sqlx::query(
            "UPDATE environment SET name = $1, description = $2, position = $3, is_production = $4,
                    updated_at = $5, archived_at = $6
             WHERE id = $7",
        )
        .bind(&e.name)
        .bind(&e.description)
        .bind(e.position)
        .bind(e.is_production)
        .bind(e.updated_at)
        .bind(e.archived_at)
        .bind(e.id)
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
        // One statement: position = index of the id in the array.
        sqlx::query(
            "UPDATE environment AS e SET position = o.ord - 1, updated_at = $2
             FROM unnest($1::uuid[]) WITH ORDINALITY AS o(id, ord)
             WHERE e.id = o.id",
        )
        .bind(ordered_ids)
        .bind(updated_at)
        .execute(&self.pool)
        .await
        .map(|_| ())
        .map_err(map_sqlx_error)
    }

    async fn list_versions(
        &self,
        application_id: Uuid,
        include_archived: bool,
    ) -> Result<Vec<Version>, StoreError> {
        sqlx::query(
            "SELECT * FROM version WHERE application_id = $1 AND ($2 OR archived_at IS NULL)
             ORDER BY created_at DESC, id DESC",
        )
        .bind(application_id)
        .bind(include_archived)
        .try_map(version_from)
        .fetch_all(&self.pool)
        .await
        .map_err(map_sqlx_error)
    }

    async fn get_version(&self, id: Uuid) -> Result<Version, StoreError> {
        sqlx::query("SELECT * FROM version WHERE id = $1")
            .bind(id)
            .try_map(version_from)
            .fetch_one(&self.pool)
            .await
            .map_err(map_sqlx_error)
    }

    async fn insert_version(&self, v: &Version) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO version
               (id, application_id, version_identifier, released_at, notes, created_at, archived_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(v.id)
        .bind(v.application_id)
        .bind(&v.version_identifier)
        .bind(v.released_at)
        .bind(&v.notes)
        .bind(v.created_at)
        .bind(v.archived_at)
        .execute(&self.pool)
        .await
        .map(|_| ())
        .map_err(map_sqlx_error)
    }

    async fn update_version(&self, v: &Version) -> Result<(), StoreError> {
        let result = sqlx::query(
            "UPDATE version SET released_at = $1, notes = $2, archived_at = $3 WHERE id = $4",
        )
        .bind(v.released_at)
        .bind(&v.notes)
        .bind(v.archived_at)
        .bind(v.id)
        .execute(&self.pool)
        .await
        .map_err(map_sqlx_error)?;
        expect_one(result)
    }
}

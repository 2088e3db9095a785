//! PostgreSQL for production and scale-out: native UUID and TIMESTAMPTZ columns.

use std::str::FromStr;

use app::model::{ApiToken, Application, DeploymentFilter, Environment, Role, User, Version};
use app::ssr::{
    CurrentStateRecord, DeploymentRecord, HistoryKey, MatrixStamp, NewDeployment, PairFilter,
    SessionRecord, Store, StoreError,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{PgPool, Postgres, QueryBuilder, Row};
use uuid::Uuid;

use super::{
    like_pattern, map_sqlx_error, CLAIM_PAIR, COUNT_PER_ENVIRONMENT, CURRENT_STATE_COLUMNS,
    CURRENT_STATE_JOINS, DEPLOYMENT_SELECT, DROP_EMPTY_PAIR, HISTORY_ORDER, MATRIX_STAMP,
    PAIR_ORDER, REBUILD_CURRENT as REBUILD, REFRESH_PAIR, UNCOUNT_RETRACTED,
};
use super::{
    CLEAR_LOGIN_FAILURES, LOGIN_FAILURES, OUT_OF_RANGE_INSTANTS, PRUNE_LOGIN_FAILURES,
    RECORD_LOGIN_FAILURE,
};

/// Time-travel cells (see `CURRENT_STATE_COLUMNS`): per pair, one LATERAL index-only seek that
/// reads the latest deployment at the instant and the one before it (LIMIT 2; `LEAD` takes the
/// earlier one's version). One descent per pair instead of two saved ~15 % at 1M rows. (A
/// scalar subquery joined to deployment made the planner hash the whole table.)
const CELLS_AT: &str = "(SELECT pa.id AS application_id, pe.id AS environment_id,
             l.id AS deployment_id, l.deployment_date, l.created_at, l.version_id, l.deployed_by,
             l.previous_version_id
        FROM application pa CROSS JOIN environment pe
        CROSS JOIN LATERAL (
             SELECT two.*, LEAD(two.version_id) OVER latest_first AS previous_version_id
               FROM (SELECT p.id, p.deployment_date, p.created_at, p.version_id, p.deployed_by
                       FROM deployment p
                      WHERE p.application_id = pa.id AND p.environment_id = pe.id
                        AND p.deleted_at IS NULL AND p.deployment_date <= ";
const CELLS_AT_PAIRS: &str = "
                      ORDER BY p.deployment_date DESC, p.created_at DESC, p.id DESC
                      LIMIT 2) two
             WINDOW latest_first AS
                    (ORDER BY two.deployment_date DESC, two.created_at DESC, two.id DESC)
             ORDER BY two.deployment_date DESC, two.created_at DESC, two.id DESC
             LIMIT 1) l
       WHERE 1 = 1";
const CELLS_AT_END: &str = ")";

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

#[derive(Debug, thiserror::Error)]
#[error("unknown role {0:?}")]
struct UnknownRole(String);

fn user_from(row: PgRow) -> Result<User, sqlx::Error> {
    let role: String = row.try_get("role")?;
    Ok(User {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        display_name: row.try_get("display_name")?,
        role: Role::parse(&role).ok_or_else(|| sqlx::Error::ColumnDecode {
            index: "role".into(),
            source: Box::new(UnknownRole(role.clone())),
        })?,
        created_at: row.try_get("created_at")?,
        disabled_at: row.try_get("disabled_at")?,
    })
}

fn token_from(row: PgRow) -> Result<ApiToken, sqlx::Error> {
    Ok(ApiToken {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
        expires_at: row.try_get("expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

fn session_from(row: PgRow) -> Result<SessionRecord, sqlx::Error> {
    Ok(SessionRecord {
        secret_hash: row.try_get("secret_hash")?,
        user_id: row.try_get("user_id")?,
        created_at: row.try_get("created_at")?,
        last_seen_at: row.try_get("last_seen_at")?,
        expires_at: row.try_get("expires_at")?,
    })
}

/// The shared SQL's `?` placeholders in PostgreSQL's numbered spelling.
fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for ch in sql.chars() {
        if ch == '?' {
            n += 1;
            out.push_str(&format!("${n}"));
        } else {
            out.push(ch);
        }
    }
    out
}

/// Recomputes the (locked) pair's current row; see [`REFRESH_PAIR`].
async fn refresh_pair(
    tx: &mut sqlx::PgConnection,
    application_id: Uuid,
    environment_id: Uuid,
) -> Result<(), StoreError> {
    sqlx::query(&numbered(REFRESH_PAIR))
        .bind(application_id)
        .bind(environment_id)
        .execute(tx)
        .await
        .map(|_| ())
        .map_err(map_sqlx_error)
}

fn current_state_from(row: PgRow) -> Result<CurrentStateRecord, sqlx::Error> {
    let previous: Option<String> = row.try_get("previous_version_identifier")?;
    let previous_version = match previous {
        Some(identifier) => Some((identifier, row.try_get("previous_version_created_at")?)),
        None => None,
    };
    Ok(CurrentStateRecord {
        application_id: row.try_get("application_id")?,
        application_name: row.try_get("application_name")?,
        environment_id: row.try_get("environment_id")?,
        environment_name: row.try_get("environment_name")?,
        deployment_id: row.try_get("deployment_id")?,
        version_id: row.try_get("version_id")?,
        version_identifier: row.try_get("version_identifier")?,
        version_created_at: row.try_get("version_created_at")?,
        deployment_date: row.try_get("deployment_date")?,
        deployed_by: row.try_get("deployed_by")?,
        previous_version,
    })
}

fn deployment_from(row: PgRow) -> Result<DeploymentRecord, sqlx::Error> {
    let previous: Option<String> = row.try_get("previous_version_identifier")?;
    let previous_version = match previous {
        Some(identifier) => Some((identifier, row.try_get("previous_version_created_at")?)),
        None => None,
    };
    Ok(DeploymentRecord {
        id: row.try_get("id")?,
        application_id: row.try_get("application_id")?,
        application_name: row.try_get("application_name")?,
        version_id: row.try_get("version_id")?,
        version_identifier: row.try_get("version_identifier")?,
        version_created_at: row.try_get("version_created_at")?,
        environment_id: row.try_get("environment_id")?,
        environment_name: row.try_get("environment_name")?,
        deployment_date: row.try_get("deployment_date")?,
        deployed_by: row.try_get("deployed_by")?,
        notes: row.try_get("notes")?,
        created_at: row.try_get("created_at")?,
        deleted_at: row.try_get("deleted_at")?,
        deleted_by: row.try_get("deleted_by")?,
        delete_reason: row.try_get("delete_reason")?,
        previous_version,
    })
}

/// Appends " AND …" conditions selecting active pairs, optionally one application / environment.
fn push_pair_filter(qb: &mut QueryBuilder<'_, Postgres>, pairs: PairFilter, app: &str, env: &str) {
    qb.push(format!(
        " AND {app}.archived_at IS NULL AND {env}.archived_at IS NULL"
    ));
    if let Some(id) = pairs.application_id {
        qb.push(format!(" AND {app}.id = ")).push_bind(id);
    }
    if let Some(id) = pairs.environment_id {
        qb.push(format!(" AND {env}.id = ")).push_bind(id);
    }
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
        // No JIT: every query here is short, and compiling one (~40 ms) cost more than running
        // it — the time-travel matrix's estimate crossed jit_above_cost on a fresh database.
        let options = PgConnectOptions::from_str(url)?.options([("jit", "off")]);
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .connect_with(options)
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
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(u.id)
        .bind(&u.username)
        .bind(&u.display_name)
        .bind(u.role.as_str())
        .bind(password_hash)
        .bind(u.created_at)
        .bind(u.created_at)
        .bind(u.disabled_at)
        .execute(&self.pool)
        .await
        .map(|_| ())
        .map_err(map_sqlx_error)
    }

    async fn get_user(&self, id: Uuid) -> Result<User, StoreError> {
        sqlx::query("SELECT * FROM app_user WHERE id = $1")
            .bind(id)
            .try_map(user_from)
            .fetch_one(&self.pool)
            .await
            .map_err(map_sqlx_error)
    }

    async fn find_credentials(&self, username: &str) -> Result<(User, String), StoreError> {
        sqlx::query("SELECT * FROM app_user WHERE lower(username) = lower($1)")
            .bind(username)
            .try_map(|row: PgRow| {
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
            "UPDATE app_user SET display_name = $1, role = $2, disabled_at = $3, updated_at = $4
             WHERE id = $5",
        )
        .bind(&u.display_name)
        .bind(u.role.as_str())
        .bind(u.disabled_at)
        .bind(updated_at)
        .bind(u.id)
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
            sqlx::query("UPDATE app_user SET password_hash = $1, updated_at = $2 WHERE id = $3")
                .bind(password_hash)
                .bind(updated_at)
                .bind(user_id)
                .execute(&self.pool)
                .await
                .map_err(map_sqlx_error)?;
        expect_one(result)
    }

    async fn insert_session(&self, s: &SessionRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO user_session (secret_hash, user_id, created_at, last_seen_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&s.secret_hash)
        .bind(s.user_id)
        .bind(s.created_at)
        .bind(s.last_seen_at)
        .bind(s.expires_at)
        .execute(&self.pool)
        .await
        .map(|_| ())
        .map_err(map_sqlx_error)
    }

    async fn get_session(&self, secret_hash: &str) -> Result<SessionRecord, StoreError> {
        sqlx::query("SELECT * FROM user_session WHERE secret_hash = $1")
            .bind(secret_hash)
            .try_map(session_from)
            .fetch_one(&self.pool)
            .await
            .map_err(map_sqlx_error)
    }

    async fn touch_session(&self, secret_hash: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query("UPDATE user_session SET last_seen_at = $1 WHERE secret_hash = $2")
            .bind(at)
            .bind(secret_hash)
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(map_sqlx_error)
    }

    async fn delete_session(&self, secret_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM user_session WHERE secret_hash = $1")
            .bind(secret_hash)
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(map_sqlx_error)
    }

    async fn delete_sessions_of(&self, user_id: Uuid) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM user_session WHERE user_id = $1")
            .bind(user_id)
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(map_sqlx_error)
    }

    async fn insert_token(&self, t: &ApiToken, secret_hash: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO api_token
               (id, user_id, name, secret_hash, created_at, last_used_at, expires_at, revoked_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(t.id)
        .bind(t.user_id)
        .bind(&t.name)
        .bind(secret_hash)
        .bind(t.created_at)
        .bind(t.last_used_at)
        .bind(t.expires_at)
        .bind(t.revoked_at)
        .execute(&self.pool)
        .await
        .map(|_| ())
        .map_err(map_sqlx_error)
    }

    async fn list_tokens(&self, user_id: Uuid) -> Result<Vec<ApiToken>, StoreError> {
        sqlx::query("SELECT * FROM api_token WHERE user_id = $1 ORDER BY created_at DESC, id DESC")
            .bind(user_id)
            .try_map(token_from)
            .fetch_all(&self.pool)
            .await
            .map_err(map_sqlx_error)
    }

    async fn get_token(&self, id: Uuid) -> Result<ApiToken, StoreError> {
        sqlx::query("SELECT * FROM api_token WHERE id = $1")
            .bind(id)
            .try_map(token_from)
            .fetch_one(&self.pool)
            .await
            .map_err(map_sqlx_error)
    }

    async fn find_token(&self, secret_hash: &str) -> Result<ApiToken, StoreError> {
        sqlx::query("SELECT * FROM api_token WHERE secret_hash = $1")
            .bind(secret_hash)
            .try_map(token_from)
            .fetch_one(&self.pool)
            .await
            .map_err(map_sqlx_error)
    }

    async fn touch_token(&self, id: Uuid, at: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query("UPDATE api_token SET last_used_at = $1 WHERE id = $2")
            .bind(at)
            .bind(id)
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(map_sqlx_error)
    }

    async fn revoke_token(&self, id: Uuid, at: DateTime<Utc>) -> Result<(), StoreError> {
        let result =
            sqlx::query("UPDATE api_token SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2")
                .bind(at)
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err(map_sqlx_error)?;
        expect_one(result)
    }
    async fn login_failures(
        &self,
        key: &str,
        since: DateTime<Utc>,
    ) -> Result<Option<(i64, DateTime<Utc>)>, StoreError> {
        sqlx::query_as::<_, (i32, DateTime<Utc>)>(LOGIN_FAILURES)
            .bind(key)
            .bind(since)
            .fetch_optional(&self.pool)
            .await
            .map(|row| row.map(|(failures, last)| (i64::from(failures), last)))
            .map_err(map_sqlx_error)
    }

    async fn record_login_failure(
        &self,
        key: &str,
        at: DateTime<Utc>,
        since: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(map_sqlx_error)?;
        sqlx::query(PRUNE_LOGIN_FAILURES)
            .bind(since)
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx_error)?;
        sqlx::query(RECORD_LOGIN_FAILURE)
            .bind(key)
            .bind(at)
            .bind(since)
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx_error)?;
        tx.commit().await.map_err(map_sqlx_error)
    }

    async fn clear_login_failures(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query(CLEAR_LOGIN_FAILURES)
            .bind(key)
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(map_sqlx_error)
    }

    async fn out_of_range_instants(&self) -> Result<Vec<String>, StoreError> {
        let earliest: DateTime<Utc> = DateTime::UNIX_EPOCH;
        let latest = "9999-12-31T23:59:59.999999Z"
            .parse::<DateTime<Utc>>()
            .expect("a valid instant");
        sqlx::query_scalar(OUT_OF_RANGE_INSTANTS)
            .bind(earliest)
            .bind(latest)
            .fetch_all(&self.pool)
            .await
            .map_err(map_sqlx_error)
    }

    async fn insert_deployment(&self, d: &NewDeployment) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(map_sqlx_error)?;
        sqlx::query(
            "INSERT INTO deployment (id, application_id, version_id, environment_id,
                                     deployment_date, deployed_by, notes, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(d.id)
        .bind(d.application_id)
        .bind(d.version_id)
        .bind(d.environment_id)
        .bind(d.deployment_date)
        .bind(&d.deployed_by)
        .bind(&d.notes)
        .bind(d.created_at)
        .execute(&mut *tx)
        .await
        .map_err(map_sqlx_error)?;
        sqlx::query(&numbered(CLAIM_PAIR))
            .bind(d.application_id)
            .bind(d.environment_id)
            .bind(d.id)
            .bind(d.deployment_date)
            .bind(d.created_at)
            .bind(d.version_id)
            .bind(&d.deployed_by)
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx_error)?;
        refresh_pair(&mut tx, d.application_id, d.environment_id).await?;
        tx.commit().await.map_err(map_sqlx_error)
    }

    async fn get_deployment(&self, id: Uuid) -> Result<DeploymentRecord, StoreError> {
        sqlx::query(&format!("{DEPLOYMENT_SELECT} WHERE d.id = $1"))
            .bind(id)
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
        let mut qb = QueryBuilder::<Postgres>::new(DEPLOYMENT_SELECT);
        qb.push(" WHERE 1 = 1");
        if !filter.include_deleted {
            qb.push(" AND d.deleted_at IS NULL");
        }
        if let Some(id) = filter.application_id {
            qb.push(" AND d.application_id = ").push_bind(id);
        }
        if let Some(id) = filter.environment_id {
            qb.push(" AND d.environment_id = ").push_bind(id);
        }
        if let Some(id) = filter.version_id {
            qb.push(" AND d.version_id = ").push_bind(id);
        }
        if let Some(from) = filter.date_from {
            qb.push(" AND d.deployment_date >= ").push_bind(from);
        }
        if let Some(to) = filter.date_to {
            qb.push(" AND d.deployment_date <= ").push_bind(to);
        }
        if let Some(who) = &filter.deployed_by {
            qb.push(" AND lower(d.deployed_by) = lower(")
                .push_bind(who.clone())
                .push(")");
        }
        if let Some(q) = &filter.q {
            let pattern = like_pattern(q);
            qb.push(" AND (d.notes ILIKE ").push_bind(pattern.clone());
            qb.push(" ESCAPE '\\' OR v.version_identifier ILIKE ")
                .push_bind(pattern.clone());
            qb.push(" ESCAPE '\\' OR d.deployed_by ILIKE ")
                .push_bind(pattern);
            qb.push(" ESCAPE '\\')");
        }
        if let Some(key) = after {
            qb.push(" AND (d.deployment_date, d.created_at, d.id) < (")
                .push_bind(key.deployment_date)
                .push(", ")
                .push_bind(key.created_at)
                .push(", ")
                .push_bind(key.id)
                .push(")");
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
        let mut qb = QueryBuilder::<Postgres>::new(CURRENT_STATE_COLUMNS);
        qb.push("current_deployment").push(CURRENT_STATE_JOINS);
        push_pair_filter(&mut qb, pairs, "a", "e");
        qb.push(PAIR_ORDER);
        qb.build()
            .try_map(current_state_from)
            .fetch_all(&self.pool)
            .await
            .map_err(map_sqlx_error)
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
        let mut qb = QueryBuilder::<Postgres>::new(CURRENT_STATE_COLUMNS);
        qb.push(CELLS_AT).push_bind(at).push(CELLS_AT_PAIRS);
        push_pair_filter(&mut qb, pairs, "pa", "pe");
        qb.push(CELLS_AT_END).push(CURRENT_STATE_JOINS);
        qb.push(PAIR_ORDER);
        qb.build()
            .try_map(current_state_from)
            .fetch_all(&self.pool)
            .await
            .map_err(map_sqlx_error)
    }

    async fn retract_deployment(
        &self,
        id: Uuid,
        deleted_at: DateTime<Utc>,
        deleted_by: &str,
        reason: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(map_sqlx_error)?;
        let updated = sqlx::query(
            "UPDATE deployment SET deleted_at = $1, deleted_by = $2, delete_reason = $3
              WHERE id = $4 AND deleted_at IS NULL",
        )
        .bind(deleted_at)
        .bind(deleted_by)
        .bind(reason)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(map_sqlx_error)?;
        let (application_id, environment_id): (Uuid, Uuid) =
            sqlx::query_as("SELECT application_id, environment_id FROM deployment WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await
                .map_err(map_sqlx_error)?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::Conflict("id"));
        }
        // Also locks the pair: concurrent recorders wait until its current row is recomputed.
        sqlx::query(&numbered(UNCOUNT_RETRACTED))
            .bind(application_id)
            .bind(environment_id)
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx_error)?;
        sqlx::query(&numbered(DROP_EMPTY_PAIR))
            .bind(application_id)
            .bind(environment_id)
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx_error)?;
        refresh_pair(&mut tx, application_id, environment_id).await?;
        tx.commit().await.map_err(map_sqlx_error)
    }

    async fn count_deployments_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM deployment
              WHERE deleted_at IS NULL AND deployment_date >= $1 AND deployment_date < $2",
        )
        .bind(from)
        .bind(to)
        .fetch_one(&self.pool)
        .await
        .map_err(map_sqlx_error)
    }

    async fn count_deployments_per_environment(&self) -> Result<Vec<(Uuid, i64)>, StoreError> {
        sqlx::query_as(COUNT_PER_ENVIRONMENT)
            .fetch_all(&self.pool)
            .await
            .map_err(map_sqlx_error)
    }

    async fn insert_deployments_bulk(
        &self,
        deployments: &[NewDeployment],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(map_sqlx_error)?;
        // Column arrays through UNNEST: one statement per 10,000 rows.
        for chunk in deployments.chunks(10_000) {
            let column = |f: fn(&NewDeployment) -> Uuid| chunk.iter().map(f).collect::<Vec<_>>();
            let dates: Vec<DateTime<Utc>> = chunk.iter().map(|d| d.deployment_date).collect();
            let created: Vec<DateTime<Utc>> = chunk.iter().map(|d| d.created_at).collect();
            let deployed_by: Vec<Option<String>> =
                chunk.iter().map(|d| d.deployed_by.clone()).collect();
            let notes: Vec<Option<String>> = chunk.iter().map(|d| d.notes.clone()).collect();
            sqlx::query(
                "INSERT INTO deployment (id, application_id, version_id, environment_id,
                                         deployment_date, deployed_by, notes, created_at)
                 SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[],
                                      $5::timestamptz[], $6::text[], $7::text[], $8::timestamptz[])",
            )
            .bind(column(|d| d.id))
            .bind(column(|d| d.application_id))
            .bind(column(|d| d.version_id))
            .bind(column(|d| d.environment_id))
            .bind(dates)
            .bind(deployed_by)
            .bind(notes)
            .bind(created)
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx_error)?;
        }
        tx.commit().await.map_err(map_sqlx_error)
    }

    async fn rebuild_current_deployments(&self) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(map_sqlx_error)?;
        sqlx::query("DELETE FROM current_deployment")
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx_error)?;
        sqlx::query(REBUILD)
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx_error)?;
        tx.commit().await.map_err(map_sqlx_error)?;
        // Fresh statistics after a bulk load (the catalog tables too: without them the planner
        // takes environment for 590 rows), so it picks the right indexes and plans.
        sqlx::query("ANALYZE")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(map_sqlx_error)
    }
}

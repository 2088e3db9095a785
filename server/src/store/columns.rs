//! How values cross into and out of the two databases, so that every statement can bind and read
//! the same Rust types on both: PostgreSQL has native UUID and TIMESTAMPTZ columns, SQLite keeps
//! ids as UUID text and instants as fixed-width RFC 3339 text (which sorts like the instant).
//! Rows are read by `FromRow` structs built from these, then turned into the model's types.

use app::model::{ApiToken, Application, Environment, Role, User, Version};
use app::model::{DeliveryOutcome, HookDelivery, WebhookDelivery};
use app::ssr::{
    AuditRecord, CurrentStateRecord, DeploymentRecord, HookRecord, IdempotencyRecord,
    SessionRecord, WebhookRecord,
};
use chrono::{DateTime, Utc};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, Encode, Postgres, Sqlite, Type};
use uuid::Uuid;

/// An id column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DbId(pub Uuid);

/// An instant column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DbTime(pub DateTime<Utc>);

/// A delivery outcome column (text on both).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DbOutcome(pub DeliveryOutcome);

/// A role column (text on both).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DbRole(pub Role);

/// SQLite's spelling of an instant: always 27 characters, so text order is time order.
pub fn sqlite_instant(at: &DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Reads SQLite's instant text. Before migration 0007, instants with signed or five-digit years
/// could be written (`-5000-…`, `+10000-…`, which RFC 3339 cannot express); they are read as
/// they were written rather than making every page that shows them fail.
pub fn parse_sqlite_instant(raw: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|err| {
            chrono::NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.fZ")
                .map(|t| t.and_utc())
                .map_err(|_| err)
        })
}

#[derive(Debug, thiserror::Error)]
#[error("unknown {0} {1:?}")]
struct UnknownValue(&'static str, String);

/// Implements `Type`, `Encode` and `Decode` for a column newtype on one backend by way of a
/// stand-in type the driver already knows (`$via`), converting with `$to` / `$from`.
macro_rules! column_via {
    ($column:ty, $db:ty, $via:ty, $to:expr, $from:expr) => {
        impl Type<$db> for $column {
            fn type_info() -> <$db as Database>::TypeInfo {
                <$via as Type<$db>>::type_info()
            }
            fn compatible(ty: &<$db as Database>::TypeInfo) -> bool {
                <$via as Type<$db>>::compatible(ty)
            }
        }
        impl<'q> Encode<'q, $db> for $column {
            fn encode_by_ref(
                &self,
                buf: &mut <$db as Database>::ArgumentBuffer<'q>,
            ) -> Result<IsNull, BoxDynError> {
                let value: $via = $to(self);
                <$via as Encode<'q, $db>>::encode(value, buf)
            }
        }
        impl<'r> Decode<'r, $db> for $column {
            fn decode(value: <$db as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
                let raw = <$via as Decode<'r, $db>>::decode(value)?;
                $from(raw)
            }
        }
    };
}

column_via!(
    DbId,
    Sqlite,
    String,
    |id: &DbId| id.0.to_string(),
    |raw: String| Ok(DbId(Uuid::parse_str(&raw)?))
);
column_via!(DbId, Postgres, Uuid, |id: &DbId| id.0, |raw| Ok(DbId(raw)));
column_via!(
    DbTime,
    Sqlite,
    String,
    |at: &DbTime| sqlite_instant(&at.0),
    |raw: String| Ok(DbTime(parse_sqlite_instant(&raw)?))
);
column_via!(DbTime, Postgres, DateTime<Utc>, |at: &DbTime| at.0, |raw| {
    Ok(DbTime(raw))
});
fn role_from(raw: String) -> Result<DbRole, BoxDynError> {
    Role::parse(&raw)
        .map(DbRole)
        .ok_or_else(|| UnknownValue("role", raw).into())
}
fn outcome_from(raw: String) -> Result<DbOutcome, BoxDynError> {
    DeliveryOutcome::parse(&raw)
        .map(DbOutcome)
        .ok_or_else(|| UnknownValue("delivery outcome", raw).into())
}
column_via!(
    DbOutcome,
    Sqlite,
    String,
    |outcome: &DbOutcome| outcome.0.as_str().to_string(),
    outcome_from
);
column_via!(
    DbOutcome,
    Postgres,
    String,
    |outcome: &DbOutcome| outcome.0.as_str().to_string(),
    outcome_from
);
column_via!(
    DbRole,
    Sqlite,
    String,
    |role: &DbRole| role.0.as_str().to_string(),
    role_from
);
column_via!(
    DbRole,
    Postgres,
    String,
    |role: &DbRole| role.0.as_str().to_string(),
    role_from
);

/// A column value as the model holds it.
trait IntoModel<T> {
    fn into_model(self) -> T;
}

macro_rules! into_model {
    ($($column:ty => $model:ty: $convert:expr;)*) => {
        $(impl IntoModel<$model> for $column {
            fn into_model(self) -> $model {
                $convert(self)
            }
        })*
    };
}

into_model! {
    DbId => Uuid: |id: DbId| id.0;
    DbTime => DateTime<Utc>: |at: DbTime| at.0;
    Option<DbTime> => Option<DateTime<Utc>>: |at: Option<DbTime>| at.map(|t| t.0);
    DbRole => Role: |role: DbRole| role.0;
    DbOutcome => DeliveryOutcome: |outcome: DbOutcome| outcome.0;
    Option<DbId> => Option<Uuid>: |id: Option<DbId>| id.map(|id| id.0);
    String => String: |s| s;
    Option<String> => Option<String>: |s| s;
    i32 => i32: |n| n;
    Option<i32> => Option<i32>: |n| n;
    bool => bool: |b| b;
}

/// A `FromRow` struct for a table and its conversion into the model's type, field for field.
macro_rules! model_row {
    ($row:ident => $model:ident { $($field:ident: $column:ty),* $(,)? }) => {
        #[derive(sqlx::FromRow)]
        pub struct $row {
            $($field: $column),*
        }

        impl From<$row> for $model {
            fn from(row: $row) -> Self {
                $model { $($field: row.$field.into_model()),* }
            }
        }
    };
    // Rows that also carry the version that ran before in the pair (`previous_in_pair_of_d!`),
    // read as two nullable columns and held by the model as one optional pair.
    ($row:ident => $model:ident with previous_version { $($field:ident: $column:ty),* $(,)? }) => {
        #[derive(sqlx::FromRow)]
        pub struct $row {
            $($field: $column,)*
            previous_version_identifier: Option<String>,
            previous_version_created_at: Option<DbTime>,
        }

        impl From<$row> for $model {
            fn from(row: $row) -> Self {
                $model {
                    $($field: row.$field.into_model(),)*
                    previous_version: row
                        .previous_version_identifier
                        .zip(row.previous_version_created_at)
                        .map(|(identifier, at)| (identifier, at.0)),
                }
            }
        }
    };
}

model_row!(ApplicationRow => Application {
    id: DbId,
    name: String,
    description: Option<String>,
    repository: Option<String>,
    created_at: DbTime,
    updated_at: DbTime,
    archived_at: Option<DbTime>,
});

model_row!(EnvironmentRow => Environment {
    id: DbId,
    name: String,
    description: Option<String>,
    position: i32,
    is_production: bool,
    created_at: DbTime,
    updated_at: DbTime,
    archived_at: Option<DbTime>,
});

model_row!(VersionRow => Version {
    id: DbId,
    application_id: DbId,
    version_identifier: String,
    released_at: Option<DbTime>,
    notes: Option<String>,
    commit_sha: Option<String>,
    created_at: DbTime,
    archived_at: Option<DbTime>,
});

model_row!(UserRow => User {
    id: DbId,
    username: String,
    display_name: String,
    role: DbRole,
    created_at: DbTime,
    disabled_at: Option<DbTime>,
});

/// A user with the password hash (sign-in only).
#[derive(sqlx::FromRow)]
pub struct CredentialsRow {
    #[sqlx(flatten)]
    user: UserRow,
    password_hash: String,
}

impl From<CredentialsRow> for (User, String) {
    fn from(r: CredentialsRow) -> Self {
        (r.user.into(), r.password_hash)
    }
}

model_row!(TokenRow => ApiToken {
    id: DbId,
    user_id: DbId,
    name: String,
    created_at: DbTime,
    last_used_at: Option<DbTime>,
    expires_at: Option<DbTime>,
    revoked_at: Option<DbTime>,
});

model_row!(HookRow => HookRecord {
    id: DbId,
    provider: String,
    name: String,
    signing_secret: Option<String>,
    secret_hash: String,
    created_by: DbId,
    created_at: DbTime,
});

model_row!(DeliveryRow => HookDelivery {
    id: DbId,
    hook_id: DbId,
    delivery_id: String,
    received_at: DbTime,
    event: String,
    outcome: DbOutcome,
    detail: String,
    deployment_id: Option<DbId>,
});

model_row!(AuditRow => AuditRecord {
    id: DbId,
    at: DbTime,
    actor_id: Option<DbId>,
    actor_username: Option<String>,
    token_name: Option<String>,
    client_address: Option<String>,
    action: String,
    target_type: String,
    target_id: Option<String>,
    changes: Option<String>,
});

/// An instant inside a JSON row (see `json_rows`): RFC 3339 text on both backends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct JsonInstant(pub DateTime<Utc>);

impl TryFrom<String> for JsonInstant {
    type Error = chrono::ParseError;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        parse_sqlite_instant(&raw).map(JsonInstant)
    }
}

/// A deployment in the range insights measure, with its version (see `insight_rows`); read as
/// a JSON row, in this column order.
#[derive(serde::Deserialize)]
pub struct InsightRangeRow {
    pub id: Uuid,
    pub application_id: Uuid,
    pub environment_id: Uuid,
    pub version_id: Uuid,
    pub deployment_date: JsonInstant,
    pub created_at: JsonInstant,
    pub deleted_at: Option<JsonInstant>,
    pub version_identifier: String,
    pub version_created_at: JsonInstant,
    pub released_at: Option<JsonInstant>,
}

/// A pair's first live deployment after the range insights measure (a JSON row).
#[derive(serde::Deserialize)]
pub struct InsightNextRow {
    pub application_id: Uuid,
    pub environment_id: Uuid,
    pub deployment_date: JsonInstant,
    pub version_identifier: String,
    pub version_created_at: JsonInstant,
}

/// A version's first live deployments to the measured environments and to any other (a JSON
/// row).
#[derive(serde::Deserialize)]
pub struct InsightFirstsRow {
    pub version_id: Uuid,
    pub first_here: Option<JsonInstant>,
    pub first_elsewhere: Option<JsonInstant>,
}

/// A live deployment as time travel keeps it (see `application_timeline`); a JSON row.
#[derive(serde::Deserialize)]
pub struct TimelineRow {
    pub environment_id: Uuid,
    pub id: Uuid,
    pub deployment_date: JsonInstant,
    pub created_at: JsonInstant,
    pub version_id: Uuid,
    pub deployed_by: Option<String>,
}

/// A version as time travel needs it (a JSON row).
#[derive(serde::Deserialize)]
pub struct VersionBriefRow {
    pub id: Uuid,
    pub version_identifier: String,
    pub created_at: JsonInstant,
}

model_row!(WebhookRow => WebhookRecord {
    id: DbId,
    url: String,
    events: String,
    environment_ids: Option<String>,
    format: String,
    signing_secret: String,
    created_by: DbId,
    created_at: DbTime,
});

model_row!(WebhookDeliveryRow => WebhookDelivery {
    id: DbId,
    webhook_id: DbId,
    event: String,
    deployment_id: Option<DbId>,
    created_at: DbTime,
    status: String,
    attempts: i32,
    next_attempt_at: DbTime,
    last_status: Option<i32>,
    last_error: Option<String>,
    delivered_at: Option<DbTime>,
});

model_row!(IdempotencyRow => IdempotencyRecord {
    request_hash: String,
    deployment_id: DbId,
});

model_row!(SessionRow => SessionRecord {
    secret_hash: String,
    user_id: DbId,
    created_at: DbTime,
    last_seen_at: DbTime,
    expires_at: DbTime,
});

model_row!(DeploymentRow => DeploymentRecord with previous_version {
    id: DbId,
    application_id: DbId,
    application_name: String,
    version_id: DbId,
    version_identifier: String,
    version_created_at: DbTime,
    environment_id: DbId,
    environment_name: String,
    deployment_date: DbTime,
    deployed_by: Option<String>,
    notes: Option<String>,
    created_at: DbTime,
    deleted_at: Option<DbTime>,
    deleted_by: Option<String>,
    delete_reason: Option<String>,
});

// PostgreSQL reads cells as rows; SQLite packs them (see `sqlite::CELLS_AS_ONE_ROW`).
model_row!(CurrentStateRow => CurrentStateRecord with previous_version {
    application_id: DbId,
    application_name: String,
    environment_id: DbId,
    environment_name: String,
    deployment_id: DbId,
    version_id: DbId,
    version_identifier: String,
    version_created_at: DbTime,
    deployment_date: DbTime,
    deployed_by: Option<String>,
});

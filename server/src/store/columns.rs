//! How values cross into and out of the two databases, so that every statement can bind and read
//! the same Rust types on both: PostgreSQL has native UUID and TIMESTAMPTZ columns, SQLite keeps
//! ids as UUID text and instants as fixed-width RFC 3339 text (which sorts like the instant).
//! Rows are read by `FromRow` structs built from these, then turned into the model's types.

use app::model::{
    ApiToken, Application, BadgeKey, Environment, Role, SavedView, Team, User, Version,
};
use app::model::{DeliveryOutcome, HookDelivery, Lock, WebhookDelivery};
use app::ssr::store::RecordTargets;
use app::ssr::{
    AuditRecord, CommitRangeRecord, CurrentStateRecord, DeploymentRecord, DriftBreachRecord,
    DriftPolicyRecord, FreezeEndRecord, FreezeRecord, HookRecord, IdempotencyRecord, LoginAttempt,
    PromotionRequirementRecord, SessionRecord, WebhookRecord,
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
    Option<i64> => Option<i64>: |n| n;
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
    team_id: Option<DbId>,
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

/// What a record names, read in one query (`find_record_targets`): the application's columns
/// as they are, the version's prefixed `v_` (NULL when none was found), and the previous
/// version's identifier and creation.
#[derive(sqlx::FromRow)]
pub struct RecordTargetsRow {
    #[sqlx(flatten)]
    application: ApplicationRow,
    v_id: Option<DbId>,
    v_application_id: Option<DbId>,
    v_version_identifier: Option<String>,
    v_released_at: Option<DbTime>,
    v_notes: Option<String>,
    v_commit_sha: Option<String>,
    v_created_at: Option<DbTime>,
    v_archived_at: Option<DbTime>,
    previous_version_identifier: Option<String>,
    previous_version_created_at: Option<DbTime>,
}

impl From<RecordTargetsRow> for RecordTargets {
    fn from(r: RecordTargetsRow) -> Self {
        let version = match (
            r.v_id,
            r.v_application_id,
            r.v_version_identifier,
            r.v_created_at,
        ) {
            (Some(id), Some(application_id), Some(version_identifier), Some(created_at)) => {
                Some(Version {
                    id: id.0,
                    application_id: application_id.0,
                    version_identifier,
                    released_at: r.v_released_at.map(|at| at.0),
                    notes: r.v_notes,
                    commit_sha: r.v_commit_sha,
                    created_at: created_at.0,
                    archived_at: r.v_archived_at.map(|at| at.0),
                })
            }
            _ => None,
        };
        RecordTargets {
            application: Some(r.application.into()),
            version,
            previous_version: r
                .previous_version_identifier
                .zip(r.previous_version_created_at)
                .map(|(identifier, at)| (identifier, at.0)),
        }
    }
}

/// An API token with its holder, read in one query (every API request authenticates).
#[derive(sqlx::FromRow)]
pub struct TokenHolderRow {
    #[sqlx(flatten)]
    user: UserRow,
    token_id: DbId,
    token_name: String,
    token_created_at: DbTime,
    last_used_at: Option<DbTime>,
    expires_at: Option<DbTime>,
    revoked_at: Option<DbTime>,
}

impl From<TokenHolderRow> for (ApiToken, User) {
    fn from(r: TokenHolderRow) -> Self {
        let user: User = r.user.into();
        let token = ApiToken {
            id: r.token_id.0,
            user_id: user.id,
            name: r.token_name,
            created_at: r.token_created_at.0,
            last_used_at: r.last_used_at.map(|at| at.0),
            expires_at: r.expires_at.map(|at| at.0),
            revoked_at: r.revoked_at.map(|at| at.0),
        };
        (token, user)
    }
}

model_row!(DriftPolicyRow => DriftPolicyRecord {
    environment_id: DbId,
    compared_to: DbId,
    max_lag_seconds: Option<i64>,
    max_versions_behind: Option<i32>,
    updated_at: DbTime,
});

model_row!(DriftBreachRow => DriftBreachRecord {
    id: DbId,
    environment_id: DbId,
    application_id: DbId,
    compared_to: DbId,
    behind_since: DbTime,
    versions_behind: i32,
    breached_at: DbTime,
    resolved_at: Option<DbTime>,
});

model_row!(TeamRow => Team {
    id: DbId,
    name: String,
    slack_channel: Option<String>,
    created_at: DbTime,
    updated_at: DbTime,
});

model_row!(BadgeKeyRow => BadgeKey {
    id: DbId,
    name: String,
    application_id: Option<DbId>,
    created_at: DbTime,
    revoked_at: Option<DbTime>,
});

model_row!(SavedViewRow => SavedView {
    id: DbId,
    name: String,
    path: String,
    query: String,
    shared: bool,
    owner_id: DbId,
    created_at: DbTime,
});

model_row!(LoginAttemptRow => LoginAttempt {
    state_hash: String,
    nonce: String,
    pkce_verifier: String,
    next_path: String,
    created_at: DbTime,
    expires_at: DbTime,
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

/// Rows that come back as one JSON text (see `json_rows`): each row a JSON array, its values
/// in the order of [`JsonRow::COLUMNS`].
pub trait JsonRow: serde::de::DeserializeOwned {
    /// The columns the statement puts in each array, in field order.
    const COLUMNS: &'static [&'static str];
}

/// A [`JsonRow`] struct from one declaration: its fields are the column list, in order, so the
/// list and the decoder (serde reads an array field by field) cannot disagree.
macro_rules! json_row {
    ($(#[$meta:meta])* $row:ident { $($field:ident: $type:ty,)+ }) => {
        $(#[$meta])*
        #[derive(serde::Deserialize)]
        pub struct $row {
            $(pub $field: $type,)+
        }

        impl JsonRow for $row {
            const COLUMNS: &'static [&'static str] = &[$(stringify!($field)),+];
        }
    };
}

json_row!(
    /// A deployment in the range insights measure, with its version (see `insight_rows`).
    InsightRangeRow {
        id: Uuid,
        application_id: Uuid,
        environment_id: Uuid,
        version_id: Uuid,
        deployment_date: JsonInstant,
        created_at: JsonInstant,
        deleted_at: Option<JsonInstant>,
        version_identifier: String,
        version_created_at: JsonInstant,
        released_at: Option<JsonInstant>,
    }
);

json_row!(
    /// A pair's first live deployment after the range insights measure.
    #[derive(Clone)]
    InsightNextRow {
        application_id: Uuid,
        environment_id: Uuid,
        deployment_date: JsonInstant,
        version_identifier: String,
        version_created_at: JsonInstant,
    }
);

json_row!(
    /// A version's first live deployments to the measured environments and to any other.
    #[derive(Clone)]
    InsightFirstsRow {
        version_id: Uuid,
        first_here: Option<JsonInstant>,
        first_elsewhere: Option<JsonInstant>,
    }
);

json_row!(
    /// A live deployment after a checkpoint (see `checkpoints::DEPLOYMENTS_AFTER`).
    DeploymentAfterRow {
        application_id: Uuid,
        environment_id: Uuid,
        deployment_id: Uuid,
        deployment_date: JsonInstant,
        created_at: JsonInstant,
        version_id: Uuid,
        version_identifier: String,
        version_created_at: JsonInstant,
        deployed_by: Option<String>,
    }
);

impl From<DeploymentAfterRow> for app::ssr::store::DeploymentAfter {
    fn from(row: DeploymentAfterRow) -> Self {
        app::ssr::store::DeploymentAfter {
            application_id: row.application_id,
            environment_id: row.environment_id,
            deployment_id: row.deployment_id,
            deployment_date: row.deployment_date.0,
            created_at: row.created_at.0,
            version_id: row.version_id,
            version_identifier: row.version_identifier,
            version_created_at: row.version_created_at.0,
            deployed_by: row.deployed_by,
        }
    }
}

json_row!(
    /// A commit of a range, with its details (see `range_commits`).
    RangeCommitRow {
        range_id: Uuid,
        position: i32,
        sha: String,
        title: String,
        author: String,
        authored_at: JsonInstant,
        url: Option<String>,
    }
);

json_row!(
    /// A matrix cell as SQLite packs it (PostgreSQL reads [`CurrentStateRow`]s).
    CellRow {
        application_id: Uuid,
        application_name: String,
        environment_id: Uuid,
        environment_name: String,
        deployment_id: Uuid,
        version_id: Uuid,
        version_identifier: String,
        version_created_at: JsonInstant,
        deployment_date: JsonInstant,
        deployed_by: Option<String>,
        previous_version_identifier: Option<String>,
        previous_version_created_at: Option<JsonInstant>,
    }
);

impl From<CellRow> for CurrentStateRecord {
    fn from(cell: CellRow) -> Self {
        let previous_version = match (
            cell.previous_version_identifier,
            cell.previous_version_created_at,
        ) {
            (Some(identifier), Some(created)) => Some((identifier, created.0)),
            _ => None,
        };
        CurrentStateRecord {
            application_id: cell.application_id,
            application_name: cell.application_name,
            environment_id: cell.environment_id,
            environment_name: cell.environment_name,
            deployment_id: cell.deployment_id,
            version_id: cell.version_id,
            version_identifier: cell.version_identifier,
            version_created_at: cell.version_created_at.0,
            deployment_date: cell.deployment_date.0,
            deployed_by: cell.deployed_by,
            previous_version,
        }
    }
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
    subject: Option<String>,
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

/// A browser session with its holder, read in one query (every page request authenticates).
#[derive(sqlx::FromRow)]
pub struct SessionHolderRow {
    #[sqlx(flatten)]
    user: UserRow,
    secret_hash: String,
    session_created_at: DbTime,
    last_seen_at: DbTime,
    expires_at: DbTime,
}

impl From<SessionHolderRow> for (SessionRecord, User) {
    fn from(r: SessionHolderRow) -> Self {
        let user: User = r.user.into();
        let session = SessionRecord {
            secret_hash: r.secret_hash,
            user_id: user.id,
            created_at: r.session_created_at.0,
            last_seen_at: r.last_seen_at.0,
            expires_at: r.expires_at.0,
        };
        (session, user)
    }
}

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
    policy_violations: Option<String>,
    override_reason: Option<String>,
});

model_row!(CommitRangeRow => CommitRangeRecord {
    id: DbId,
    version_id: DbId,
    since_sha: String,
    base_version_id: Option<DbId>,
    base_is_ancestor: bool,
    commit_count: i32,
    truncated: i32,
    created_at: DbTime,
});

model_row!(FreezeRow => FreezeRecord {
    id: DbId,
    name: String,
    reason: Option<String>,
    environment_ids: Option<String>,
    application_ids: Option<String>,
    starts_at: DbTime,
    ends_at: Option<DbTime>,
    rrule: Option<String>,
    duration: Option<String>,
    time_zone: String,
    created_by: DbId,
    created_at: DbTime,
});

model_row!(FreezeEndRow => FreezeEndRecord {
    freeze_id: DbId,
    occurrence_start: DbTime,
    ended_at: DbTime,
    ended_by: String,
    reason: String,
});

model_row!(LockRow => Lock {
    id: DbId,
    environment_id: DbId,
    application_id: Option<DbId>,
    reason: String,
    created_by: DbId,
    created_by_name: String,
    created_at: DbTime,
    released_at: Option<DbTime>,
    released_by: Option<String>,
});

model_row!(PromotionRequirementRow => PromotionRequirementRecord {
    environment_id: DbId,
    required_environment_id: DbId,
    min_soak: String,
});

// PostgreSQL reads cells as rows; SQLite packs them (see `CellRow`).
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::{self, Deserializer, Visitor};

    /// Asks serde's derived decoder which fields, in which order, it reads a struct's array by.
    struct FieldProbe<'a>(&'a mut &'static [&'static str]);

    impl<'de> Deserializer<'de> for FieldProbe<'_> {
        type Error = de::value::Error;

        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("only structs are probed"))
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(de::Error::custom("probed"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
            option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
            ignored_any
        }
    }

    fn decoder_fields<T: JsonRow>() -> &'static [&'static str] {
        let mut fields: &'static [&'static str] = &[];
        let _ = T::deserialize(FieldProbe(&mut fields));
        fields
    }

    /// Each JSON row's column list is the order its decoder reads values in: swapping two
    /// columns (even of one type) in either fails here rather than decoding wrong.
    #[test]
    fn json_rows_list_the_columns_their_decoders_read() {
        fn check<T: JsonRow>() {
            assert_eq!(
                decoder_fields::<T>(),
                T::COLUMNS,
                "{}",
                std::any::type_name::<T>()
            );
            assert!(!T::COLUMNS.is_empty());
        }
        check::<InsightRangeRow>();
        check::<InsightNextRow>();
        check::<InsightFirstsRow>();
        check::<DeploymentAfterRow>();
        check::<RangeCommitRow>();
        check::<CellRow>();
    }
}

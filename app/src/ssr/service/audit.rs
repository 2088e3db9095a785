//! The audit trail: who changed what, when, from where and with which token. The service builds
//! an entry for each change; the store appends it in the same transaction as the change.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::state::{require, Service};
use crate::error::AppError;
use crate::model::{AuditActor, AuditEntry, AuditPage, AuditQuery, Role, User};
use crate::ssr::clock::now;
use crate::ssr::store::store_error;
use crate::ssr::{AuditFilter, AuditKey, AuditRecord};

tokio::task_local! {
    /// Where the request being served came from; the server sets it around each request.
    pub static REQUEST_ORIGIN: RequestOrigin;
}

/// The request's client address and, when it authenticated with one, the API token's name.
#[derive(Clone, Debug, Default)]
pub struct RequestOrigin {
    pub client_address: Option<String>,
    pub token_name: Option<String>,
}

/// Entries per page unless the caller asks for fewer.
const AUDIT_PAGE_DEFAULT: i64 = 50;
const AUDIT_PAGE_MAX: i64 = 500;

/// What an entry is about.
pub(crate) struct Target {
    pub kind: &'static str,
    pub id: Option<String>,
}

impl Target {
    pub fn of(kind: &'static str, id: impl ToString) -> Self {
        Target {
            kind,
            id: Some(id.to_string()),
        }
    }
}

/// An entry for `action` on `target` by `actor`, with the request's origin.
pub(crate) fn entry(
    actor: Option<&User>,
    action: &str,
    target: Target,
    changes: Option<Value>,
) -> AuditRecord {
    let origin = REQUEST_ORIGIN.try_with(Clone::clone).unwrap_or_default();
    AuditRecord {
        id: Uuid::now_v7(),
        at: now(),
        actor_id: actor.map(|user| user.id),
        actor_username: actor.map(|user| user.username.clone()),
        token_name: origin.token_name,
        client_address: origin.client_address,
        action: action.to_string(),
        target_type: target.kind.to_string(),
        target_id: target.id,
        changes: changes.map(|changes| changes.to_string()),
    }
}

/// The top-level fields that differ between two values of one type, as
/// `{field: {"before": …, "after": …}}`; `None` when nothing but the `ignored` fields changed.
pub(crate) fn changes<T: Serialize>(before: &T, after: &T, ignored: &[&str]) -> Option<Value> {
    let as_map = |value: &T| match serde_json::to_value(value) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    let (before, after) = (as_map(before), as_map(after));
    // Both sides' fields: one that is left out when empty (`skip_serializing_if`) and was cleared
    // is only on the before side.
    let fields = after
        .keys()
        .chain(before.keys().filter(|f| !after.contains_key(*f)));
    let changed: Map<String, Value> = fields
        .filter(|field| {
            !ignored.contains(&field.as_str()) && before.get(*field) != after.get(*field)
        })
        .map(|field| {
            let was = before.get(field).cloned().unwrap_or(Value::Null);
            let now = after.get(field).cloned().unwrap_or(Value::Null);
            (
                field.clone(),
                serde_json::json!({"before": was, "after": now}),
            )
        })
        .collect();
    (!changed.is_empty()).then_some(Value::Object(changed))
}

/// `{field: {"before": null, "after": value}}` for one field (a retraction's reason).
pub(crate) fn set_field(field: &str, value: impl Into<Value>) -> Value {
    serde_json::json!({ field: {"before": Value::Null, "after": value.into()} })
}

/// The last entry's (at, id), as an opaque cursor.
fn encode_cursor(key: &AuditKey) -> String {
    super::state::encode_cursor_parts(&[
        key.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        key.id.to_string(),
    ])
}

fn decode_cursor(cursor: &str) -> Result<AuditKey, AppError> {
    let invalid = || {
        AppError::BadRequest(
            "invalid cursor: pass the nextCursor value of the previous page unchanged".into(),
        )
    };
    let parts = super::state::decode_cursor_parts(cursor)?;
    let [at, id] = parts.as_slice() else {
        return Err(invalid());
    };
    let at = DateTime::parse_from_rfc3339(at)
        .map(|at| at.with_timezone(&Utc))
        .ok()
        .filter(crate::model::instant_in_range)
        .ok_or_else(invalid)?;
    let id = Uuid::parse_str(id).map_err(|_| invalid())?;
    Ok(AuditKey { at, id })
}

fn to_dto(record: AuditRecord) -> AuditEntry {
    let actor = record
        .actor_id
        .zip(record.actor_username)
        .map(|(id, username)| AuditActor { id, username });
    AuditEntry {
        id: record.id,
        at: record.at,
        actor,
        token_name: record.token_name,
        client_address: record.client_address,
        action: record.action,
        target_type: record.target_type,
        target_id: record.target_id,
        changes: record
            .changes
            .and_then(|text| serde_json::from_str(&text).ok()),
    }
}

impl Service {
    /// The audit trail, newest first (admins only).
    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username))]
    pub async fn audit_trail(
        &self,
        actor: &User,
        query: AuditQuery,
    ) -> Result<AuditPage, AppError> {
        require(actor, Role::Admin)?;
        let mut errors = vec![];
        let filter = query.to_filter(&mut errors);
        crate::model::finish(errors)?;
        let limit = match query.limit {
            None => AUDIT_PAGE_DEFAULT,
            Some(limit) if (1..=AUDIT_PAGE_MAX).contains(&limit) => limit,
            Some(_) => {
                return Err(AppError::field(
                    "limit",
                    format!("must be between 1 and {AUDIT_PAGE_MAX}"),
                ))
            }
        };
        let after = query.cursor.as_deref().map(decode_cursor).transpose()?;
        let mut records = self
            .audit_store()
            .list_audit(&filter, after, limit + 1)
            .await
            .map_err(store_error("audit trail"))?;
        let more = records.len() as i64 > limit;
        records.truncate(limit as usize);
        let next_cursor = more.then(|| records.last()).flatten().map(|last| {
            encode_cursor(&AuditKey {
                at: last.at,
                id: last.id,
            })
        });
        Ok(AuditPage {
            items: records.into_iter().map(to_dto).collect(),
            next_cursor,
        })
    }
}

impl AuditQuery {
    fn to_filter(&self, errors: &mut Vec<crate::error::FieldError>) -> AuditFilter {
        use crate::model::{check_instant, optional_text};
        let action = optional_text("action", self.action.as_deref(), 100, errors);
        let target_id = optional_text("targetId", self.target_id.as_deref(), 100, errors);
        check_instant("dateFrom", self.date_from.as_ref(), errors);
        check_instant("dateTo", self.date_to.as_ref(), errors);
        AuditFilter {
            actor_id: self.actor_id,
            action,
            target_id,
            date_from: self.date_from,
            date_to: self.date_to,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::changes;

    #[derive(serde::Serialize)]
    struct Thing {
        name: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        repository: Option<String>,
    }

    #[test]
    fn a_cleared_field_left_out_when_empty_is_a_change() {
        let before = Thing {
            name: "a".into(),
            repository: Some("acme/a".into()),
        };
        let after = Thing {
            name: "a".into(),
            repository: None,
        };
        let changed = changes(&before, &after, &[]).expect("a change");
        assert_eq!(changed["repository"]["before"], "acme/a");
        assert!(changed["repository"]["after"].is_null());
        assert!(changes(&after, &after, &[]).is_none());
    }
}

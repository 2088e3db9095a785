//! The audit trail for the admin's page.

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use uuid::Uuid;

use crate::error::AppError;
use crate::model::*;

#[cfg(feature = "ssr")]
use super::signed_in;

/// One page of the trail, newest first (admins only).
#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc)]
pub async fn audit_trail(
    #[server(default)] actor_id: Option<Uuid>,
    #[server(default)] action: Option<String>,
    #[server(default)] target_id: Option<String>,
    #[server(default)] date_from: Option<DateTime<Utc>>,
    #[server(default)] date_to: Option<DateTime<Utc>>,
    #[server(default)] cursor: Option<String>,
) -> Result<AuditPage, AppError> {
    let (service, user) = signed_in()?;
    let query = AuditQuery {
        actor_id,
        action,
        target_id,
        date_from,
        date_to,
        cursor,
        limit: Some(50),
    };
    service.audit_trail(&user, query).await
}

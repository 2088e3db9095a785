//! The deploy policy for the pages: the record form's check, the dashboard's banner and the
//! `/policy` page (freezes, locks, promotion rules).

// The freeze form's fields arrive one by one (the `#[server]` macro does not carry an
// item-level allow through to the function it generates).
#![allow(clippy::too_many_arguments)]

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use uuid::Uuid;

use crate::error::AppError;
use crate::model::*;

#[cfg(feature = "ssr")]
use super::signed_in;

/// May this version go to this environment now?
#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc)]
pub async fn check_deploy(
    application_id: Uuid,
    version_id: Uuid,
    environment_id: Uuid,
) -> Result<DeployCheck, AppError> {
    let (service, user) = signed_in()?;
    let query = crate::ssr::service::policy::DeployCheckQuery {
        application: application_id.to_string(),
        version: version_id.to_string(),
        environment: environment_id.to_string(),
        ..Default::default()
    };
    service.deploy_check(&user, query).await
}

/// Freezes in force, open locks, and current deployments recorded through a blocker.
#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc)]
pub async fn policy_in_force() -> Result<PolicyBanner, AppError> {
    let (service, user) = signed_in()?;
    service.policy_banner(&user).await
}

/// Adds a freeze: one window (`starts_at`, `ends_at`) or a recurrence (`rrule`, `duration`,
/// `time_zone`), on one environment or (none given) every production environment.
#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc)]
pub async fn create_freeze(
    name: String,
    #[server(default)] reason: Option<String>,
    #[server(default)] environment_id: Option<String>,
    #[server(default)] starts_at: Option<DateTime<Utc>>,
    #[server(default)] ends_at: Option<DateTime<Utc>>,
    #[server(default)] rrule: Option<String>,
    #[server(default)] duration: Option<String>,
    #[server(default)] time_zone: Option<String>,
) -> Result<Freeze, AppError> {
    let (service, user) = signed_in()?;
    let some = |text: Option<String>| text.filter(|t| !t.trim().is_empty());
    let environment_ids = match some(environment_id) {
        Some(id) => Some(vec![id.parse::<Uuid>().map_err(|_| {
            AppError::field("environmentIds", "choose an environment from the list")
        })?]),
        None => None,
    };
    let input = NewFreeze {
        name,
        reason: some(reason),
        environment_ids,
        application_ids: None,
        starts_at,
        ends_at,
        rrule: some(rrule),
        duration: some(duration),
        time_zone: some(time_zone),
    };
    service.create_freeze(&user, input).await
}

#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc)]
pub async fn end_freeze(id: Uuid, reason: String) -> Result<Freeze, AppError> {
    let (service, user) = signed_in()?;
    service
        .end_freeze(&user, id, EndFreezeRequest { reason })
        .await
}

#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc)]
pub async fn delete_freeze(id: Uuid) -> Result<(), AppError> {
    let (service, user) = signed_in()?;
    service.delete_freeze(&user, id).await
}

#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc)]
pub async fn create_lock(
    environment_id: Uuid,
    #[server(default)] application_id: Option<Uuid>,
    reason: String,
) -> Result<Lock, AppError> {
    let (service, user) = signed_in()?;
    let input = NewLock {
        environment_id,
        application_id,
        reason,
    };
    service.create_lock(&user, input).await
}

#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc)]
pub async fn release_lock(id: Uuid) -> Result<(), AppError> {
    let (service, user) = signed_in()?;
    service.release_lock(&user, id).await
}

/// Everything the `/policy` page shows, in one trip: occurrences over the next eight weeks
/// (with a day's margin on each side for time zones), open locks, promotion rules.
#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc)]
pub async fn load_policy_page() -> Result<PolicyOverview, AppError> {
    let (service, user) = signed_in()?;
    service.policy_overview(&user).await
}

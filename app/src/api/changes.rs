//! What changed: a deployment against what it replaced, two environments, a version's commits.

use leptos::prelude::*;
use uuid::Uuid;

#[cfg(feature = "ssr")]
use crate::api::signed_in;
use crate::error::AppError;
use crate::model::Changes;

#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc)]
pub async fn deployment_changes(id: Uuid) -> Result<Changes, AppError> {
    let (service, user) = signed_in()?;
    service
        .deployment_changes(&user, id, Default::default())
        .await
}

/// What `to` (an environment) runs that `from` does not, for one application.
#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc)]
pub async fn environment_changes(
    application_id: Uuid,
    from: Uuid,
    to: Uuid,
) -> Result<Changes, AppError> {
    let (service, user) = signed_in()?;
    let query = crate::ssr::service::changes::ChangesQuery {
        application: application_id.to_string(),
        from_environment: Some(from.to_string()),
        to_environment: Some(to.to_string()),
        ..Default::default()
    };
    service.changes(&user, query).await
}

#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc)]
pub async fn version_commits(id: Uuid) -> Result<Changes, AppError> {
    let (service, user) = signed_in()?;
    service.version_changes(&user, id, Default::default()).await
}

//! Applications, environments and versions.

use leptos::prelude::*;
use uuid::Uuid;

use crate::error::AppError;
use crate::model::*;

#[cfg(feature = "ssr")]
use super::signed_in;

#[cfg(feature = "ssr")]
/// HTML checkboxes send "on" when ticked and nothing otherwise.
fn checkbox(value: Option<String>) -> Option<bool> {
    Some(value.is_some_and(|v| v == "on" || v == "true"))
}

#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc)]
pub async fn list_applications(include_archived: bool) -> Result<Vec<Application>, AppError> {
    let (service, user) = signed_in()?;
    service.list_applications(&user, include_archived).await
}

/// Every team (for the team filters).
#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc)]
pub async fn list_teams() -> Result<Vec<Team>, AppError> {
    let (service, user) = signed_in()?;
    service.list_teams(&user).await
}

#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc)]
pub async fn get_application(id: Uuid) -> Result<Application, AppError> {
    let (service, user) = signed_in()?;
    service.get_application(&user, id).await
}

#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc)]
pub async fn create_application(
    name: String,
    description: Option<String>,
    repository: Option<String>,
) -> Result<Application, AppError> {
    let (service, user) = signed_in()?;
    let input = NewApplication {
        name,
        description,
        repository,
        team: None,
    };
    service.create_application(&user, input).await
}

/// Sets (or, when empty, clears) the repository GitHub and GitLab hooks find the application by.
#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc)]
pub async fn set_repository(id: Uuid, repository: String) -> Result<Application, AppError> {
    let (service, user) = signed_in()?;
    let patch = ApplicationPatch {
        repository: Some(repository),
        ..Default::default()
    };
    service.update_application(&user, id, patch).await
}

#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc)]
pub async fn archive_application(id: Uuid) -> Result<Application, AppError> {
    let (service, user) = signed_in()?;
    service.archive_application(&user, id).await
}

#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc)]
pub async fn list_environments(include_archived: bool) -> Result<Vec<Environment>, AppError> {
    let (service, user) = signed_in()?;
    service.list_environments(&user, include_archived).await
}

#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc)]
pub async fn get_environment(id: Uuid) -> Result<Environment, AppError> {
    let (service, user) = signed_in()?;
    service.get_environment(&user, id).await
}

#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc)]
pub async fn create_environment(
    name: String,
    description: Option<String>,
    is_production: Option<String>,
) -> Result<Environment, AppError> {
    let (service, user) = signed_in()?;
    service
        .create_environment(
            &user,
            NewEnvironment {
                name,
                description,
                position: None,
                is_production: checkbox(is_production),
            },
        )
        .await
}

#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc)]
pub async fn move_environment(id: Uuid, earlier: bool) -> Result<Vec<Environment>, AppError> {
    let (service, user) = signed_in()?;
    service.move_environment(&user, id, earlier).await
}

#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc)]
pub async fn archive_environment(id: Uuid) -> Result<Environment, AppError> {
    let (service, user) = signed_in()?;
    service.archive_environment(&user, id).await
}

#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc)]
pub async fn list_versions(application_id: Uuid) -> Result<Vec<Version>, AppError> {
    let (service, user) = signed_in()?;
    service.list_versions(&user, application_id, false).await
}

#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc)]
pub async fn create_version(
    application_id: Uuid,
    version_identifier: String,
    notes: Option<String>,
) -> Result<Version, AppError> {
    let (service, user) = signed_in()?;
    service
        .create_version(
            &user,
            application_id,
            NewVersion {
                version_identifier,
                released_at: None,
                notes,
                commit_sha: None,
            },
        )
        .await
}

#[cfg(test)]
mod tests {
    #[test]
    fn checkbox_reads_html_values() {
        assert_eq!(super::checkbox(Some("on".into())), Some(true));
        assert_eq!(super::checkbox(None), Some(false));
    }
}

//! Applications, environments and versions.

use leptos::prelude::*;
use uuid::Uuid;

use crate::error::AppError;
use crate::model::*;

#[cfg(feature = "ssr")]
use super::service;

#[cfg(feature = "ssr")]
/// HTML checkboxes send "on" when ticked and nothing otherwise.
fn checkbox(value: Option<String>) -> Option<bool> {
    Some(value.is_some_and(|v| v == "on" || v == "true"))
}

#[server(prefix = "/rpc")]
pub async fn list_applications(include_archived: bool) -> Result<Vec<Application>, AppError> {
    service()?.list_applications(include_archived).await
}

#[server(prefix = "/rpc")]
pub async fn get_application(id: Uuid) -> Result<Application, AppError> {
    service()?.get_application(id).await
}

#[server(prefix = "/rpc")]
pub async fn create_application(
    name: String,
    description: Option<String>,
) -> Result<Application, AppError> {
    service()?
        .create_application(NewApplication { name, description })
        .await
}

#[server(prefix = "/rpc")]
pub async fn archive_application(id: Uuid) -> Result<Application, AppError> {
    service()?.archive_application(id).await
}

#[server(prefix = "/rpc")]
pub async fn list_environments(include_archived: bool) -> Result<Vec<Environment>, AppError> {
    service()?.list_environments(include_archived).await
}

#[server(prefix = "/rpc")]
pub async fn get_environment(id: Uuid) -> Result<Environment, AppError> {
    service()?.get_environment(id).await
}

#[server(prefix = "/rpc")]
pub async fn create_environment(
    name: String,
    description: Option<String>,
    is_production: Option<String>,
) -> Result<Environment, AppError> {
    service()?
        .create_environment(NewEnvironment {
            name,
            description,
            position: None,
            is_production: checkbox(is_production),
        })
        .await
}

#[server(prefix = "/rpc")]
pub async fn move_environment(id: Uuid, earlier: bool) -> Result<Vec<Environment>, AppError> {
    service()?.move_environment(id, earlier).await
}

#[server(prefix = "/rpc")]
pub async fn archive_environment(id: Uuid) -> Result<Environment, AppError> {
    service()?.archive_environment(id).await
}

#[server(prefix = "/rpc")]
pub async fn list_versions(application_id: Uuid) -> Result<Vec<Version>, AppError> {
    service()?.list_versions(application_id, false).await
}

#[server(prefix = "/rpc")]
pub async fn create_version(
    application_id: Uuid,
    version_identifier: String,
    notes: Option<String>,
) -> Result<Version, AppError> {
    service()?
        .create_version(
            application_id,
            NewVersion {
                version_identifier,
                released_at: None,
                notes,
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

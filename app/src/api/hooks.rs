//! Inbound hooks for the settings page (admins).

use leptos::prelude::*;
use uuid::Uuid;

use crate::error::AppError;
use crate::model::*;

#[cfg(feature = "ssr")]
use super::signed_in;

#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc)]
pub async fn list_hooks() -> Result<Vec<Hook>, AppError> {
    let (service, user) = signed_in()?;
    service.list_hooks(&user).await
}

#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc)]
pub async fn create_hook(provider: String, name: String) -> Result<CreatedHook, AppError> {
    let (service, user) = signed_in()?;
    service.create_hook(&user, NewHook { provider, name }).await
}

#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc)]
pub async fn delete_hook(id: Uuid) -> Result<(), AppError> {
    let (service, user) = signed_in()?;
    service.delete_hook(&user, id).await
}

#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc)]
pub async fn hook_deliveries(id: Uuid) -> Result<Vec<HookDelivery>, AppError> {
    let (service, user) = signed_in()?;
    service.hook_deliveries(&user, id).await
}

//! Outbound webhooks for the settings page (admins).

use leptos::prelude::*;
use uuid::Uuid;

use crate::error::AppError;
use crate::model::*;

#[cfg(feature = "ssr")]
use super::signed_in;

#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc)]
pub async fn list_webhooks() -> Result<Vec<Webhook>, AppError> {
    let (service, user) = signed_in()?;
    service.list_webhooks(&user).await
}

/// The form's fields: a checkbox per event, one environment or all.
#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc)]
pub async fn create_webhook(
    url: String,
    #[server(default)] on_recorded: Option<String>,
    #[server(default)] on_retracted: Option<String>,
    #[server(default)] on_policy: Option<String>,
    #[server(default)] environment_id: Option<String>,
    format: String,
) -> Result<CreatedWebhook, AppError> {
    let (service, user) = signed_in()?;
    // "Deploy policy" stands for the five policy events (issue 35).
    let events = [
        (&on_recorded, "deployment.recorded"),
        (&on_retracted, "deployment.retracted"),
        (&on_policy, "deployment.policy_violated"),
        (&on_policy, "freeze.started"),
        (&on_policy, "freeze.ended"),
        (&on_policy, "lock.created"),
        (&on_policy, "lock.released"),
    ]
    .into_iter()
    .filter_map(|(checked, event)| checked.as_ref().map(|_| event.to_string()))
    .collect();
    let environment_ids = match environment_id.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => Some(vec![Uuid::parse_str(raw).map_err(|_| {
            AppError::field("environmentIds", "names an unknown environment")
        })?]),
    };
    let input = NewWebhook {
        url,
        events,
        environment_ids,
        format: Some(format),
    };
    service.create_webhook(&user, input).await
}

#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc)]
pub async fn delete_webhook(id: Uuid) -> Result<(), AppError> {
    let (service, user) = signed_in()?;
    service.delete_webhook(&user, id).await
}

#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc)]
pub async fn webhook_deliveries(id: Uuid) -> Result<Vec<WebhookDelivery>, AppError> {
    let (service, user) = signed_in()?;
    service.webhook_deliveries(&user, id).await
}

#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc)]
pub async fn send_test_webhook(id: Uuid) -> Result<WebhookDelivery, AppError> {
    let (service, user) = signed_in()?;
    service.send_test_notification(&user, id).await
}

#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc)]
pub async fn redeliver_webhook(id: Uuid, delivery_id: Uuid) -> Result<WebhookDelivery, AppError> {
    let (service, user) = signed_in()?;
    service.redeliver(&user, id, delivery_id).await
}

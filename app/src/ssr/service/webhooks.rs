//! Signed outbound notifications. Admins configure targets; a recorded or retracted deployment
//! queues one notification per matching target in its own transaction (the outbox); the
//! server's notifier takes due ones, sends them and reports back here, where the retry schedule
//! and the log live.

use std::net::IpAddr;

use chrono::Duration;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

use super::access::random_secret;
use super::audit::{entry, Target};
use super::state::{require, Service};
use crate::error::{AppError, FieldError};
use crate::model::*;
use crate::ssr::clock::now;
use crate::ssr::store::store_error;
use crate::ssr::WebhookRecord;

/// How a delivery's retries are paced and whether private addresses may be called.
#[derive(Clone, Debug)]
pub struct WebhookPolicy {
    /// The wait after the first failed attempt; each further one doubles it, up to an hour.
    pub first_retry: Duration,
    /// Retries stop this long after the notification was queued (it is then `failed`).
    pub give_up_after: Duration,
    /// Loopback and private addresses are refused (server-side request forgery) unless this.
    pub allow_private: bool,
}

impl Default for WebhookPolicy {
    fn default() -> Self {
        Self {
            first_retry: Duration::seconds(30),
            give_up_after: Duration::days(1),
            allow_private: false,
        }
    }
}

/// A notification ready to send: where, which headers, which body.
#[derive(Clone, Debug)]
pub struct Notification {
    pub delivery: WebhookDelivery,
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

/// What came of one attempt.
#[derive(Clone, Debug)]
pub enum Attempt {
    /// The receiver answered 2xx.
    Delivered { status: u16 },
    /// Another status, or no answer (`status` then `None`), with the reason.
    Failed { status: Option<u16>, error: String },
}

/// Addresses no webhook may reach unless private targets are allowed: loopback, private,
/// link-local, shared (CGNAT), unspecified, multicast and their IPv6 counterparts.
pub fn is_private_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || (a == 100 && (64..128).contains(&b))
                || a == 0
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || v6
                    .to_ipv4_mapped()
                    .is_some_and(|v4| is_private_address(IpAddr::V4(v4)))
        }
    }
}

/// `sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(format!("{timestamp}.{body}").as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

pub(super) fn to_webhook(record: WebhookRecord) -> Webhook {
    Webhook {
        id: record.id,
        url: record.url,
        events: record.events.split(',').map(str::to_string).collect(),
        environment_ids: record.environment_ids.map(|ids| {
            ids.split(',')
                .filter_map(|id| Uuid::parse_str(id).ok())
                .collect()
        }),
        format: record.format,
        created_by: record.created_by,
        created_at: record.created_at,
    }
}

/// Checks a target URL: http(s), a host, no credentials, a sane length; an address literal must
/// not be private unless allowed (names are checked when they are resolved, at each delivery).
fn check_url(url: &str, allow_private: bool, errors: &mut Vec<FieldError>) -> String {
    let url = url.trim();
    let mut refuse = |message: &str| errors.push(FieldError::new("url", message));
    if url.chars().count() > 2000 {
        refuse("must be at most 2000 characters");
        return url.to_string();
    }
    let Ok(uri) = url.parse::<http::Uri>() else {
        refuse("must be an absolute http:// or https:// URL");
        return url.to_string();
    };
    let scheme_ok = matches!(uri.scheme_str(), Some("http") | Some("https"));
    let Some(host) = uri.host().filter(|_| scheme_ok) else {
        refuse("must be an absolute http:// or https:// URL");
        return url.to_string();
    };
    if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        refuse("must not carry a user name or password");
    }
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = literal.parse::<IpAddr>() {
        if !allow_private && is_private_address(ip) {
            refuse("points at a loopback or private address, which webhooks may not call");
        }
    }
    url.to_string()
}

impl Service {
    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username))]
    pub async fn create_webhook(
        &self,
        actor: &User,
        input: NewWebhook,
    ) -> Result<CreatedWebhook, AppError> {
        require(actor, Role::Admin)?;
        let mut errors = vec![];
        let url = check_url(&input.url, self.webhooks.allow_private, &mut errors);
        let mut events: Vec<String> = vec![];
        for event in &input.events {
            match WEBHOOK_EVENTS.iter().find(|known| **known == event.trim()) {
                Some(known) if !events.iter().any(|e| e == known) => events.push(known.to_string()),
                Some(_) => {}
                None => errors.push(FieldError::new(
                    "events",
                    format!(
                        "unknown event {event:?}: use {}",
                        WEBHOOK_EVENTS.join(" or ")
                    ),
                )),
            }
        }
        if input.events.is_empty() {
            errors.push(FieldError::new(
                "events",
                format!("name at least one of {}", WEBHOOK_EVENTS.join(", ")),
            ));
        }
        let format = input.format.as_deref().unwrap_or("json").trim().to_string();
        if !["json", "slack"].contains(&format.as_str()) {
            errors.push(FieldError::new("format", "must be json or slack"));
        }
        if let Some(ids) = &input.environment_ids {
            let known = self
                .environment_store()
                .list_environments(true)
                .await
                .map_err(store_error("environment"))?;
            if ids.iter().any(|id| !known.iter().any(|e| e.id == *id)) {
                errors.push(FieldError::new(
                    "environmentIds",
                    "names an unknown environment",
                ));
            }
        }
        finish(errors)?;
        let secret = random_secret("whsec_");
        let record = WebhookRecord {
            id: Uuid::now_v7(),
            url,
            events: events.join(","),
            environment_ids: input.environment_ids.map(|ids| {
                ids.iter()
                    .map(Uuid::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            }),
            format,
            signing_secret: secret.expose().to_string(),
            created_by: actor.id,
            created_at: now(),
        };
        let audit = entry(
            Some(actor),
            "webhook.created",
            Target::of("webhook", record.id),
            Some(serde_json::json!({"url": {"before": null, "after": record.url}})),
        );
        self.webhook_store()
            .insert_webhook(&record, &[audit])
            .await
            .map_err(store_error("a webhook"))?;
        Ok(CreatedWebhook {
            webhook: to_webhook(record),
            secret,
        })
    }

    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username))]
    pub async fn list_webhooks(&self, actor: &User) -> Result<Vec<Webhook>, AppError> {
        require(actor, Role::Admin)?;
        let records = self
            .webhook_store()
            .list_webhooks()
            .await
            .map_err(store_error("webhook"))?;
        Ok(records.into_iter().map(to_webhook).collect())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username, %id))]
    pub async fn delete_webhook(&self, actor: &User, id: Uuid) -> Result<(), AppError> {
        require(actor, Role::Admin)?;
        let audit = entry(
            Some(actor),
            "webhook.deleted",
            Target::of("webhook", id),
            None,
        );
        self.webhook_store()
            .delete_webhook(id, &[audit])
            .await
            .map_err(store_error("webhook"))
    }

    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username, %id))]
    pub async fn webhook_deliveries(
        &self,
        actor: &User,
        id: Uuid,
    ) -> Result<Vec<WebhookDelivery>, AppError> {
        require(actor, Role::Admin)?;
        self.webhook(id).await?;
        self.webhook_store()
            .list_webhook_deliveries(id)
            .await
            .map_err(store_error("webhook"))
    }

    /// Queues a `ping` to the webhook, to check it is wired up.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username, %id))]
    pub async fn send_test_notification(
        &self,
        actor: &User,
        id: Uuid,
    ) -> Result<WebhookDelivery, AppError> {
        require(actor, Role::Admin)?;
        self.webhook(id).await?;
        self.queue_again(id, "ping", None, None).await
    }

    /// Queues a delivery from the webhook's log once more (same event, same deployment).
    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username, %id, %delivery_id))]
    pub async fn redeliver(
        &self,
        actor: &User,
        id: Uuid,
        delivery_id: Uuid,
    ) -> Result<WebhookDelivery, AppError> {
        require(actor, Role::Admin)?;
        let log = self.webhook_deliveries(actor, id).await?;
        let earlier = log
            .into_iter()
            .find(|d| d.id == delivery_id)
            .ok_or_else(|| AppError::NotFound("delivery not found".into()))?;
        self.queue_again(id, &earlier.event, earlier.deployment_id, earlier.subject)
            .await
    }

    async fn webhook(&self, id: Uuid) -> Result<WebhookRecord, AppError> {
        self.webhook_store()
            .list_webhooks()
            .await
            .map_err(store_error("webhook"))?
            .into_iter()
            .find(|w| w.id == id)
            .ok_or_else(|| AppError::NotFound("webhook not found".into()))
    }

    async fn queue_again(
        &self,
        webhook_id: Uuid,
        event: &str,
        deployment_id: Option<Uuid>,
        subject: Option<String>,
    ) -> Result<WebhookDelivery, AppError> {
        let delivery = WebhookDelivery {
            subject,
            ..pending(webhook_id, event, deployment_id)
        };
        self.webhook_store()
            .insert_webhook_deliveries(std::slice::from_ref(&delivery))
            .await
            .map_err(store_error("webhook"))?;
        self.wake_notifier(std::slice::from_ref(&delivery));
        Ok(delivery)
    }

    /// The notifications `event` on a deployment to `environment_id` owes, for the deployment's
    /// own transaction.
    pub(super) async fn outbox_for(
        &self,
        event: &str,
        deployment_id: Uuid,
        environment_id: Uuid,
    ) -> Result<Vec<WebhookDelivery>, AppError> {
        // Kept with the policy's inputs: every record reads both.
        let inputs = self.policy_inputs().await?;
        Ok(outbox_from(
            &inputs.webhooks,
            event,
            deployment_id,
            environment_id,
        ))
    }

    /// The notifications `event` about a freeze or lock (`subject`, fixed now) owes, for
    /// webhooks that listen to it and to one of `environment_ids`.
    pub(super) async fn outbox_about(
        &self,
        event: &str,
        subject: serde_json::Value,
        environment_ids: &[Uuid],
    ) -> Result<Vec<WebhookDelivery>, AppError> {
        let webhooks = self
            .webhook_store()
            .list_webhooks()
            .await
            .map_err(store_error("webhook"))?;
        let subject = subject.to_string();
        Ok(webhooks
            .into_iter()
            .map(to_webhook)
            .filter(|w| w.events.iter().any(|e| e == event))
            .filter(|w| {
                w.environment_ids
                    .as_ref()
                    .is_none_or(|ids| ids.iter().any(|id| environment_ids.contains(id)))
            })
            .map(|w| WebhookDelivery {
                subject: Some(subject.clone()),
                ..pending(w.id, event, None)
            })
            .collect())
    }

    /// Takes up to `limit` due notifications for this server to send (held for `lease`).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn take_due_notifications(
        &self,
        limit: i64,
        lease: Duration,
    ) -> Result<Vec<Notification>, AppError> {
        let at = now();
        let due = self
            .webhook_store()
            .claim_webhook_deliveries(at, at + lease, limit)
            .await
            .map_err(store_error("webhook"))?;
        if due.is_empty() {
            return Ok(vec![]);
        }
        let webhooks = self
            .webhook_store()
            .list_webhooks()
            .await
            .map_err(store_error("webhook"))?;
        let mut ready = vec![];
        for delivery in due {
            let Some(webhook) = webhooks.iter().find(|w| w.id == delivery.webhook_id) else {
                continue; // deleted meanwhile; its rows went with it
            };
            let body = self.payload(webhook, &delivery).await?;
            let timestamp = at.timestamp();
            let headers = vec![
                ("content-type", "application/json".to_string()),
                ("x-deploytrack-event", delivery.event.clone()),
                ("x-deploytrack-delivery", delivery.id.to_string()),
                ("x-deploytrack-timestamp", timestamp.to_string()),
                (
                    "x-deploytrack-signature",
                    signature(&webhook.signing_secret, timestamp, &body),
                ),
            ];
            ready.push(Notification {
                url: webhook.url.clone(),
                delivery,
                headers,
                body,
            });
        }
        Ok(ready)
    }

    /// Whether private addresses may be called (the notifier checks each resolved address).
    pub fn webhooks_may_call_private_addresses(&self) -> bool {
        self.webhooks.allow_private
    }

    /// Records an attempt: delivered, retried later (doubling waits, at most an hour apart) or,
    /// past the retry window, failed for good.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn finish_notification(
        &self,
        mut delivery: WebhookDelivery,
        attempt: Attempt,
    ) -> Result<(), AppError> {
        let at = now();
        match attempt {
            Attempt::Delivered { status } => {
                delivery.status = "delivered".into();
                delivery.last_status = Some(status.into());
                delivery.last_error = None;
                delivery.delivered_at = Some(at);
            }
            Attempt::Failed { status, error } => {
                let doublings = (delivery.attempts - 1).clamp(0, 16) as u32;
                let wait =
                    (self.webhooks.first_retry * 2_i32.pow(doublings)).min(Duration::hours(1));
                let next = at + wait;
                delivery.status = if next - delivery.created_at > self.webhooks.give_up_after {
                    "failed".into()
                } else {
                    "pending".into()
                };
                delivery.next_attempt_at = next;
                delivery.last_status = status.map(i32::from);
                delivery.last_error = Some(error.chars().take(500).collect());
            }
        }
        self.webhook_store()
            .finish_webhook_delivery(&delivery)
            .await
            .map_err(store_error("webhook"))
    }

    /// The body: `{event, deployment}` (json) or `{text}` (slack).
    async fn payload(
        &self,
        webhook: &WebhookRecord,
        delivery: &WebhookDelivery,
    ) -> Result<String, AppError> {
        if let Some(subject) = &delivery.subject {
            // A freeze or lock: what it was about, as queued.
            let mut subject: serde_json::Value =
                serde_json::from_str(subject).unwrap_or_else(|_| serde_json::json!({}));
            let text = subject
                .as_object_mut()
                .and_then(|fields| fields.remove("text"))
                .unwrap_or_default();
            let body = if webhook.format == "slack" {
                // A team's channel (drift) goes along: Slack's incoming webhooks may post there.
                match subject.get("channel").filter(|channel| channel.is_string()) {
                    Some(channel) => serde_json::json!({ "text": text, "channel": channel }),
                    None => serde_json::json!({ "text": text }),
                }
            } else {
                let mut body = serde_json::json!({ "event": delivery.event });
                if let (Some(body), Some(fields)) = (body.as_object_mut(), subject.as_object()) {
                    body.extend(fields.clone());
                }
                body
            };
            return Ok(body.to_string());
        }
        let deployment = match delivery.deployment_id {
            Some(id) => Some(crate::ssr::records::to_deployment(
                self.history_store()
                    .get_deployment(id)
                    .await
                    .map_err(store_error("deployment"))?,
            )),
            None => None,
        };
        let body = if webhook.format == "slack" {
            let text = match &deployment {
                Some(d) if delivery.event == "deployment.policy_violated" => format!(
                    "Deployed through policy: {} {} to {} by {} — {}{}",
                    d.application.name,
                    d.version.version_identifier,
                    d.environment.name,
                    d.deployed_by.as_deref().unwrap_or("someone"),
                    d.policy_violations
                        .iter()
                        .map(|b| b.message.as_str())
                        .collect::<Vec<_>>()
                        .join("; "),
                    d.override_reason
                        .as_deref()
                        .map(|r| format!(" (override: {r})"))
                        .unwrap_or_default()
                ),
                Some(d) if delivery.event == "deployment.retracted" => format!(
                    "Retracted: {} {} in {} (deployed {}) — {}",
                    d.application.name,
                    d.version.version_identifier,
                    d.environment.name,
                    d.deployment_date.format("%Y-%m-%d %H:%M UTC"),
                    d.delete_reason.as_deref().unwrap_or("no reason given")
                ),
                Some(d) => format!(
                    "{}{} {} deployed to {} by {} at {}",
                    if d.is_rollback { "Rollback: " } else { "" },
                    d.application.name,
                    d.version.version_identifier,
                    d.environment.name,
                    d.deployed_by.as_deref().unwrap_or("someone"),
                    d.deployment_date.format("%Y-%m-%d %H:%M UTC")
                ),
                None => "deploytrack test notification: this webhook works.".to_string(),
            };
            serde_json::json!({ "text": text })
        } else {
            serde_json::json!({ "event": delivery.event, "deployment": deployment })
        };
        Ok(body.to_string())
    }
}

/// As [`Service::outbox_for`], from webhooks already read.
pub(super) fn outbox_from(
    webhooks: &[Webhook],
    event: &str,
    deployment_id: Uuid,
    environment_id: Uuid,
) -> Vec<WebhookDelivery> {
    webhooks
        .iter()
        .filter(|w| w.events.iter().any(|e| e == event))
        .filter(|w| {
            w.environment_ids
                .as_ref()
                .is_none_or(|ids| ids.contains(&environment_id))
        })
        .map(|w| pending(w.id, event, Some(deployment_id)))
        .collect()
}

fn pending(webhook_id: Uuid, event: &str, deployment_id: Option<Uuid>) -> WebhookDelivery {
    let at = now();
    WebhookDelivery {
        id: Uuid::now_v7(),
        webhook_id,
        event: event.to_string(),
        deployment_id,
        created_at: at,
        status: "pending".into(),
        attempts: 0,
        next_attempt_at: at,
        last_status: None,
        last_error: None,
        delivered_at: None,
        subject: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_loopback_addresses_are_recognised() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "172.16.5.4",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_private_address(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"] {
            assert!(!is_private_address(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn urls_are_checked() {
        let check = |url: &str, allow| {
            let mut errors = vec![];
            check_url(url, allow, &mut errors);
            errors.is_empty()
        };
        assert!(check("https://hooks.slack.com/services/T0/B0/x", false));
        assert!(!check("ftp://example.com/", false));
        assert!(!check("/relative", false));
        assert!(!check("https://user:pw@example.com/", false));
        assert!(!check("http://127.0.0.1:9000/", false));
        assert!(!check("http://[::1]/", false));
        assert!(check("http://127.0.0.1:9000/", true));
    }

    #[test]
    fn signatures_are_hmac_sha256_of_timestamp_dot_body() {
        // Computed independently: printf '1700000000.{}' | openssl dgst -sha256 -hmac secret
        assert_eq!(
            signature("secret", 1_700_000_000, "{}"),
            "sha256=b8569b78799ff9e3cbff0fc2d63a33a2b57f3282abd07c37ae5e8e7d79a5f163"
        );
    }
}

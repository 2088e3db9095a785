//! Sends the webhook notifications the service queued: takes due ones (held by a lease, so two
//! instances never send the same one and a crashed instance's are taken up again), refuses
//! private addresses unless allowed (checked on the addresses a name resolves to, and the request
//! then goes to exactly that address), never follows redirects, and reports each outcome.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use app::ssr::service::webhooks::{is_private_address, Attempt, Notification};
use app::ssr::Service;
use tokio_util::sync::CancellationToken;

/// How long a taken notification is held before another instance may take it.
const LEASE: chrono::TimeDelta = chrono::TimeDelta::seconds(60);
/// A receiver gets this long to answer.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Looked at least this often; notifications this server queues wake it at once.
const POLL: Duration = Duration::from_secs(1);
const BATCH: i64 = 16;

pub fn spawn(service: Arc<Service>, shutdown: CancellationToken) {
    tokio::spawn(async move {
        loop {
            loop {
                match service.take_due_notifications(BATCH, LEASE).await {
                    Ok(batch) if batch.is_empty() => break,
                    Ok(batch) => {
                        let sends = batch.into_iter().map(|n| deliver(&service, n));
                        futures::future::join_all(sends).await;
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "could not take webhook notifications");
                        break;
                    }
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = service.notifications_queued() => {}
                _ = tokio::time::sleep(POLL) => {}
            }
        }
    });
}

async fn deliver(service: &Service, notification: Notification) {
    let attempt = send(&notification, service.webhooks_may_call_private_addresses()).await;
    if let Attempt::Failed { error, .. } = &attempt {
        tracing::info!(webhook = %notification.delivery.webhook_id, delivery = %notification.delivery.id, %error, "webhook attempt failed");
    }
    if let Err(err) = service
        .finish_notification(notification.delivery, attempt)
        .await
    {
        tracing::warn!(error = %err, "could not record a webhook attempt");
    }
}

async fn send(notification: &Notification, allow_private: bool) -> Attempt {
    let failed = |error: String| Attempt::Failed {
        status: None,
        error,
    };
    let Ok(url) = reqwest::Url::parse(&notification.url) else {
        return failed("the URL does not parse".into());
    };
    let Some(host) = url.host_str().map(str::to_string) else {
        return failed("the URL has no host".into());
    };
    let port = url.port_or_known_default().unwrap_or(443);
    let bare = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let addresses: Vec<SocketAddr> = match tokio::net::lookup_host((bare.as_str(), port)).await {
        Ok(found) => found.collect(),
        Err(err) => return failed(format!("cannot resolve {host}: {err}")),
    };
    let Some(address) = addresses
        .iter()
        .find(|a| allow_private || !is_private_address(a.ip()))
        .copied()
    else {
        return failed(format!(
            "{host} resolves to a loopback or private address, which webhooks may not call"
        ));
    };
    // Pinned to the address just checked, so a second lookup cannot be steered elsewhere.
    let client = match reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .user_agent(concat!("deploytrack-webhooks/", env!("CARGO_PKG_VERSION")))
        .resolve(&bare, address)
        .build()
    {
        Ok(client) => client,
        Err(err) => return failed(format!("cannot set up HTTP: {err}")),
    };
    let mut request = client.post(url).body(notification.body.clone());
    for (name, value) in &notification.headers {
        request = request.header(*name, value);
    }
    match request.send().await {
        Ok(response) if response.status().is_success() => Attempt::Delivered {
            status: response.status().as_u16(),
        },
        Ok(response) => Attempt::Failed {
            status: Some(response.status().as_u16()),
            error: format!("the receiver answered {}", response.status()),
        },
        Err(err) => failed(format!("no answer: {}", root_cause(&err))),
    }
}

fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

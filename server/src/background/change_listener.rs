//! Live updates across instances on PostgreSQL: one dedicated connection LISTENs on the channel
//! the database's triggers announce committed changes on (migration 0010), and passes each one to
//! this server's live feeds. Notifications sent while the connection was down are lost, so after
//! every (re)connection the feeds are told to refetch everything once.

use std::sync::{Arc, Weak};
use std::time::Duration;

use app::ssr::service::Change;
use app::ssr::Service;
use sqlx::postgres::PgListener;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// The channel migration 0010's triggers notify.
pub const CHANNEL: &str = "deploytrack_changes";

const FIRST_RETRY: Duration = Duration::from_millis(250);
const LONGEST_RETRY: Duration = Duration::from_secs(30);

/// What a live feed is told for one notification: the deployment, or "refetch everything".
pub fn change_of(payload: &str) -> Change {
    payload
        .strip_prefix("deployment ")
        .and_then(|id| Uuid::parse_str(id).ok())
        .map_or(Change::Everything, Change::Deployment)
}

/// Listens until `shutdown` is cancelled or the service is gone (a test dropped its app).
pub fn spawn(url: String, service: &Arc<Service>, shutdown: CancellationToken) {
    let service = Arc::downgrade(service);
    tokio::spawn(async move {
        tokio::select! {
            () = listen(&url, service) => {}
            () = shutdown.cancelled() => {}
        }
    });
}

async fn listen(url: &str, service: Weak<Service>) {
    let mut retry = FIRST_RETRY;
    let mut connected_before = false;
    loop {
        match subscribe(url).await {
            Ok(mut listener) => {
                retry = FIRST_RETRY;
                if connected_before {
                    tracing::info!("live-update listener reconnected; live pages refetch");
                }
                // Changes made before this connection existed were never heard here.
                if !forward(&service, Change::Everything) {
                    return;
                }
                connected_before = true;
                loop {
                    match listener.try_recv().await {
                        Ok(Some(notification)) => {
                            if !forward(&service, change_of(notification.payload())) {
                                return;
                            }
                        }
                        // Lost and re-established at once: notifications in between are gone.
                        Ok(None) => {
                            tracing::warn!("live-update listener lost its connection; reconnected");
                            if !forward(&service, Change::Everything) {
                                return;
                            }
                        }
                        Err(err) => {
                            tracing::warn!(error = %err, "live-update listener lost its connection");
                            break;
                        }
                    }
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, retry_in = ?retry, "live-update listener cannot connect");
            }
        }
        if service.strong_count() == 0 {
            return;
        }
        tokio::time::sleep(retry).await;
        retry = (retry * 2).min(LONGEST_RETRY);
    }
}

async fn subscribe(url: &str) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect(url).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// False once the service is gone.
fn forward(service: &Weak<Service>, change: Change) -> bool {
    match service.upgrade() {
        Some(service) => {
            service.forward_change(change);
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::{change_of, Change};
    use uuid::Uuid;

    #[test]
    fn payloads_name_a_deployment_or_ask_for_a_refetch() {
        let id = Uuid::now_v7();
        assert_eq!(
            change_of(&format!("deployment {id}")),
            Change::Deployment(id)
        );
        assert_eq!(change_of("refresh"), Change::Everything);
        assert_eq!(change_of("deployment not-an-id"), Change::Everything);
        assert_eq!(change_of(""), Change::Everything);
    }
}

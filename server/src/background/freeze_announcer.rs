//! Announces freeze occurrences as they start and end (`freeze.started`, `freeze.ended`). Every
//! instance runs one; the database's marker of each announcement makes it happen once however
//! many instances look, and the notifications are queued in the marker's transaction, so a
//! crash between the two cannot lose or repeat one.

use std::sync::Arc;
use std::time::Duration;

use app::ssr::Service;
use tokio_util::sync::CancellationToken;

/// How often it looks: a freeze's start is announced within this long.
const EVERY: Duration = Duration::from_secs(5);

pub fn spawn(service: Arc<Service>, shutdown: CancellationToken) {
    tokio::spawn(async move {
        loop {
            if let Err(err) = service.announce_freeze_transitions().await {
                tracing::warn!(error = %err, "could not announce freeze starts and ends");
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(EVERY) => {}
            }
        }
    });
}

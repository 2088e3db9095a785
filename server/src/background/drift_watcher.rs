//! Keeps drift current and told: works out the breaches when anything changes (here or, on
//! PostgreSQL, on another instance) and at least every [`EVERY`] (a lag limit is crossed by time
//! passing alone), and sends the teams' daily digests when their time comes. Every instance runs
//! one; the database makes each announcement and each digest happen once.

use std::sync::Arc;
use std::time::Duration;

use app::ssr::clock::now;
use app::ssr::Service;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

/// The longest a breach that time alone causes waits to be noticed.
const EVERY: Duration = Duration::from_secs(30);
/// Changes arriving within this long are evaluated together.
const SETTLE: Duration = Duration::from_millis(250);

pub fn spawn(service: Arc<Service>, shutdown: CancellationToken) {
    tokio::spawn(async move {
        let mut changes = service.subscribe();
        loop {
            if let Err(err) = service.evaluate_drift().await {
                tracing::warn!(error = %err, "could not evaluate drift");
            }
            if let Err(err) = service.send_drift_digests(now()).await {
                tracing::warn!(error = %err, "could not send the drift digests");
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(EVERY) => {}
                received = changes.recv() => {
                    if matches!(received, Err(RecvError::Closed)) {
                        return;
                    }
                    tokio::time::sleep(SETTLE).await;
                    // What else arrived meanwhile is covered by this evaluation.
                    while changes.try_recv().is_ok() {}
                }
            }
        }
    });
}

//! Keeps time travel's checkpoints written: after changes (here or, on PostgreSQL, on another
//! instance), when an answer found too many deployments after its checkpoint, and at least every
//! [`EVERY`], it writes the stale ones again and adds the missing ones. Every instance runs one; the database serializes them (and
//! them with recording), and each finds what is still missing when its turn comes.

use std::sync::Arc;
use std::time::Duration;

use app::ssr::Service;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

/// The longest a missing checkpoint waits when nothing announces changes.
const EVERY: Duration = Duration::from_secs(30);
/// Changes arriving within this long are taken in together.
const SETTLE: Duration = Duration::from_millis(250);
/// Checkpoints written in one go before others get a turn at the writer.
const MOST_AT_ONCE: usize = 20;

pub fn spawn(service: Arc<Service>, shutdown: CancellationToken) {
    tokio::spawn(async move {
        let mut changes = service.subscribe();
        loop {
            let built = match service.build_checkpoints(MOST_AT_ONCE).await {
                Ok(built) => built,
                Err(err) => {
                    tracing::warn!(error = %err, "could not write time-travel checkpoints");
                    0
                }
            };
            if built == MOST_AT_ONCE {
                // More to write (a long history seen for the first time): go on shortly.
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(SETTLE) => continue,
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(EVERY) => {}
                _ = service.checkpoint_wanted() => {}
                received = changes.recv() => {
                    if matches!(received, Err(RecvError::Closed)) {
                        return;
                    }
                    tokio::time::sleep(SETTLE).await;
                    while changes.try_recv().is_ok() {}
                }
            }
        }
    });
}

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
/// After writing, the builder rests this many times as long as the writing took: a checkpoint
/// holds the writer (SQLite's one connection, PostgreSQL's recorders through the lock) while it
/// is written, ~70 ms at 500 × 15, and recording a year back into one pair, as fast as it
/// goes, marks one stale with every record. Answers meanwhile start from the checkpoint before.
const REST_PER_WRITING: u32 = 20;
/// The longest rest.
const MOST_REST: Duration = Duration::from_secs(30);

pub fn spawn(service: Arc<Service>, shutdown: CancellationToken) {
    tokio::spawn(async move {
        let mut changes = service.subscribe();
        loop {
            let started = std::time::Instant::now();
            let built = service.build_checkpoints(1).await;
            if let Err(err) = &built {
                tracing::warn!(error = %err, "could not write time-travel checkpoints");
            } else if built.is_ok_and(|built| built > 0) {
                // One at a time, resting in between, until none is missing.
                let rest = (started.elapsed() * REST_PER_WRITING).clamp(SETTLE, MOST_REST);
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(rest) => continue,
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

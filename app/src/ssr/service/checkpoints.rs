//! Time travel's checkpoints (see `store::checkpoints`): answering from them, and writing them
//! (the background builder calls this after changes, and `seed` once its history is loaded).

use chrono::{DateTime, Utc};

use super::state::Service;
use crate::error::AppError;
use crate::ssr::kept::grid::Layout;
use crate::ssr::kept::time_travel::StateAt;
use crate::ssr::store::{before_history, store_error};

/// The fewest live deployments between two checkpoints, however small the matrix.
const FEWEST_BETWEEN: i64 = 500;
/// Places to add a checkpoint remembered at once (more are found again by later answers).
const MOST_WANTED: usize = 64;

impl Service {
    /// The same service with checkpoints `every` live deployments apart (None: as many as a
    /// quarter of the matrix's cells, at least [`FEWEST_BETWEEN`]). Closer checkpoints answer
    /// from fewer deployments and take more room: each holds every cell (about 120 bytes each).
    /// At half the cells an answer spent about 8 ms of its 20 reading and parsing ~1,900
    /// deployments (500 × 15, 1M); a quarter halves that for twice the room (428 MB at 1M).
    pub fn with_checkpoint_every(mut self, every: Option<i64>) -> Self {
        self.checkpoint_every = every.map(|every| every.max(1));
        self
    }

    fn checkpoint_spacing(&self, layout: &Layout) -> i64 {
        self.checkpoint_every.unwrap_or_else(|| {
            let cells = layout.applications.len() * layout.environments.len();
            (cells as i64 / 4).max(FEWEST_BETWEEN)
        })
    }

    /// The matrix as it was at `at`. When the answer read more than twice the spacing of
    /// deployments after its checkpoint, the builder is asked for one in between.
    pub(super) async fn state_at(&self, at: DateTime<Utc>) -> Result<StateAt, AppError> {
        // Today's rows and columns, as the kept matrix has them (read again only when the
        // catalogue changed): reading them per answer cost 3–9 ms with 500 applications.
        let layout = self.kept_matrix().await?.layout.clone();
        let state = StateAt::read(self.whole_store(), layout, at).await?;
        if state.deployments_after as i64 > 2 * self.checkpoint_spacing(&state.layout) {
            let from = state.checkpoint.unwrap_or_else(before_history);
            let mut wanted = self
                .checkpoints_wanted
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if !wanted.contains(&from) && wanted.len() < MOST_WANTED {
                wanted.push(from);
                self.checkpoint_wanted.notify_one();
            }
        }
        Ok(state)
    }

    /// Waits until an answer asks for a checkpoint (see [`Self::state_at`]).
    pub async fn checkpoint_wanted(&self) {
        self.checkpoint_wanted.notified().await
    }

    /// Writes the checkpoints that are missing (those answers asked for, stale ones again, one
    /// per full stretch of new deployments), at most `most`; how many it wrote.
    pub async fn build_checkpoints(&self, most: usize) -> Result<usize, AppError> {
        let layout = Layout::read(self.whole_store(), "checkpoint").await?;
        let every = self.checkpoint_spacing(&layout);
        let failed = store_error("checkpoint");
        let mut built = 0;
        while built < most {
            let wanted = (self.checkpoints_wanted.lock())
                .unwrap_or_else(|e| e.into_inner())
                .pop();
            let next = match wanted {
                // Already there (or nothing to split) moves on to the next.
                Some(after) => {
                    self.whole_store()
                        .build_checkpoint(every, Some(after))
                        .await
                }
                None => match self.whole_store().build_checkpoint(every, None).await {
                    Ok(None) => return Ok(built),
                    next => next,
                },
            };
            if next.map_err(&failed)?.is_some() {
                built += 1;
            }
        }
        Ok(built)
    }
}

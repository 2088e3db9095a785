//! What a server keeps between requests (the full matrix, the time-travel lists) for as long as
//! the database's matrix stamp vouches for it. The stamp is read from the database on every
//! request, so a change made through another server on the same database is seen at once.

use std::future::Future;
use std::sync::Arc;

use super::store_error;
use crate::error::AppError;
use crate::ssr::store::{MatrixStamp, Store};

/// A state read from the database and brought up to date from it.
pub(super) trait Keepable: Clone + Send + Sync + Sized + 'static {
    /// The stamp the state was read (or last brought up to date) at.
    fn stamp(&self) -> MatrixStamp;
    /// Reads it whole; at least as new as `stamp`.
    fn read(
        stamp: MatrixStamp,
        store: &dyn Store,
    ) -> impl Future<Output = Result<Self, AppError>> + Send;
    /// Reads only what changed since; None when it must be read whole instead.
    fn brought_up_to(
        self,
        stamp: MatrixStamp,
        store: &dyn Store,
    ) -> impl Future<Output = Result<Option<Self>, AppError>> + Send;
}

pub(super) struct Kept<T> {
    /// Async: whoever brings the state up to date holds it across the database reads, and the
    /// requests waiting meanwhile then find the new one kept instead of reading their own.
    slot: tokio::sync::Mutex<Option<Arc<T>>>,
}

impl<T: Keepable> Kept<T> {
    pub(super) fn new() -> Self {
        Self {
            slot: tokio::sync::Mutex::new(None),
        }
    }

    /// The state at least as new as the database's stamp when called: the kept one, brought
    /// up to date when only some pairs changed, or read whole.
    pub(super) async fn get(&self, store: &dyn Store) -> Result<Arc<T>, AppError> {
        let stamp = store.matrix_stamp().await.map_err(store_error("matrix"))?;
        let mut slot = self.slot.lock().await;
        if let Some(kept) = slot.as_ref().filter(|kept| kept.stamp() >= stamp) {
            return Ok(kept.clone());
        }
        let updated = match slot.take() {
            Some(kept) => {
                // In place when no request still holds the kept one (the usual case).
                let kept = Arc::try_unwrap(kept).unwrap_or_else(|shared| T::clone(&shared));
                kept.brought_up_to(stamp, store).await?
            }
            None => None,
        };
        // The old state is gone by now: never two whole copies at once.
        let state = match updated {
            Some(state) => state,
            None => T::read(stamp, store).await?,
        };
        let state = Arc::new(state);
        *slot = Some(state.clone());
        Ok(state)
    }
}

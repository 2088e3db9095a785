//! The last full matrix a server built, reused for as long as the database's matrix stamp says
//! nothing in it has changed. The stamp is read from the database on every request, so a change
//! made through another server on the same database is seen at once; nothing is ever served
//! from a cache that the database has not vouched for.

use std::future::Future;
use std::sync::{Mutex, PoisonError};

use crate::error::AppError;
use crate::ssr::store::{MatrixStamp, Store};

use super::store_error;

/// One value (cheap to clone: `Bytes` or an `Arc`) and the stamp of the data it was built from.
pub(super) struct Stamped<T> {
    slot: Mutex<Option<(MatrixStamp, T)>>,
}

impl<T: Clone> Stamped<T> {
    pub(super) fn new() -> Self {
        Self {
            slot: Mutex::new(None),
        }
    }

    /// The kept value if it was built from data with the current stamp; otherwise `build`s it
    /// (from data at least as new as the stamp, since the stamp is read first) and keeps it.
    pub(super) async fn get_or_build<F>(&self, store: &dyn Store, build: F) -> Result<T, AppError>
    where
        F: Future<Output = Result<T, AppError>>,
    {
        let stamp = store.matrix_stamp().await.map_err(store_error("matrix"))?;
        if let Some(kept) = self.kept(stamp) {
            return Ok(kept);
        }
        let value = build.await?;
        *self.slot.lock().unwrap_or_else(PoisonError::into_inner) = Some((stamp, value.clone()));
        Ok(value)
    }

    fn kept(&self, stamp: MatrixStamp) -> Option<T> {
        let slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        slot.as_ref()
            .filter(|(kept_stamp, _)| *kept_stamp == stamp)
            .map(|(_, value)| value.clone())
    }
}

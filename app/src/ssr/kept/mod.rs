//! What a server keeps between requests (the full matrix, the dashboard's figures) for as long
//! as the database's matrix stamp vouches for it, and the matrix at an instant (read per
//! request, kept by nobody). The stamp is read from the database on every request, so a change
//! made through another server on the same database is seen at once. This module depends on
//! the model and the store only; the service uses it, and it never uses the service.

pub(crate) mod figures;
pub(crate) mod grid;
pub(crate) mod matrix;
pub(crate) mod time_travel;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use uuid::Uuid;

use crate::error::AppError;
use crate::ssr::store::store_error;
use crate::ssr::store::{MatrixStamp, Store};

/// A state read from the database and brought up to date from it.
pub(crate) trait Keepable: Clone + Send + Sync + Sized + 'static {
    /// The stamp the state was read (or last brought up to date) at.
    fn stamp(&self) -> MatrixStamp;
    /// Reads it whole; at least as new as `stamp`.
    fn read(
        stamp: MatrixStamp,
        store: &dyn Store,
    ) -> impl Future<Output = Result<Self, AppError>> + Send;
    /// Whether it still holds apart from the stamp (state that also depends on the clock says
    /// no once its period has passed); when not, it is read whole again.
    fn is_current(&self) -> bool {
        true
    }
    /// Reads only what changed since; None when it must be read whole instead.
    fn brought_up_to(
        self,
        stamp: MatrixStamp,
        store: &dyn Store,
    ) -> impl Future<Output = Result<Option<Self>, AppError>> + Send;
}

pub(crate) struct Kept<T> {
    /// Async: whoever brings the state up to date holds it across the database reads, and the
    /// requests waiting meanwhile then find the new one kept instead of reading their own.
    slot: tokio::sync::Mutex<Option<Arc<T>>>,
}

impl<T: Keepable> Kept<T> {
    pub(crate) fn new() -> Self {
        Self {
            slot: tokio::sync::Mutex::new(None),
        }
    }

    /// The state at least as new as the database's stamp when called: the kept one, brought
    /// up to date when only some pairs changed, or read whole.
    pub(crate) async fn get(&self, store: &dyn Store) -> Result<Arc<T>, AppError> {
        let stamp = store.matrix_stamp().await.map_err(store_error("matrix"))?;
        let mut slot = self.slot.lock().await;
        if let Some(kept) =
            (slot.as_ref()).filter(|kept| kept.stamp() >= stamp && kept.is_current())
        {
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

type Pair = (Uuid, Uuid);

/// Every pair's revision as of a kept state's read: what tells which pairs changed since.
/// Revisions come from one rising counter, so the pairs changed since are those above the
/// highest seen, and the stamp's sum vouches that none committed out of counter order.
#[derive(Clone)]
pub(crate) struct Revisions {
    epoch: i64,
    /// The pairs as read (shown or not, archived ones too), sorted; fixed until read again, so
    /// every generation of a kept state shares them.
    pairs: Arc<[Pair]>,
    /// Whether `pairs` came in the store's key order (it always does: the store sorts by the
    /// ids' bytes, as `Uuid` does), so a read of revisions without pairs lines up with them.
    in_store_order: bool,
    /// Per pair in `pairs`.
    revisions: Vec<i64>,
    /// Pairs first deployed to after the read, when the state keeps up with those.
    added: HashMap<Pair, i64>,
    sum: i64,
    highest: i64,
}

impl Revisions {
    pub(crate) async fn read(store: &dyn Store, what: &'static str) -> Result<Self, AppError> {
        let read = store
            .pair_revisions(true)
            .await
            .map_err(store_error(what))?;
        let mut pairs: Vec<(Pair, i64)> = read.pairs.into_iter().zip(read.revisions).collect();
        let in_store_order = pairs.is_sorted_by_key(|(pair, _)| *pair);
        if !in_store_order {
            pairs.sort_unstable_by_key(|(pair, _)| *pair);
        }
        let (pairs, revisions): (Vec<Pair>, Vec<i64>) = pairs.into_iter().unzip();
        Ok(Self {
            epoch: read.epoch,
            pairs: pairs.into(),
            in_store_order,
            sum: revisions.iter().sum(),
            highest: revisions.iter().copied().max().unwrap_or(0),
            revisions,
            added: HashMap::new(),
        })
    }

    fn get(&self, pair: &Pair) -> Option<i64> {
        match self.pairs.binary_search(pair) {
            Ok(i) => Some(self.revisions[i]),
            Err(_) => self.added.get(pair).copied(),
        }
    }

    /// Whether the pair had a revision when read.
    pub(crate) fn knew(&self, pair: &Pair) -> bool {
        self.pairs.binary_search(pair).is_ok()
    }

    /// Records a pair's new revision (once the state has taken in its change).
    pub(crate) fn set(&mut self, pair: Pair, revision: i64) {
        let old = match self.pairs.binary_search(&pair) {
            Ok(i) => std::mem::replace(&mut self.revisions[i], revision),
            Err(_) => self.added.insert(pair, revision).unwrap_or(0),
        };
        self.sum += revision - old;
        self.highest = self.highest.max(revision);
    }

    /// The pairs (with their new revision) whose revision changed since, pairs first deployed
    /// to included; None when the state must be read whole instead: the epoch moved (a pair
    /// row removed, an application or environment changed), or more than `most` changed.
    /// Usually one small read; when the sum says a change committed out of counter order
    /// (PostgreSQL's writers draw before they commit), every revision is compared.
    pub(crate) async fn changed(
        &self,
        store: &dyn Store,
        what: &'static str,
        most: usize,
    ) -> Result<Option<Vec<(Pair, i64)>>, AppError> {
        let failed = store_error(what);
        // One more than `most`: a full list then says that at most `most` changed.
        let changes = (store.pair_changes(self.highest, most + 1).await).map_err(&failed)?;
        if changes.epoch != self.epoch || changes.changed.len() > most {
            return Ok(None);
        }
        let sum = self.sum
            + (changes.changed.iter())
                .map(|(pair, revision)| revision - self.get(pair).unwrap_or(0))
                .sum::<i64>();
        if sum == changes.revision_sum {
            return Ok(Some(changes.changed));
        }
        if self.in_store_order && self.added.is_empty() {
            // Within one epoch pairs are only added: as many revisions, the same pairs.
            let fresh = store.pair_revisions(false).await.map_err(&failed)?;
            if fresh.epoch != self.epoch {
                return Ok(None);
            }
            if fresh.revisions.len() == self.revisions.len() {
                let changed: Vec<(Pair, i64)> =
                    (self.pairs.iter().zip(&self.revisions).zip(fresh.revisions))
                        .filter(|((_, old), new)| *old != new)
                        .map(|((pair, _), new)| (*pair, new))
                        .collect();
                return Ok((changed.len() <= most).then_some(changed));
            }
        }
        let fresh = store.pair_revisions(true).await.map_err(&failed)?;
        if fresh.epoch != self.epoch {
            return Ok(None);
        }
        let changed: Vec<(Pair, i64)> = (fresh.pairs.into_iter().zip(fresh.revisions))
            .filter(|(pair, revision)| self.get(pair) != Some(*revision))
            .collect();
        Ok((changed.len() <= most).then_some(changed))
    }
}

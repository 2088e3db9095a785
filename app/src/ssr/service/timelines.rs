//! Time travel from memory. The state at an instant is, per pair, the latest live deployment
//! dated at or before it; asking the database costs one index seek per pair (7,500 at 500 × 15,
//! ~25 µs each once the index outgrows the CPU caches). Instead each server keeps every pair's
//! live deployments as a sorted list of compact moments (32 bytes each: 32 MB per million
//! deployments) and answers with one binary search per pair.
//!
//! The lists follow the database the way the kept matrix does: the matrix stamp is read on every
//! request; when it moved, the pairs whose revision rose (each record or retraction into a pair,
//! back-dated or not, raises it) are read again from the pair index. When the epoch moved (a pair
//! row removed, or an application or environment changed) everything is read again: a removed
//! pair's revision may be drawn again later on SQLite, so revisions alone no longer tell.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::store_error;
use crate::error::AppError;
use crate::model::{Application, Environment};
use crate::ssr::store::{CurrentStateRecord, MatrixStamp, Store, TimelineRecord, VersionBrief};

type Pair = (Uuid, Uuid);

/// More changed pairs than this: read every pair again rather than one statement per pair.
const MOST_PAIRS_REREAD: usize = 1_000;

/// The most pairs [`Store::pair_changes`] lists: with fewer, it listed every change.
const PAIR_CHANGES_LISTED: usize = 33;

/// `deployed_by` left empty.
const NOBODY: u32 = u32::MAX;

/// A live deployment in its pair's list.
#[derive(Clone, Copy, Debug)]
struct Moment {
    /// The deployment date in microseconds since the epoch (what both backends store).
    date: i64,
    deployment_id: Uuid,
    /// Index into `Timelines::versions`.
    version: u32,
    /// Index into `Timelines::deployers`, or [`NOBODY`].
    deployed_by: u32,
}

#[derive(Clone)]
pub(super) struct Timelines {
    stamp: MatrixStamp,
    epoch: i64,
    revisions: HashMap<Pair, i64>,
    revision_sum: i64,
    highest_revision: i64,
    /// Each pair's live deployments in history order (date, then recording time, then id).
    pairs: HashMap<Pair, Arc<[Moment]>>,
    versions: Vec<Arc<VersionBrief>>,
    version_index: HashMap<Uuid, u32>,
    deployers: Vec<Arc<str>>,
    deployer_index: HashMap<Arc<str>, u32>,
}

pub(super) struct KeptTimelines {
    /// Async, as for the kept matrix: whoever brings the lists up to date holds it across the
    /// reads, and the requests waiting meanwhile then find them kept.
    slot: tokio::sync::Mutex<Option<Arc<Timelines>>>,
}

impl KeptTimelines {
    pub(super) fn new() -> Self {
        Self {
            slot: tokio::sync::Mutex::new(None),
        }
    }

    /// Lists at least as new as the database's stamp when called.
    pub(super) async fn get(&self, store: &dyn Store) -> Result<Arc<Timelines>, AppError> {
        let failed = store_error("time travel");
        let stamp = store.matrix_stamp().await.map_err(&failed)?;
        let mut slot = self.slot.lock().await;
        if let Some(kept) = slot.as_ref().filter(|kept| kept.stamp >= stamp) {
            return Ok(kept.clone());
        }
        let kept = slot.take();
        let timelines = match kept {
            Some(kept) => {
                let kept = Arc::try_unwrap(kept).unwrap_or_else(|shared| Timelines::clone(&shared));
                kept.brought_up_to(stamp, store).await?
            }
            None => None,
        };
        let timelines = match timelines {
            Some(timelines) => timelines,
            None => {
                // Let go of the old lists before reading new ones: never two copies at once.
                Timelines::read(stamp, store).await?
            }
        };
        let timelines = Arc::new(timelines);
        *slot = Some(timelines.clone());
        Ok(timelines)
    }
}

fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

impl Timelines {
    /// Reads every pair's list (after the revisions, so the lists are at least as new), one
    /// application at a time.
    async fn read(stamp: MatrixStamp, store: &dyn Store) -> Result<Self, AppError> {
        let failed = store_error("time travel");
        let revisions = store.pair_revisions(true).await.map_err(&failed)?;
        let mut timelines = Timelines {
            stamp,
            epoch: revisions.epoch,
            revision_sum: revisions.revisions.iter().sum(),
            highest_revision: revisions.revisions.iter().copied().max().unwrap_or(0),
            revisions: revisions
                .pairs
                .iter()
                .copied()
                .zip(revisions.revisions.iter().copied())
                .collect(),
            pairs: HashMap::with_capacity(revisions.pairs.len()),
            versions: vec![],
            version_index: HashMap::new(),
            deployers: vec![],
            deployer_index: HashMap::new(),
        };
        let mut applications: Vec<Uuid> = revisions.pairs.iter().map(|(a, _)| *a).collect();
        applications.dedup(); // the pairs come in key order
        for application_id in applications {
            timelines.reread(store, application_id, None).await?;
        }
        Ok(timelines)
    }

    /// Replaces the lists of one application's pairs (of one environment, or all) with what the
    /// database holds now.
    async fn reread(
        &mut self,
        store: &dyn Store,
        application_id: Uuid,
        environment_id: Option<Uuid>,
    ) -> Result<(), AppError> {
        let (records, versions) = store
            .application_timeline(application_id, environment_id)
            .await
            .map_err(store_error("time travel"))?;
        for version in versions {
            if !self.version_index.contains_key(&version.id) {
                self.version_index
                    .insert(version.id, self.versions.len() as u32);
                self.versions.push(Arc::new(version));
            }
        }
        let mut by_environment: HashMap<Uuid, Vec<TimelineRecord>> = HashMap::new();
        for record in records {
            by_environment
                .entry(record.environment_id)
                .or_default()
                .push(record);
        }
        if let Some(environment_id) = environment_id {
            // A pair whose last live deployment was retracted has no list any more.
            by_environment.entry(environment_id).or_default();
        }
        for (environment_id, mut records) in by_environment {
            records.sort_by_key(|r| (r.deployment_date, r.created_at, r.deployment_id));
            let mut moments = Vec::with_capacity(records.len());
            for record in records {
                let version = *self
                    .version_index
                    .get(&record.version_id)
                    .ok_or(AppError::Internal)?;
                let deployed_by = self.deployer(record.deployed_by);
                moments.push(Moment {
                    date: micros(record.deployment_date),
                    deployment_id: record.deployment_id,
                    version,
                    deployed_by,
                });
            }
            let pair = (application_id, environment_id);
            if moments.is_empty() {
                self.pairs.remove(&pair);
            } else {
                self.pairs.insert(pair, moments.into());
            }
        }
        Ok(())
    }

    fn deployer(&mut self, deployed_by: Option<String>) -> u32 {
        let Some(name) = deployed_by else {
            return NOBODY;
        };
        if let Some(&index) = self.deployer_index.get(name.as_str()) {
            return index;
        }
        let name: Arc<str> = name.into();
        let index = self.deployers.len() as u32;
        self.deployers.push(name.clone());
        self.deployer_index.insert(name, index);
        index
    }

    /// These lists with the pairs that changed read again; None when everything must be read
    /// again (the epoch moved, or too many pairs changed).
    async fn brought_up_to(
        mut self,
        stamp: MatrixStamp,
        store: &dyn Store,
    ) -> Result<Option<Self>, AppError> {
        let Some(changed) = self.changed_pairs(store).await? else {
            return Ok(None);
        };
        for ((application_id, environment_id), revision) in changed {
            self.reread(store, application_id, Some(environment_id))
                .await?;
            let old = self
                .revisions
                .insert((application_id, environment_id), revision)
                .unwrap_or(0);
            self.revision_sum += revision - old;
            self.highest_revision = self.highest_revision.max(revision);
        }
        self.stamp = stamp;
        Ok(Some(self))
    }

    /// The pairs (with their new revision) whose revision changed since these lists were read,
    /// new pairs included; None when everything must be read again. Usually one small read:
    /// the pairs above the highest revision seen, checked against the stamp's sum; when the sum
    /// says a change committed out of counter order (PostgreSQL), every revision is compared.
    async fn changed_pairs(&self, store: &dyn Store) -> Result<Option<Vec<(Pair, i64)>>, AppError> {
        let failed = store_error("time travel");
        let changes = store
            .pair_changes(self.highest_revision)
            .await
            .map_err(&failed)?;
        if changes.epoch != self.epoch {
            return Ok(None);
        }
        let sum = self.revision_sum
            + changes
                .changed
                .iter()
                .map(|(pair, revision)| revision - self.revisions.get(pair).copied().unwrap_or(0))
                .sum::<i64>();
        if changes.changed.len() < PAIR_CHANGES_LISTED && sum == changes.revision_sum {
            return Ok(Some(changes.changed));
        }
        let fresh = store.pair_revisions(true).await.map_err(&failed)?;
        if fresh.epoch != self.epoch {
            return Ok(None);
        }
        let changed: Vec<(Pair, i64)> = fresh
            .pairs
            .into_iter()
            .zip(fresh.revisions)
            .filter(|(pair, revision)| self.revisions.get(pair) != Some(revision))
            .collect();
        Ok((changed.len() <= MOST_PAIRS_REREAD).then_some(changed))
    }

    /// Per pair of these applications × environments that had a live deployment at `at`, that
    /// deployment, in matrix order (the order of the two lists).
    pub(super) fn states_at(
        &self,
        applications: &[Application],
        environments: &[Environment],
        at: DateTime<Utc>,
    ) -> Vec<CurrentStateRecord> {
        let at = micros(at);
        let mut states = vec![];
        for application in applications {
            for environment in environments {
                let Some(moments) = self.pairs.get(&(application.id, environment.id)) else {
                    continue;
                };
                let shown = moments.partition_point(|m| m.date <= at);
                let Some(moment) = shown.checked_sub(1).map(|i| moments[i]) else {
                    continue;
                };
                let version = &self.versions[moment.version as usize];
                let previous = shown.checked_sub(2).map(|i| {
                    let previous = &self.versions[moments[i].version as usize];
                    (previous.version_identifier.clone(), previous.created_at)
                });
                states.push(CurrentStateRecord {
                    application_id: application.id,
                    application_name: application.name.clone(),
                    environment_id: environment.id,
                    environment_name: environment.name.clone(),
                    deployment_id: moment.deployment_id,
                    version_id: version.id,
                    version_identifier: version.version_identifier.clone(),
                    version_created_at: version.created_at,
                    deployment_date: DateTime::from_timestamp_micros(moment.date)
                        .unwrap_or_default(),
                    deployed_by: (moment.deployed_by != NOBODY)
                        .then(|| self.deployers[moment.deployed_by as usize].to_string()),
                    previous_version: previous,
                });
            }
        }
        states
    }
}

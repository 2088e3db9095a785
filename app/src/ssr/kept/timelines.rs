//! Time travel from memory. The state at an instant is, per pair, the latest live deployment
//! dated at or before it; asking the database costs one index seek per pair, thousands per
//! answer. Instead each server keeps every pair's live deployments as a sorted list of compact
//! moments (32 bytes each) and answers with one binary search per pair.
//!
//! The lists follow the database the way the kept matrix does: the matrix stamp is read on every
//! request; when it moved, the pairs whose revision rose (each record or retraction into a pair,
//! back-dated or not, raises it) are read again from the pair index. When the epoch moved (a pair
//! row removed, or an application or environment changed) everything is read again: a removed
//! pair's revision may be drawn again later on SQLite, so revisions alone no longer tell.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::grid::{CellEnd, Layout};
use super::matrix::next_array_chunk;
use super::{Keepable, Revisions};
use crate::error::AppError;
use crate::model::{
    Application, ApplicationRef, CurrentDeploymentState, Environment, EnvironmentRef, MatrixCell,
    VersionRef,
};
use crate::ssr::records::is_rollback;
use crate::ssr::store::store_error;
use crate::ssr::store::{MatrixStamp, PairFilter, Store, TimelineRecord, VersionBrief};

/// More changed pairs than this: read every pair again rather than one statement per pair.
const MOST_PAIRS_REREAD: usize = 1_000;

const ROLLBACK: u32 = 1 << 31;
const VERSION_INDEX: u32 = ROLLBACK - 1;

/// `deployed_by` left empty.
const NOBODY: u32 = u32::MAX;

/// One application's row: each kept environment's live deployments in history order (date,
/// then recording time, then id), column after column. One allocation per row rather than per
/// pair (80,000 pairs at 2,000 × 40); the dates apart, so a binary search reads 8 bytes per step
/// rather than a whole moment.
struct RowLists {
    /// Column `c`'s entries end at `ends[c]` and start where column `c - 1`'s end (0 for the
    /// first).
    ends: Box<[u32]>,
    /// Deployment dates in microseconds since the epoch (what both backends store).
    dates: Box<[i64]>,
    moments: Box<[Moment]>,
}

impl RowLists {
    /// Built from one list per column.
    fn from_columns(columns: Vec<Vec<(i64, Moment)>>) -> Self {
        let mut ends = Vec::with_capacity(columns.len());
        let total = columns.iter().map(Vec::len).sum();
        let (mut dates, mut moments) = (Vec::with_capacity(total), Vec::with_capacity(total));
        for list in columns {
            for (date, moment) in list {
                dates.push(date);
                moments.push(moment);
            }
            ends.push(dates.len() as u32);
        }
        RowLists {
            ends: ends.into(),
            dates: dates.into(),
            moments: moments.into(),
        }
    }

    fn range(&self, column: usize) -> std::ops::Range<usize> {
        let end_of = |c: usize| self.ends.get(c).map_or(0, |&end| end as usize);
        let start = column.checked_sub(1).map_or(0, end_of);
        start..end_of(column).max(start)
    }

    /// Column `column`'s list as (date, moment) pairs.
    fn column(&self, column: usize) -> Vec<(i64, Moment)> {
        let range = self.range(column);
        (self.dates[range.clone()].iter().copied())
            .zip(self.moments[range].iter().copied())
            .collect()
    }
}

/// A live deployment in its pair's list, but for its date.
#[derive(Clone, Copy, Debug)]
struct Moment {
    deployment_id: Uuid,
    /// Index into `Timelines::versions` ([`VERSION_INDEX`]), and [`ROLLBACK`] when the
    /// version is older than the one of the moment before (decided once, when read).
    version: u32,
    /// Index into `Timelines::deployers`, or [`NOBODY`].
    deployed_by: u32,
}

#[derive(Clone)]
pub(crate) struct Timelines {
    stamp: MatrixStamp,
    /// What the revisions were when read before the lists, and as changes were taken in
    /// (pairs first deployed to since included).
    revisions: Revisions,
    /// The active rows and columns in matrix order. Any change to them moves the epoch, and
    /// with it everything is read again, so they are as current as the lists.
    pub(crate) layout: Arc<Layout>,
    /// Each active application's row of lists (same index as its row); a change to a
    /// pair replaces its row. Pairs of archived rows or columns are not kept (bringing one
    /// back moves the epoch, and everything is read again).
    grid: Vec<Arc<RowLists>>,
    versions: Vec<Arc<VersionBrief>>,
    version_index: HashMap<Uuid, u32>,
    deployers: Vec<Arc<str>>,
    deployer_index: HashMap<Arc<str>, u32>,
}

impl Keepable for Timelines {
    fn stamp(&self) -> MatrixStamp {
        self.stamp
    }

    /// Reads every pair's list (after the revisions, so the lists are at least as new), one
    /// application at a time.
    async fn read(stamp: MatrixStamp, store: &dyn Store) -> Result<Self, AppError> {
        let revisions = Revisions::read(store, "time travel").await?;
        let layout = Layout::read(store, "time travel").await?;
        let mut timelines = Timelines {
            stamp,
            revisions,
            // Every row's lists start empty (one shared allocation), each replaced as read.
            grid: {
                let empty = Arc::new(RowLists::from_columns(vec![]));
                vec![empty; layout.applications.len()]
            },
            layout: Arc::new(layout),
            versions: vec![],
            version_index: HashMap::new(),
            deployers: vec![],
            deployer_index: HashMap::new(),
        };
        let applications: Vec<Uuid> = (timelines.layout.applications.iter())
            .map(|a| a.id)
            .collect();
        for application_id in applications {
            timelines.reread(store, application_id, None).await?;
        }
        Ok(timelines)
    }

    /// These lists with the pairs that changed read again; None when everything must be read
    /// again (the epoch moved, or too many pairs changed).
    async fn brought_up_to(
        mut self,
        stamp: MatrixStamp,
        store: &dyn Store,
    ) -> Result<Option<Self>, AppError> {
        let changed = (self.revisions)
            .changed(store, "time travel", MOST_PAIRS_REREAD)
            .await?;
        let Some(changed) = changed else {
            return Ok(None);
        };
        for ((application_id, environment_id), revision) in changed {
            self.reread(store, application_id, Some(environment_id))
                .await?;
            (self.revisions).set((application_id, environment_id), revision);
        }
        self.stamp = stamp;
        Ok(Some(self))
    }
}

fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

impl Timelines {
    /// Replaces the lists of one application's pairs (of one environment, or all) with what the
    /// database holds now.
    async fn reread(
        &mut self,
        store: &dyn Store,
        application_id: Uuid,
        environment_id: Option<Uuid>,
    ) -> Result<(), AppError> {
        let Some(row) = self.layout.row(application_id) else {
            return Ok(()); // archived: not shown
        };
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
        let width = self.layout.environments.len();
        // The one column read again (None: all of them).
        let only = match environment_id {
            None => None,
            Some(id) => match self.layout.column(id) {
                Some(column) => Some(column),
                None => return Ok(()), // archived: not shown
            },
        };
        let mut read: Vec<Vec<TimelineRecord>> = (0..width).map(|_| Vec::new()).collect();
        for record in records {
            if let Some(column) = self.layout.column(record.environment_id) {
                read[column].push(record); // else archived: not shown
            }
        }
        let old = self.grid[row].clone();
        let mut columns = Vec::with_capacity(width);
        for (column, records) in read.into_iter().enumerate() {
            columns.push(if only.is_none_or(|only| only == column) {
                self.list_of(records)?
            } else {
                old.column(column)
            });
        }
        self.grid[row] = Arc::new(RowLists::from_columns(columns));
        Ok(())
    }

    /// A pair's live deployments as its list: in history order, each version's rollback flag
    /// decided against the one before.
    fn list_of(
        &mut self,
        mut records: Vec<TimelineRecord>,
    ) -> Result<Vec<(i64, Moment)>, AppError> {
        records.sort_by_key(|r| (r.deployment_date, r.created_at, r.deployment_id));
        let mut list = Vec::with_capacity(records.len());
        let mut previous: Option<u32> = None;
        for record in records {
            let index = *self
                .version_index
                .get(&record.version_id)
                .ok_or(AppError::Internal)?;
            let brief = |i: u32| {
                let version = &self.versions[i as usize];
                (version.version_identifier.as_str(), version.created_at)
            };
            let rollback = is_rollback(brief(index), previous.map(brief));
            previous = Some(index);
            let deployed_by = record
                .deployed_by
                .map_or(NOBODY, |name| self.deployer(name));
            list.push((
                micros(record.deployment_date),
                Moment {
                    deployment_id: record.deployment_id,
                    version: index | if rollback { ROLLBACK } else { 0 },
                    deployed_by,
                },
            ));
        }
        Ok(list)
    }

    fn deployer(&mut self, name: String) -> u32 {
        if let Some(&index) = self.deployer_index.get(name.as_str()) {
            return index;
        }
        let name: Arc<str> = name.into();
        let index = self.deployers.len() as u32;
        self.deployers.push(name.clone());
        self.deployer_index.insert(name, index);
        index
    }

    /// The active applications `pairs` names (all, or one).
    pub(crate) fn applications_of(&self, pairs: PairFilter) -> Vec<Application> {
        (self.layout.applications.iter())
            .filter(|a| pairs.application_id.is_none_or(|id| id == a.id))
            .cloned()
            .collect()
    }

    /// Per pair of these applications × the active environments (of one, with `environment`)
    /// that had a live deployment at `at`: its row (index in `applications`), column (index in
    /// the environments shown), application, environment, list and the deployment's index in
    /// it, in matrix order.
    fn found_at<'a>(
        &'a self,
        applications: &'a [Application],
        environment: Option<Uuid>,
        at: DateTime<Utc>,
    ) -> impl Iterator<Item = Found<'a>> + 'a {
        let at = micros(at);
        // (column shown, column in the grid, environment)
        let environments: Vec<(u32, usize, &Environment)> = (self.layout.environments.iter())
            .enumerate()
            .filter(|(_, e)| environment.is_none_or(|id| id == e.id))
            .zip(0..)
            .map(|((in_grid, e), shown)| (shown, in_grid, e))
            .collect();
        (0..).zip(applications).flat_map(move |(row, application)| {
            let lists = (self.layout.row(application.id)).map(|r| (r, &*self.grid[r]));
            // The row's lists, searched together: (column shown, column in the grid,
            // environment, range in the row's lists).
            let listed: Vec<(u32, usize, &Environment, std::ops::Range<usize>)> = (lists
                .into_iter())
            .flat_map(|(_, lists)| {
                (environments.iter()).filter_map(move |&(column, grid_column, environment)| {
                    let range = lists.range(grid_column);
                    (!range.is_empty()).then_some((column, grid_column, environment, range))
                })
            })
            .collect();
            let (grid_row, lists) = lists.unzip();
            let dates = lists.map_or(&[][..], |lists| &*lists.dates);
            let shown = last_at_or_before(listed.iter().map(|(.., r)| &dates[r.clone()]), at);
            // Collected before any is written: the row's moments are read in one tight loop, so
            // their cache misses are waited for together (as the searches' are).
            let found: Vec<Found<'a>> = (listed.into_iter().zip(shown))
                .filter_map(|((column, grid_column, environment, range), shown)| {
                    let at = range.start + shown?;
                    let lists = lists?;
                    Some(Found {
                        row,
                        column,
                        application,
                        environment,
                        grid_row: grid_row?,
                        grid_column,
                        date: lists.dates[at],
                        moment: lists.moments[at],
                    })
                })
                .collect();
            found
        })
    }

    fn state(&self, found: &Found<'_>) -> CurrentDeploymentState {
        let end = self.cell_end(found);
        CurrentDeploymentState {
            application: ApplicationRef {
                id: found.application.id,
                name: found.application.name.clone(),
            },
            environment: EnvironmentRef {
                id: found.environment.id,
                name: found.environment.name.clone(),
            },
            version: VersionRef {
                id: end.version_id,
                version_identifier: end.version_identifier.to_string(),
            },
            deployment_date: end.deployment_date,
            deployed_by: end.deployed_by.map(str::to_string),
            deployment_id: end.deployment_id,
            is_rollback: end.is_rollback,
        }
    }

    /// The deployment `found` shows, borrowing its version's and deployer's names.
    fn cell_end<'a>(&'a self, found: &Found<'a>) -> CellEnd<'a> {
        let moment = found.moment;
        let version = &self.versions[(moment.version & VERSION_INDEX) as usize];
        CellEnd {
            version_id: version.id,
            version_identifier: &version.version_identifier,
            deployment_date: DateTime::from_timestamp_micros(found.date).unwrap_or_default(),
            deployed_by: (moment.deployed_by != NOBODY)
                .then(|| &*self.deployers[moment.deployed_by as usize]),
            deployment_id: moment.deployment_id,
            is_rollback: moment.version & ROLLBACK != 0,
        }
    }

    /// As [`Self::found_at`], each as the deployment's state with its row and column.
    pub(crate) fn states_at<'a>(
        &'a self,
        applications: &'a [Application],
        environment: Option<Uuid>,
        at: DateTime<Utc>,
    ) -> impl Iterator<Item = (u32, u32, CurrentDeploymentState)> + 'a {
        (self.found_at(applications, environment, at))
            .map(|found| (found.row, found.column, self.state(&found)))
    }

    /// As [`Self::found_at`] for every environment, as the dashboard shows the cells.
    pub(crate) fn matrix_cells_at(
        &self,
        applications: &[Application],
        at: DateTime<Utc>,
    ) -> Vec<MatrixCell> {
        (self.found_at(applications, None, at))
            .map(|found| self.cell_end(&found).matrix_cell(found.row, found.column))
            .collect()
    }

    /// As [`Self::states_at`], as the REST API's JSON list (for a page of rows; the whole
    /// matrix is streamed by [`TimeTravelJsonChunks`]).
    pub(crate) fn json_at(
        &self,
        applications: &[Application],
        environment: Option<Uuid>,
        at: DateTime<Utc>,
    ) -> Bytes {
        const CELL_BYTES: usize = 400;
        let most = applications.len() * self.layout.environments.len();
        let mut body = Vec::with_capacity(most * CELL_BYTES + 2);
        body.push(b'[');
        self.write_cells(&mut body, applications, environment, at, true);
        body.push(b']');
        Bytes::from(body)
    }

    /// Appends the cells of these applications' rows at `at`, comma-separated (a comma first
    /// unless `first`); returns whether it still had written none.
    fn write_cells(
        &self,
        body: &mut Vec<u8>,
        applications: &[Application],
        environment: Option<Uuid>,
        at: DateTime<Utc>,
        mut first: bool,
    ) -> bool {
        for found in self.found_at(applications, environment, at) {
            if !first {
                body.push(b',');
            }
            first = false;
            let end = self.cell_end(&found);
            (self.layout).write_cell(body, found.grid_row, found.grid_column, end);
        }
        first
    }
}

/// The time-travel JSON of whole rows, `[cell,cell,…]`, written row by row while the body
/// streams, in chunks (see [`next_array_chunk`]). Written whole, each response in flight held
/// its own copy of a body that grows with the organisation.
pub(crate) struct TimeTravelJsonChunks {
    timelines: Arc<Timelines>,
    applications: Vec<Application>,
    environment: Option<Uuid>,
    at: DateTime<Utc>,
    next_row: usize,
    /// No cell written yet (the next one needs no comma).
    none_yet: bool,
    done: bool,
}

impl TimeTravelJsonChunks {
    pub(crate) fn new(
        timelines: Arc<Timelines>,
        applications: Vec<Application>,
        environment: Option<Uuid>,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            timelines,
            applications,
            environment,
            at,
            next_row: 0,
            none_yet: true,
            done: false,
        }
    }
}

impl Iterator for TimeTravelJsonChunks {
    type Item = Bytes;

    fn next(&mut self) -> Option<Bytes> {
        let rows = self.applications.len();
        let (timelines, applications) = (&self.timelines, &self.applications);
        let (environment, at, none_yet) = (self.environment, self.at, &mut self.none_yet);
        next_array_chunk(&mut self.next_row, rows, &mut self.done, |chunk, row| {
            let row = &applications[row..=row];
            *none_yet = timelines.write_cells(chunk, row, environment, at, *none_yet);
        })
    }
}

/// For each list of ascending dates, the index of its last date at or before `at`. The lists
/// are binary-searched in lock step, one halving of each per round: a round's reads do not
/// depend on one another, so their cache misses are waited for together. (At a million
/// deployments the lists outgrow the CPU's caches, and one search after another waited on
/// memory at every step: most of a fresh instant's time.)
fn last_at_or_before<'d>(lists: impl Iterator<Item = &'d [i64]>, at: i64) -> Vec<Option<usize>> {
    // Per list: the answer, if any, lies in dates[first..first + len].
    let mut searches: Vec<(&[i64], usize, usize)> =
        lists.map(|dates| (dates, 0, dates.len())).collect();
    loop {
        let mut narrowed = false;
        for (dates, first, len) in &mut searches {
            if *len > 1 {
                let half = *len / 2;
                if dates[*first + half] <= at {
                    *first += half;
                }
                *len -= half;
                narrowed = true;
            }
        }
        if !narrowed {
            break;
        }
    }
    (searches.into_iter())
        .map(|(dates, first, len)| (len == 1 && dates[first] <= at).then_some(first))
        .collect()
}

/// A pair's answer at an instant (see [`Timelines::found_at`]).
struct Found<'a> {
    /// Where the cell is shown (index in the applications and environments asked about).
    row: u32,
    column: u32,
    application: &'a Application,
    environment: &'a Environment,
    /// Where the pair is kept (its row and column in `Timelines::layout`).
    grid_row: usize,
    grid_column: usize,
    /// The deployment shown (microseconds since the epoch) and the rest of it.
    date: i64,
    moment: Moment,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_searched_together_find_what_one_search_each_finds() {
        let lists: Vec<Vec<i64>> = vec![
            vec![],
            vec![5],
            vec![1, 2, 2, 2, 9],
            (0..133).map(|i| i * 3).collect(),
            vec![7; 40],
            (0..1000).map(|i| i / 7).collect(),
        ];
        for at in -1..=400 {
            let together = last_at_or_before(lists.iter().map(Vec::as_slice), at);
            let one_by_one: Vec<Option<usize>> = (lists.iter())
                .map(|dates| dates.partition_point(|&d| d <= at).checked_sub(1))
                .collect();
            assert_eq!(together, one_by_one, "at {at}");
        }
    }
}

//! The last full matrix a server built, kept for as long as the database's matrix stamp says
//! nothing in it has changed, and brought up to date pair by pair when only deployments did.
//! The stamp is read from the database on every request, so a change made through another
//! server on the same database is seen at once; nothing is ever served that the database has
//! not vouched for.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use uuid::Uuid;

use super::deployments::to_current_state;
use super::kept::Keepable;
use super::store_error;
use crate::error::AppError;
use crate::model::{Application, CurrentDeploymentState, Environment, MatrixCell, MatrixView};
use crate::ssr::store::{CurrentStateRecord, MatrixStamp, PairFilter, Store};

/// More changed pairs than this since the kept matrix: rebuild it whole in one query instead
/// of one query per pair.
const MOST_PAIRS_PATCHED: usize = 32;

type Pair = (Uuid, Uuid);

/// The full current-state matrix, as the dashboard's view and as the REST API's JSON body.
#[derive(Clone)]
pub(super) struct Matrix {
    stamp: MatrixStamp,
    /// What the revisions were when read before the cells: the pairs (shown or not — archived
    /// ones too) in key order, each with its revision.
    epoch: i64,
    pairs: Vec<Pair>,
    revisions: Vec<i64>,
    /// Where each pair is in `pairs` and `revisions`.
    pair_index: HashMap<Pair, usize>,
    /// The sum of `revisions` (what the stamp's sum was) and the highest of them: revisions
    /// come from one rising counter, so the pairs changed since are those above it.
    revision_sum: i64,
    highest_revision: i64,
    /// Where each shown pair's cell is in `view.cells` and `json_cells` (matrix order).
    positions: HashMap<Pair, usize>,
    pub view: Arc<MatrixView>,
    json_cells: Vec<Bytes>,
}

impl Keepable for Matrix {
    fn stamp(&self) -> MatrixStamp {
        self.stamp
    }

    /// Reads the whole matrix (after the revisions, so it is at least as new as they are).
    async fn read(stamp: MatrixStamp, store: &dyn Store) -> Result<Self, AppError> {
        let failed = store_error("matrix");
        let revisions = store.pair_revisions(true).await.map_err(&failed)?;
        let applications = store.list_applications(false).await.map_err(&failed)?;
        let environments = store.list_environments(false).await.map_err(&failed)?;
        let records = store
            .current_states(PairFilter::default())
            .await
            .map_err(&failed)?;
        let mut cells = Vec::with_capacity(records.len());
        let mut json_cells = Vec::with_capacity(records.len());
        let mut positions = HashMap::with_capacity(records.len());
        for (row, column, record) in placed(&applications, &environments, records) {
            positions.insert((record.application_id, record.environment_id), cells.len());
            let (cell, json) = cell(record, row, column)?;
            cells.push(cell);
            json_cells.push(json);
        }
        let pair_index = revisions.pairs.iter().copied().zip(0..).collect();
        Ok(Self {
            stamp,
            epoch: revisions.epoch,
            pair_index,
            revision_sum: revisions.revisions.iter().sum(),
            highest_revision: revisions.revisions.iter().copied().max().unwrap_or(0),
            pairs: revisions.pairs,
            revisions: revisions.revisions,
            positions,
            json_cells,
            view: Arc::new(MatrixView {
                applications,
                environments,
                cells,
            }),
        })
    }

    /// This matrix with the pairs whose revision changed read again; None when that is not
    /// enough (the epoch moved: a name, the order or the set of pairs changed; a pair was
    /// added; too many changed) and the matrix must be rebuilt.
    async fn brought_up_to(
        mut self,
        stamp: MatrixStamp,
        store: &dyn Store,
    ) -> Result<Option<Self>, AppError> {
        let Some(changed) = self.changed_pairs(store).await? else {
            return Ok(None);
        };
        if !changed.is_empty() {
            let failed = store_error("matrix");
            let view = Arc::make_mut(&mut self.view);
            for &(i, revision) in &changed {
                let (application_id, environment_id) = self.pairs[i];
                let pair = PairFilter {
                    application_id: Some(application_id),
                    environment_id: Some(environment_id),
                };
                let mut records = store.current_states(pair).await.map_err(&failed)?;
                let position = self.positions.get(&(application_id, environment_id));
                match (records.pop(), position) {
                    (None, None) => {} // a pair the matrix does not show (archived)
                    (Some(record), Some(&position)) if records.is_empty() => {
                        let kept = &view.cells[position];
                        let (cell, json) = cell(record, kept.row, kept.column)?;
                        view.cells[position] = cell;
                        self.json_cells[position] = json;
                    }
                    _ => return Ok(None),
                }
                self.revision_sum += revision - self.revisions[i];
                self.revisions[i] = revision;
                self.highest_revision = self.highest_revision.max(revision);
            }
        }
        self.stamp = stamp;
        Ok(Some(self))
    }
}

/// The records the matrix shows (active application and environment), each with its row and
/// column, in the records' (matrix) order.
fn placed(
    applications: &[Application],
    environments: &[Environment],
    records: Vec<CurrentStateRecord>,
) -> impl Iterator<Item = (u32, u32, CurrentStateRecord)> {
    let index = |ids: Vec<Uuid>| -> HashMap<Uuid, u32> { ids.into_iter().zip(0..).collect() };
    let rows = index(applications.iter().map(|a| a.id).collect());
    let columns = index(environments.iter().map(|e| e.id).collect());
    records.into_iter().filter_map(move |record| {
        let row = *rows.get(&record.application_id)?;
        let column = *columns.get(&record.environment_id)?;
        Some((row, column, record))
    })
}

/// A cell as the dashboard shows it.
fn matrix_cell(state: CurrentDeploymentState, row: u32, column: u32) -> MatrixCell {
    MatrixCell {
        row,
        column,
        version: state.version.version_identifier,
        deployment_id: state.deployment_id,
        deployment_date: state.deployment_date,
        deployed_by: state.deployed_by,
        is_rollback: state.is_rollback,
    }
}

/// A cell as the dashboard shows it, and the same as the REST API's JSON.
fn cell(
    record: CurrentStateRecord,
    row: u32,
    column: u32,
) -> Result<(MatrixCell, Bytes), AppError> {
    let state = to_current_state(record);
    let json = serde_json::to_vec(&state).map_err(|_| AppError::Internal)?;
    Ok((matrix_cell(state, row, column), Bytes::from(json)))
}

/// The matrix as it was at a past instant (never kept: each instant is its own question).
pub(super) fn view_at(
    applications: Vec<Application>,
    environments: Vec<Environment>,
    cells: Vec<(u32, u32, CurrentDeploymentState)>,
) -> MatrixView {
    let cells = cells
        .into_iter()
        .map(|(row, column, state)| matrix_cell(state, row, column))
        .collect();
    MatrixView {
        applications,
        environments,
        cells,
    }
}

/// The whole matrix as the REST API's JSON body, `[cell,cell,…]`, in chunks of about
/// [`CHUNK_BYTES`]: at 80,000 cells the body is ~24 MB, which is streamed from the kept cells
/// rather than joined into one buffer per change and held per response.
pub struct MatrixJsonChunks {
    matrix: Arc<Matrix>,
    next_cell: usize,
    done: bool,
}

const CHUNK_BYTES: usize = 64 * 1024;

impl MatrixJsonChunks {
    pub(super) fn new(matrix: Arc<Matrix>) -> Self {
        Self {
            matrix,
            next_cell: 0,
            done: false,
        }
    }
}

impl Iterator for MatrixJsonChunks {
    type Item = Bytes;

    fn next(&mut self) -> Option<Bytes> {
        let cells = &self.matrix.json_cells;
        next_array_chunk(
            &mut self.next_cell,
            cells.len(),
            &mut self.done,
            |chunk, i| {
                if i > 0 {
                    chunk.push(b',');
                }
                chunk.extend_from_slice(&cells[i]);
            },
        )
    }
}

/// The next chunk of a JSON array streamed item by item (the whole matrix, time travel's
/// rows): `[` before item 0, then items from `*next` on, each appended by `write`, until the
/// chunk holds about [`CHUNK_BYTES`], and `]` after the last one; None once that was sent.
pub(super) fn next_array_chunk(
    next: &mut usize,
    items: usize,
    done: &mut bool,
    mut write: impl FnMut(&mut Vec<u8>, usize),
) -> Option<Bytes> {
    if *done {
        return None;
    }
    let mut chunk = Vec::with_capacity(CHUNK_BYTES + 32 * 1024);
    if *next == 0 {
        chunk.push(b'[');
    }
    while *next < items && chunk.len() < CHUNK_BYTES {
        write(&mut chunk, *next);
        *next += 1;
    }
    if *next == items {
        chunk.push(b']');
        *done = true;
    }
    Some(Bytes::from(chunk))
}

/// `[cell,cell,…]`: the same bytes as serializing the list at once.
fn json_array(cells: &[Bytes]) -> Bytes {
    let length = 2 + cells.iter().map(|c| c.len() + 1).sum::<usize>();
    let mut out = BytesMut::with_capacity(length);
    out.put_u8(b'[');
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            out.put_u8(b',');
        }
        out.put_slice(cell);
    }
    out.put_u8(b']');
    out.freeze()
}

/// A page of the current matrix as the REST API's JSON body.
pub struct MatrixJsonPage {
    pub body: Bytes,
    /// For the next page, when more applications follow.
    pub next_cursor: Option<String>,
}

/// Which of `applications` (matrix order) a page of at most `limit` after application `after`
/// holds, and the cursor of the next page when more follow.
pub(super) fn application_page(
    applications: &[Application],
    after: Option<Uuid>,
    limit: usize,
) -> Result<(std::ops::Range<usize>, Option<String>), AppError> {
    let start = match after {
        None => 0,
        Some(id) => {
            let position = applications.iter().position(|a| a.id == id).ok_or_else(|| {
                AppError::field(
                    "cursor",
                    "names an application no longer in the matrix (archived); start again from the first page",
                )
            })?;
            position + 1
        }
    };
    let end = (start + limit).min(applications.len());
    let next_cursor = (end < applications.len()).then(|| applications[end - 1].id.to_string());
    Ok((start..end, next_cursor))
}

impl Matrix {
    /// The cells of up to `limit` applications after application `after` (matrix order).
    pub(super) fn json_page(
        &self,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<MatrixJsonPage, AppError> {
        let (rows, next_cursor) = application_page(&self.view.applications, after, limit)?;
        let rows = rows.start as u32..rows.end as u32;
        let cells: Vec<Bytes> = (self.view.cells.iter().zip(&self.json_cells))
            .filter(|(cell, _)| rows.contains(&cell.row))
            .map(|(_, json)| json.clone())
            .collect();
        Ok(MatrixJsonPage {
            body: json_array(&cells),
            next_cursor,
        })
    }

    /// The pairs (index, new revision) whose revision changed since this matrix was read;
    /// None when the matrix must be rebuilt instead. Usually one small read: the pairs above the
    /// highest revision seen, checked against the stamp's sum. When the sum says a change
    /// committed out of counter order (PostgreSQL's writers draw before they commit), every
    /// pair's revision is compared instead.
    async fn changed_pairs(
        &self,
        store: &dyn Store,
    ) -> Result<Option<Vec<(usize, i64)>>, AppError> {
        let failed = store_error("matrix");
        let changes = store
            .pair_changes(self.highest_revision)
            .await
            .map_err(&failed)?;
        if changes.epoch != self.epoch || changes.changed.len() > MOST_PAIRS_PATCHED {
            return Ok(None);
        }
        let mut changed = Vec::with_capacity(changes.changed.len());
        let mut sum = self.revision_sum;
        for (pair, revision) in &changes.changed {
            let Some(&i) = self.pair_index.get(pair) else {
                return Ok(None); // a pair's first deployment
            };
            sum += revision - self.revisions[i];
            changed.push((i, *revision));
        }
        if sum == changes.revision_sum {
            return Ok(Some(changed));
        }
        let fresh = store.pair_revisions(false).await.map_err(&failed)?;
        if fresh.epoch != self.epoch || fresh.revisions.len() != self.revisions.len() {
            return Ok(None);
        }
        let changed: Vec<(usize, i64)> = (0..fresh.revisions.len())
            .filter(|&i| fresh.revisions[i] != self.revisions[i])
            .map(|i| (i, fresh.revisions[i]))
            .collect();
        Ok((changed.len() <= MOST_PAIRS_PATCHED).then_some(changed))
    }
}

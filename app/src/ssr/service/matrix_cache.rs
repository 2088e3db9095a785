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
use super::store_error;
use crate::error::AppError;
use crate::model::{Application, CurrentDeploymentState, Environment, MatrixCell, MatrixView};
use crate::ssr::store::{CurrentStateRecord, MatrixStamp, PairFilter, PairRevision, Store};

/// More changed pairs than this since the kept matrix: rebuild it whole in one query instead
/// of one query per pair.
const MOST_PAIRS_PATCHED: usize = 32;

type Pair = (Uuid, Uuid);

/// The full current-state matrix, as the dashboard's view and as the REST API's JSON body.
pub(super) struct Matrix {
    stamp: MatrixStamp,
    /// Every pair row's revision when it was read (shown or not: archived ones too).
    revisions: HashMap<Pair, i64>,
    /// Where each shown pair's cell is in `view.cells` and `json_cells` (matrix order).
    positions: Arc<HashMap<Pair, usize>>,
    pub view: Arc<MatrixView>,
    json_cells: Vec<Bytes>,
    pub json: Bytes,
}

pub(super) struct KeptMatrix {
    /// Async: whoever brings the matrix up to date holds it across the database reads, and
    /// the requests waiting meanwhile then find the new one kept instead of building their own.
    slot: tokio::sync::Mutex<Option<Arc<Matrix>>>,
}

impl KeptMatrix {
    pub(super) fn new() -> Self {
        Self {
            slot: tokio::sync::Mutex::new(None),
        }
    }

    /// A matrix at least as new as the database's stamp when called: the kept one, patched
    /// when only some pairs changed, or rebuilt.
    pub(super) async fn get(&self, store: &dyn Store) -> Result<Arc<Matrix>, AppError> {
        let failed = store_error("matrix");
        let stamp = store.matrix_stamp().await.map_err(&failed)?;
        let mut slot = self.slot.lock().await;
        if let Some(kept) = slot.as_ref().filter(|kept| kept.stamp >= stamp) {
            return Ok(kept.clone());
        }
        let revisions = store.pair_revisions().await.map_err(&failed)?;
        let patched = match slot.as_ref() {
            Some(kept) if kept.stamp.epoch == stamp.epoch => {
                kept.patched(stamp, &revisions, store).await?
            }
            _ => None,
        };
        let matrix = match patched {
            Some(matrix) => matrix,
            None => Matrix::build(stamp, &revisions, store).await?,
        };
        let matrix = Arc::new(matrix);
        *slot = Some(matrix.clone());
        Ok(matrix)
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
    records: Vec<CurrentStateRecord>,
) -> MatrixView {
    let cells = placed(&applications, &environments, records)
        .map(|(row, column, record)| matrix_cell(to_current_state(record), row, column))
        .collect();
    MatrixView {
        applications,
        environments,
        cells,
    }
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

fn revision_map(revisions: &[PairRevision]) -> HashMap<Pair, i64> {
    revisions
        .iter()
        .map(|r| ((r.application_id, r.environment_id), r.revision))
        .collect()
}

impl Matrix {
    /// Reads the whole matrix (after `revisions`, so it is at least as new as they are).
    async fn build(
        stamp: MatrixStamp,
        revisions: &[PairRevision],
        store: &dyn Store,
    ) -> Result<Self, AppError> {
        let failed = store_error("matrix");
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
        Ok(Self {
            stamp,
            revisions: revision_map(revisions),
            positions: Arc::new(positions),
            json: json_array(&json_cells),
            json_cells,
            view: Arc::new(MatrixView {
                applications,
                environments,
                cells,
            }),
        })
    }

    /// This matrix with the pairs whose revision changed read again; None when that is not
    /// enough (a pair appeared or went, or too many changed) and the matrix must be rebuilt.
    async fn patched(
        &self,
        stamp: MatrixStamp,
        revisions: &[PairRevision],
        store: &dyn Store,
    ) -> Result<Option<Self>, AppError> {
        let fresh = revision_map(revisions);
        if fresh.len() != self.revisions.len() {
            return Ok(None);
        }
        let mut changed = vec![];
        for (pair, revision) in &fresh {
            match self.revisions.get(pair) {
                None => return Ok(None),
                Some(kept) if kept != revision => changed.push(*pair),
                Some(_) => {}
            }
        }
        if changed.len() > MOST_PAIRS_PATCHED {
            return Ok(None);
        }
        let mut view = MatrixView::clone(&self.view);
        let mut json_cells = self.json_cells.clone();
        for (application_id, environment_id) in changed {
            let pair = PairFilter {
                application_id: Some(application_id),
                environment_id: Some(environment_id),
            };
            let mut records = store
                .current_states(pair)
                .await
                .map_err(store_error("matrix"))?;
            let position = self.positions.get(&(application_id, environment_id));
            match (records.pop(), position) {
                (None, None) => {} // a pair the matrix does not show (archived)
                (Some(record), Some(&position)) if records.is_empty() => {
                    let kept = &view.cells[position];
                    let (cell, json) = cell(record, kept.row, kept.column)?;
                    view.cells[position] = cell;
                    json_cells[position] = json;
                }
                _ => return Ok(None),
            }
        }
        Ok(Some(Self {
            stamp,
            revisions: fresh,
            positions: self.positions.clone(),
            json: json_array(&json_cells),
            json_cells,
            view: Arc::new(view),
        }))
    }
}

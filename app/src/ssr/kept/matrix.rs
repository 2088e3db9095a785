//! The last full matrix a server built, kept for as long as the database's matrix stamp says
//! nothing in it has changed, and brought up to date pair by pair when only deployments did.
//! The stamp is read from the database on every request, so a change made through another
//! server on the same database is seen at once; nothing is ever served that the database has
//! not vouched for.

use std::collections::HashSet;
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::grid::{CellEnd, Layout};
use super::{Keepable, Revisions};
use crate::error::AppError;
use crate::model::{Application, MatrixCell};
use crate::ssr::records::to_current_state;
use crate::ssr::store::store_error;
use crate::ssr::store::{CurrentStateRecord, MatrixStamp, PairFilter, Store};

/// More changed pairs than this since the kept matrix: rebuild it whole in one query instead
/// of one query per pair.
const MOST_PAIRS_PATCHED: usize = 32;

/// The full current-state matrix: each shown pair's current deployment, compactly (the
/// dashboard's cells and the REST API's JSON are written from it per request).
#[derive(Clone)]
pub(crate) struct Matrix {
    stamp: MatrixStamp,
    /// What the revisions were when read before the cells, and as changes were taken in.
    revisions: Revisions,
    pub(crate) layout: Arc<Layout>,
    /// Per row of `layout`, each column's cell. Rows apart: while a response still streams a
    /// generation, the next change copies only its pair's row, not the matrix.
    rows: Vec<Arc<Vec<Option<KeptCell>>>>,
}

/// A shown pair's current deployment.
#[derive(Clone)]
struct KeptCell {
    version_id: Uuid,
    version_identifier: Box<str>,
    deployment_date: DateTime<Utc>,
    /// Shared between the cells of one deployer (a handful of names over thousands of cells).
    deployed_by: Option<Arc<str>>,
    deployment_id: Uuid,
    is_rollback: bool,
}

impl KeptCell {
    fn new(record: CurrentStateRecord, deployers: &mut HashSet<Arc<str>>) -> Self {
        let state = to_current_state(record);
        let deployed_by = state.deployed_by.map(|name| {
            deployers.get(name.as_str()).cloned().unwrap_or_else(|| {
                let name: Arc<str> = name.into();
                deployers.insert(name.clone());
                name
            })
        });
        KeptCell {
            version_id: state.version.id,
            version_identifier: state.version.version_identifier.into(),
            deployment_date: state.deployment_date,
            deployed_by,
            deployment_id: state.deployment_id,
            is_rollback: state.is_rollback,
        }
    }

    fn end(&self) -> CellEnd<'_> {
        CellEnd {
            version_id: self.version_id,
            version_identifier: &self.version_identifier,
            deployment_date: self.deployment_date,
            deployed_by: self.deployed_by.as_deref(),
            deployment_id: self.deployment_id,
            is_rollback: self.is_rollback,
        }
    }
}

impl Keepable for Matrix {
    fn stamp(&self) -> MatrixStamp {
        self.stamp
    }

    /// Reads the whole matrix (after the revisions, so it is at least as new as they are).
    async fn read(stamp: MatrixStamp, store: &dyn Store) -> Result<Self, AppError> {
        let failed = store_error("matrix");
        let revisions = Revisions::read(store, "matrix").await?;
        let layout = Layout::read(store, "matrix").await?;
        let records = store
            .current_states(PairFilter::default())
            .await
            .map_err(&failed)?;
        let width = layout.environments.len();
        let mut rows = vec![vec![None; width]; layout.applications.len()];
        let mut deployers = HashSet::new();
        for record in records {
            let row = layout.row(record.application_id);
            let column = layout.column(record.environment_id);
            if let (Some(row), Some(column)) = (row, column) {
                rows[row][column] = Some(KeptCell::new(record, &mut deployers));
            } // else archived: not shown
        }
        Ok(Self {
            stamp,
            revisions,
            layout: Arc::new(layout),
            rows: rows.into_iter().map(Arc::new).collect(),
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
        let changed = (self.revisions)
            .changed(store, "matrix", MOST_PAIRS_PATCHED)
            .await?;
        // A pair's first deployment adds a pair (and usually a cell): read again.
        let Some(changed) =
            changed.filter(|changed| (changed.iter()).all(|(pair, _)| self.revisions.knew(pair)))
        else {
            return Ok(None);
        };
        let failed = store_error("matrix");
        let mut deployers = HashSet::new();
        for ((application_id, environment_id), revision) in changed {
            let pair = PairFilter {
                application_id: Some(application_id),
                environment_id: Some(environment_id),
            };
            let mut records = store.current_states(pair).await.map_err(&failed)?;
            let record = records.pop();
            let row = self.layout.row(application_id);
            let column = self.layout.column(environment_id);
            match (row.zip(column), record) {
                _ if !records.is_empty() => return Ok(None),
                (Some((row, column)), record) => {
                    let cell = record.map(|record| KeptCell::new(record, &mut deployers));
                    Arc::make_mut(&mut self.rows[row])[column] = cell;
                }
                (None, None) => {} // a pair the matrix does not show (archived)
                (None, Some(_)) => return Ok(None),
            }
            (self.revisions).set((application_id, environment_id), revision);
        }
        self.stamp = stamp;
        Ok(Some(self))
    }
}

impl Matrix {
    /// Appends the cells of row `row`, comma-separated (a comma first unless `first`); returns
    /// whether it still had written none.
    fn write_row(&self, body: &mut Vec<u8>, row: usize, mut first: bool) -> bool {
        for (column, cell) in self.rows[row].iter().enumerate() {
            if let Some(cell) = cell {
                if !first {
                    body.push(b',');
                }
                first = false;
                self.layout.write_cell(body, row, column, cell.end());
            }
        }
        first
    }

    /// The version the pair runs now, if it runs one (and both are shown).
    pub(crate) fn version_of(&self, application_id: Uuid, environment_id: Uuid) -> Option<&str> {
        let row = self.layout.row(application_id)?;
        let column = self.layout.column(environment_id)?;
        let cell = self.rows[row].get(column)?.as_ref()?;
        Some(&cell.version_identifier)
    }

    /// The cells of these applications' rows as the dashboard shows them (rows numbered as
    /// in `applications`).
    pub(crate) fn matrix_cells(&self, applications: &[Application]) -> Vec<MatrixCell> {
        (0..)
            .zip(applications)
            .filter_map(|(shown, application)| Some((shown, self.layout.row(application.id)?)))
            .flat_map(|(shown, row)| {
                (0..)
                    .zip(self.rows[row].iter())
                    .filter_map(move |(column, cell)| {
                        Some(cell.as_ref()?.end().matrix_cell(shown, column))
                    })
            })
            .collect()
    }
}

/// The whole matrix as the REST API's JSON body, `[cell,cell,…]`, in chunks of about
/// [`CHUNK_BYTES`]: at 80,000 cells the body is ~24 MB, which is written row by row from the
/// kept cells as it streams rather than held per response.
pub struct MatrixJsonChunks {
    matrix: Arc<Matrix>,
    next_row: usize,
    /// No cell written yet (the next one needs no comma).
    none_yet: bool,
    done: bool,
}

const CHUNK_BYTES: usize = 64 * 1024;

impl MatrixJsonChunks {
    pub(crate) fn new(matrix: Arc<Matrix>) -> Self {
        Self {
            matrix,
            next_row: 0,
            none_yet: true,
            done: false,
        }
    }
}

impl Iterator for MatrixJsonChunks {
    type Item = Bytes;

    fn next(&mut self) -> Option<Bytes> {
        let (matrix, none_yet) = (&self.matrix, &mut self.none_yet);
        next_array_chunk(
            &mut self.next_row,
            matrix.rows.len(),
            &mut self.done,
            |chunk, row| *none_yet = matrix.write_row(chunk, row, *none_yet),
        )
    }
}

/// The next chunk of a JSON array streamed item by item (the whole matrix, time travel's
/// rows): `[` before item 0, then items from `*next` on, each appended by `write`, until the
/// chunk holds about [`CHUNK_BYTES`], and `]` after the last one; None once that was sent.
pub(crate) fn next_array_chunk(
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

/// A page of the current matrix as the REST API's JSON body.
pub struct MatrixJsonPage {
    pub body: Bytes,
    /// For the next page, when more applications follow.
    pub next_cursor: Option<String>,
}

/// Which of `applications` (matrix order) a page of at most `limit` after application `after`
/// holds, and the cursor of the next page when more follow.
pub(crate) fn application_page(
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
    pub(crate) fn json_page(
        &self,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<MatrixJsonPage, AppError> {
        let (rows, next_cursor) = application_page(&self.layout.applications, after, limit)?;
        let mut body = vec![b'['];
        let mut none_yet = true;
        for row in rows {
            none_yet = self.write_row(&mut body, row, none_yet);
        }
        body.push(b']');
        Ok(MatrixJsonPage {
            body: Bytes::from(body),
            next_cursor,
        })
    }
}

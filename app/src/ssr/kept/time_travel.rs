//! The matrix at an instant, read for the request that asks: the latest checkpoint before the
//! instant and the deployments after it (see [`CheckpointStore`](crate::ssr::store::CheckpointStore)).
//! Nothing of the history is kept between requests, so a server's memory does not grow with it
//! and a restart answers the first question as fast as any other. It is laid out on the
//! matrix's rows and columns (read with it) and written as the dashboard's cells or the REST
//! API's JSON.

use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::grid::{CellEnd, Layout};
use super::matrix::next_array_chunk;
use crate::error::AppError;
use crate::model::{
    Application, ApplicationRef, CurrentDeploymentState, Environment, EnvironmentRef, MatrixCell,
    VersionRef,
};
use crate::ssr::records::is_rollback;
use crate::ssr::store::store_error;
use crate::ssr::store::{read_cells, PairFilter, Store};

/// Where a name is in [`StateAt::names`].
#[derive(Clone, Copy)]
struct Name {
    start: usize,
    end: usize,
}

/// A pair's cell at the instant, as shown: its latest live deployment then, its names in
/// [`StateAt::names`].
struct CellAt {
    deployment_id: Uuid,
    deployment_date: DateTime<Utc>,
    version_id: Uuid,
    version_identifier: Name,
    version_created_at: DateTime<Utc>,
    deployed_by: Option<Name>,
    /// The version deployed just before, in this pair (identifier, created at).
    previous_version: Option<(Name, DateTime<Utc>)>,
    is_rollback: bool,
}

pub(crate) struct StateAt {
    /// The active rows and columns in matrix order.
    pub(crate) layout: Arc<Layout>,
    /// Row by row, a cell per column: None where nothing was deployed yet (or archived).
    cells: Vec<Option<CellAt>>,
    /// The cells' names, one after the other: one buffer rather than thousands of strings.
    names: String,
    /// The checkpoint it started from (None: the beginning of history), and how many
    /// deployments after it were read.
    pub(crate) checkpoint: Option<DateTime<Utc>>,
    pub(crate) deployments_after: usize,
}

impl StateAt {
    /// The matrix as it was at `at`, on today's rows and columns (`layout`): the checkpoint's
    /// cells laid out on them (those of archived pairs left out), then each deployment after it
    /// in history order taking its pair's cell, with the one it replaces as the previous.
    pub(crate) async fn read(
        store: &dyn Store,
        layout: Arc<Layout>,
        at: DateTime<Utc>,
    ) -> Result<Self, AppError> {
        let read = store
            .state_at(at)
            .await
            .map_err(store_error("time travel"))?;
        let width = layout.environments.len();
        let mut state = Self {
            cells: Vec::new(),
            names: String::new(),
            checkpoint: read.checkpoint.as_ref().map(|(at, _)| *at),
            deployments_after: read.after.len(),
            layout,
        };
        state
            .cells
            .resize_with(state.layout.applications.len() * width, || None);
        let place = |layout: &Layout, application_id, environment_id| {
            Some(layout.row(application_id)? * width + layout.column(environment_id)?)
        };
        if let Some((_, bytes)) = &read.checkpoint {
            let Self {
                layout,
                cells,
                names,
                ..
            } = &mut state;
            names.reserve(bytes.len() / 4);
            read_cells(bytes, |pair| {
                let Some(at) = place(layout, pair.application_id, pair.environment_id) else {
                    return; // archived: not shown
                };
                cells[at] = Some(CellAt {
                    deployment_id: pair.deployment_id,
                    deployment_date: pair.deployment_date,
                    version_id: pair.version_id,
                    version_identifier: push_name(names, pair.version_identifier),
                    version_created_at: pair.version_created_at,
                    deployed_by: pair.deployed_by.map(|name| push_name(names, name)),
                    previous_version: (pair.previous_version)
                        .map(|(identifier, at)| (push_name(names, identifier), at)),
                    is_rollback: false,
                });
            })
            .map_err(store_error("time travel"))?;
        }
        for d in read.after {
            let Some(at) = place(&state.layout, d.application_id, d.environment_id) else {
                continue;
            };
            let previous_version = (state.cells[at].as_ref())
                .map(|before| (before.version_identifier, before.version_created_at));
            state.cells[at] = Some(CellAt {
                deployment_id: d.deployment_id,
                deployment_date: d.deployment_date,
                version_id: d.version_id,
                version_identifier: push_name(&mut state.names, &d.version_identifier),
                version_created_at: d.version_created_at,
                deployed_by: (d.deployed_by.as_deref())
                    .map(|name| push_name(&mut state.names, name)),
                previous_version,
                is_rollback: false,
            });
        }
        let Self { cells, names, .. } = &mut state;
        for cell in cells.iter_mut().flatten() {
            let previous = (cell.previous_version)
                .map(|(identifier, created_at)| (name(names, identifier), created_at));
            cell.is_rollback = is_rollback(
                (
                    name(names, cell.version_identifier),
                    cell.version_created_at,
                ),
                previous,
            );
        }
        Ok(state)
    }

    /// The active applications `pairs` names (all, or one).
    pub(crate) fn applications_of(&self, pairs: PairFilter) -> Vec<Application> {
        (self.layout.applications.iter())
            .filter(|a| pairs.application_id.is_none_or(|id| id == a.id))
            .cloned()
            .collect()
    }

    /// Per pair of these applications × the active environments (of one, with `environment`)
    /// that had a live deployment then, in matrix order.
    fn found<'a>(
        &'a self,
        applications: &'a [Application],
        environment: Option<Uuid>,
    ) -> impl Iterator<Item = Found<'a>> + 'a {
        let width = self.layout.environments.len();
        // (column shown, column in the grid, environment)
        let environments: Vec<(u32, usize, &'a Environment)> = (self.layout.environments.iter())
            .enumerate()
            .filter(|(_, e)| environment.is_none_or(|id| id == e.id))
            .zip(0..)
            .map(|((in_grid, e), shown)| (shown, in_grid, e))
            .collect();
        (0..).zip(applications).flat_map(move |(row, application)| {
            let grid_row = self.layout.row(application.id);
            (environments.clone().into_iter()).filter_map(
                move |(column, grid_column, environment)| {
                    let grid_row = grid_row?;
                    let cell = self.cells[grid_row * width + grid_column].as_ref()?;
                    Some(Found {
                        row,
                        column,
                        application,
                        environment,
                        grid_row,
                        grid_column,
                        cell,
                        names: &self.names,
                    })
                },
            )
        })
    }

    /// As [`Self::found`], each as the deployment's state with its row and column.
    pub(crate) fn states<'a>(
        &'a self,
        applications: &'a [Application],
        environment: Option<Uuid>,
    ) -> impl Iterator<Item = (u32, u32, CurrentDeploymentState)> + 'a {
        (self.found(applications, environment)).map(|found| {
            let cell = found.cell;
            let state = CurrentDeploymentState {
                application: ApplicationRef {
                    id: found.application.id,
                    name: found.application.name.clone(),
                },
                environment: EnvironmentRef {
                    id: found.environment.id,
                    name: found.environment.name.clone(),
                },
                version: VersionRef {
                    id: cell.version_id,
                    version_identifier: name(&self.names, cell.version_identifier).to_string(),
                },
                deployment_date: cell.deployment_date,
                deployed_by: (cell.deployed_by).map(|by| name(&self.names, by).to_string()),
                deployment_id: cell.deployment_id,
                is_rollback: cell.is_rollback,
            };
            (found.row, found.column, state)
        })
    }

    /// As [`Self::found`] for every environment, as the dashboard shows the cells.
    pub(crate) fn matrix_cells(&self, applications: &[Application]) -> Vec<MatrixCell> {
        (self.found(applications, None))
            .map(|found| found.end().matrix_cell(found.row, found.column))
            .collect()
    }

    /// As [`Self::states`], as the REST API's JSON list (for a page of rows; the whole matrix is
    /// streamed by [`TimeTravelJsonChunks`]).
    pub(crate) fn json(&self, applications: &[Application], environment: Option<Uuid>) -> Bytes {
        const CELL_BYTES: usize = 400;
        let most = applications.len() * self.layout.environments.len();
        let mut body = Vec::with_capacity(most * CELL_BYTES + 2);
        body.push(b'[');
        self.write_cells(&mut body, applications, environment, true);
        body.push(b']');
        Bytes::from(body)
    }

    /// Appends the cells of these applications' rows, comma-separated (a comma first unless
    /// `first`); returns whether it still had written none.
    fn write_cells(
        &self,
        body: &mut Vec<u8>,
        applications: &[Application],
        environment: Option<Uuid>,
        mut first: bool,
    ) -> bool {
        for found in self.found(applications, environment) {
            if !first {
                body.push(b',');
            }
            first = false;
            (self.layout).write_cell(body, found.grid_row, found.grid_column, found.end());
        }
        first
    }
}

/// The time-travel JSON of whole rows, `[cell,cell,…]`, written row by row while the body
/// streams, in chunks (see [`next_array_chunk`]).
pub(crate) struct TimeTravelJsonChunks {
    state: Arc<StateAt>,
    applications: Vec<Application>,
    environment: Option<Uuid>,
    next_row: usize,
    /// No cell written yet (the next one needs no comma).
    none_yet: bool,
    done: bool,
}

impl TimeTravelJsonChunks {
    pub(crate) fn new(
        state: Arc<StateAt>,
        applications: Vec<Application>,
        environment: Option<Uuid>,
    ) -> Self {
        Self {
            state,
            applications,
            environment,
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
        let (state, applications) = (&self.state, &self.applications);
        let (environment, none_yet) = (self.environment, &mut self.none_yet);
        next_array_chunk(&mut self.next_row, rows, &mut self.done, |chunk, row| {
            let row = &applications[row..=row];
            *none_yet = state.write_cells(chunk, row, environment, *none_yet);
        })
    }
}

/// A pair's answer (see [`StateAt::found`]).
struct Found<'a> {
    /// Where the cell is shown (index in the applications and environments asked about).
    row: u32,
    column: u32,
    application: &'a Application,
    environment: &'a Environment,
    /// Where the pair is in the layout.
    grid_row: usize,
    grid_column: usize,
    cell: &'a CellAt,
    names: &'a str,
}

impl Found<'_> {
    fn end(&self) -> CellEnd<'_> {
        let cell = self.cell;
        CellEnd {
            version_id: cell.version_id,
            version_identifier: name(self.names, cell.version_identifier),
            deployment_date: cell.deployment_date,
            deployed_by: cell.deployed_by.map(|by| name(self.names, by)),
            deployment_id: cell.deployment_id,
            is_rollback: cell.is_rollback,
        }
    }
}

/// Appends `text` to `names`; where it is.
fn push_name(names: &mut String, text: &str) -> Name {
    let start = names.len();
    names.push_str(text);
    Name {
        start,
        end: names.len(),
    }
}

fn name(names: &str, at: Name) -> &str {
    &names[at.start..at.end]
}

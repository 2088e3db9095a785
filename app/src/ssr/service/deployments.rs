//! Recording deployments, their history, the current state (now or at any past instant),
//! retraction and statistics.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::audit::{entry, set_field, Target};
use super::state::{require, Change, Service};
use crate::error::{AppError, FieldError};
use crate::model::*;
use crate::ssr::clock::now;
use crate::ssr::clock::CLOCK_SKEW;
use crate::ssr::kept::grid::Layout;
use crate::ssr::kept::matrix::{MatrixJsonChunks, MatrixJsonPage};
use crate::ssr::kept::time_travel::TimeTravelJsonChunks;
use crate::ssr::records::{to_current_state, to_deployment};
use crate::ssr::store::store_error;
use crate::ssr::store::{HistoryKey, NewDeployment, PairFilter, StoreError};

pub const DEFAULT_PAGE_SIZE: i64 = 50;
pub const MAX_PAGE_SIZE: i64 = 500;

/// A time-travel instant must lie in the range every stored instant does.
fn check_at(at: Option<&DateTime<Utc>>) -> Result<(), AppError> {
    let mut errors = vec![];
    check_instant("at", at, &mut errors);
    finish(errors)
}

/// Cursors are opaque to clients: base64 of the last row's position in the history order.
pub fn encode_cursor(key: &HistoryKey) -> String {
    let instant = |t: &DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    super::state::encode_cursor_parts(&[
        instant(&key.deployment_date),
        instant(&key.created_at),
        key.id.to_string(),
    ])
}

pub fn decode_cursor(cursor: &str) -> Result<HistoryKey, AppError> {
    let invalid = || {
        AppError::BadRequest(
            "invalid cursor: pass the nextCursor value of the previous page unchanged".into(),
        )
    };
    let parts = super::state::decode_cursor_parts(cursor)?;
    let mut parts = parts.iter().map(String::as_str);
    let mut instant = || {
        parts
            .next()
            .and_then(|p| DateTime::parse_from_rfc3339(p).ok())
            .map(|t| t.with_timezone(&Utc))
            .filter(instant_in_range)
    };
    let deployment_date = instant().ok_or_else(invalid)?;
    let created_at = instant().ok_or_else(invalid)?;
    let id = parts
        .next()
        .and_then(|p| Uuid::parse_str(p).ok())
        .ok_or_else(invalid)?;
    Ok(HistoryKey {
        deployment_date,
        created_at,
        id,
    })
}

impl Service {
    /// One deployment; retracted ones only for admins.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username, %id))]
    pub async fn get_deployment(&self, actor: &User, id: Uuid) -> Result<Deployment, AppError> {
        require(actor, Role::Viewer)?;
        let record = self
            .history_store()
            .get_deployment(id)
            .await
            .map_err(store_error("deployment"))?;
        if record.deleted_at.is_some() && !actor.can(Role::Admin) {
            return Err(AppError::NotFound("deployment not found".into()));
        }
        Ok(to_deployment(record))
    }

    /// A page of history, newest first, after `cursor`.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username))]
    pub async fn list_deployments(
        &self,
        actor: &User,
        filter: DeploymentFilter,
        cursor: Option<&str>,
        limit: Option<i64>,
    ) -> Result<DeploymentPage, AppError> {
        require(actor, Role::Viewer)?;
        if filter.include_deleted {
            require(actor, Role::Admin)?;
        }
        let limit = limit.unwrap_or(DEFAULT_PAGE_SIZE);
        let mut errors = vec![];
        if !(1..=MAX_PAGE_SIZE).contains(&limit) {
            errors.push(FieldError::new(
                "limit",
                format!("must be between 1 and {MAX_PAGE_SIZE}"),
            ));
        }
        if let (Some(from), Some(to)) = (filter.date_from, filter.date_to) {
            if from > to {
                errors.push(FieldError::new("dateFrom", "must not be after dateTo"));
            }
        }
        check_instant("dateFrom", filter.date_from.as_ref(), &mut errors);
        check_instant("dateTo", filter.date_to.as_ref(), &mut errors);
        // Searches are bounded like the fields they search (SQLite also refuses LIKE patterns
        // over 50,000 bytes).
        optional_text("q", filter.q.as_deref(), SEARCH_MAX, &mut errors);
        optional_text(
            "deployedBy",
            filter.deployed_by.as_deref(),
            DEPLOYED_BY_MAX,
            &mut errors,
        );
        finish(errors)?;
        let after = cursor.map(decode_cursor).transpose()?;
        let mut filter = filter;
        filter.q = filter
            .q
            .map(|q| q.trim().to_string())
            .filter(|q| !q.is_empty());
        filter.deployed_by = filter
            .deployed_by
            .map(|d| d.trim().to_string())
            .filter(|d| !d.is_empty());
        filter.team_ids = self.team_scope(actor, filter.team.as_deref()).await?;
        let mut records = self
            .history_store()
            .list_deployments(&filter, after, limit + 1)
            .await
            .map_err(store_error("deployment"))?;
        let more = records.len() as i64 > limit;
        records.truncate(limit as usize);
        let next_cursor = more.then(|| records.last()).flatten().map(|last| {
            encode_cursor(&HistoryKey {
                deployment_date: last.deployment_date,
                created_at: last.created_at,
                id: last.id,
            })
        });
        Ok(DeploymentPage {
            items: records.into_iter().map(to_deployment).collect(),
            next_cursor,
        })
    }

    /// What runs where: now, or as it was at `at`.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username))]
    pub async fn current_state(
        &self,
        actor: &User,
        pairs: PairFilter,
        at: Option<DateTime<Utc>>,
    ) -> Result<Vec<CurrentDeploymentState>, AppError> {
        self.check_pairs(actor, pairs, at).await?;
        let Some(at) = at else {
            return self.current_states(pairs).await;
        };
        let state = self.state_at(at).await?;
        let applications = state.applications_of(pairs);
        let states = state.states(&applications, pairs.environment_id);
        Ok(states.map(|(_, _, state)| state).collect())
    }

    /// Who may ask, and 404 for an application or environment that does not exist.
    async fn check_pairs(
        &self,
        actor: &User,
        pairs: PairFilter,
        at: Option<DateTime<Utc>>,
    ) -> Result<(), AppError> {
        require(actor, Role::Viewer)?;
        check_at(at.as_ref())?;
        if let Some(id) = pairs.application_id {
            self.application_store()
                .get_application(id)
                .await
                .map_err(store_error("application"))?;
        }
        if let Some(id) = pairs.environment_id {
            self.environment_store()
                .get_environment(id)
                .await
                .map_err(store_error("environment"))?;
        }
        Ok(())
    }

    async fn current_states(
        &self,
        pairs: PairFilter,
    ) -> Result<Vec<CurrentDeploymentState>, AppError> {
        let records = self.current_state_store().current_states(pairs).await;
        let records = records.map_err(store_error("deployment"))?;
        Ok(records.into_iter().map(to_current_state).collect())
    }

    /// The current state as the REST API's JSON body, in chunks. The whole matrix as it is now
    /// — what dashboards and pipelines poll — is kept and reused while the database's matrix
    /// stamp is unchanged (see [`matrix_cache`](super::matrix_cache)), and streamed from there.
    /// The state at an instant is read for the request (see [`StateAt`]) and written cell by
    /// cell.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username))]
    pub async fn current_state_json(
        &self,
        actor: &User,
        pairs: PairFilter,
        at: Option<DateTime<Utc>>,
    ) -> Result<Box<dyn Iterator<Item = Bytes> + Send>, AppError> {
        let whole_matrix = pairs.application_id.is_none() && pairs.environment_id.is_none();
        self.check_pairs(actor, pairs, at).await?;
        let body = match at {
            None if whole_matrix => {
                let matrix = self.kept_matrix().await?;
                return Ok(Box::new(MatrixJsonChunks::new(matrix)));
            }
            None => {
                let states = self.current_states(pairs).await?;
                Bytes::from(serde_json::to_vec(&states).map_err(|_| AppError::Internal)?)
            }
            Some(at) => {
                let state = std::sync::Arc::new(self.state_at(at).await?);
                let applications = state.applications_of(pairs);
                return Ok(Box::new(TimeTravelJsonChunks::new(
                    state,
                    applications,
                    pairs.environment_id,
                )));
            }
        };
        Ok(Box::new(std::iter::once(body)))
    }

    /// A page of the current matrix for API clients: the cells of at most `limit` applications
    /// after the cursor's (matrix order), from the kept matrix.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username))]
    pub async fn current_state_page(
        &self,
        actor: &User,
        at: Option<DateTime<Utc>>,
        cursor: Option<&str>,
        limit: i64,
    ) -> Result<MatrixJsonPage, AppError> {
        require(actor, Role::Viewer)?;
        check_at(at.as_ref())?;
        if !(1..=MAX_PAGE_SIZE).contains(&limit) {
            return Err(AppError::field(
                "limit",
                format!("must be between 1 and {MAX_PAGE_SIZE}"),
            ));
        }
        let after = cursor
            .map(|cursor| {
                Uuid::parse_str(cursor).map_err(|_| {
                    AppError::BadRequest(
                        "invalid cursor: pass the cursor of the previous page's Link header unchanged"
                            .into(),
                    )
                })
            })
            .transpose()?;
        let Some(at) = at else {
            let matrix = self.kept_matrix().await?;
            return matrix.json_page(after, limit as usize);
        };
        // As it was at `at`: the page's rows of it.
        let state = self.state_at(at).await?;
        let applications = &state.layout.applications;
        let (rows, next_cursor) =
            crate::ssr::kept::matrix::application_page(applications, after, limit as usize)?;
        Ok(MatrixJsonPage {
            body: state.json(&applications[rows], None),
            next_cursor,
        })
    }

    /// One page of the dashboard's matrix (now or at `at`), compactly: see [`MatrixPage`]. The
    /// filter searches every application's name, not only the page's. The matrix for now is the
    /// kept one, like [`Self::current_state_json`].
    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username))]
    pub async fn matrix_page(
        &self,
        actor: &User,
        at: Option<DateTime<Utc>>,
        filter: &str,
        team: Option<&str>,
        number: u32,
    ) -> Result<MatrixPage, AppError> {
        require(actor, Role::Viewer)?;
        let mut errors = vec![];
        optional_text("q", Some(filter), SEARCH_MAX, &mut errors);
        check_instant("at", at.as_ref(), &mut errors);
        finish(errors)?;
        let every_team = self.team_store().list_teams().await;
        let every_team = every_team.map_err(store_error("team"))?;
        let teams = self.team_scope_among(actor, team, &every_team).await?;
        // The page's rows, then only their cells (now, or as they were at `at`).
        let rows = |layout: &Layout| {
            MatrixView {
                applications: layout.applications.clone(),
                environments: vec![],
                cells: vec![],
            }
            .page(
                filter,
                teams.as_deref(),
                number,
                matrix_page_rows(layout.environments.len()),
            )
        };
        let (rows, cells, layout) = match at {
            None => {
                let matrix = self.kept_matrix().await?;
                let rows = rows(&matrix.layout);
                let cells = matrix.matrix_cells(&rows.view.applications);
                (rows, cells, matrix.layout.clone())
            }
            Some(at) => {
                let state = self.state_at(at).await?;
                let rows = rows(&state.layout);
                let cells = state.matrix_cells(&rows.view.applications);
                (rows, cells, state.layout.clone())
            }
        };
        let (drift, drift_count) = match at {
            None => self.drift_marks(&layout, &rows, teams.as_deref()).await?,
            Some(_) => (vec![], 0),
        };
        Ok(MatrixPage {
            view: MatrixView {
                environments: layout.environments.clone(),
                cells,
                ..rows.view
            },
            drift,
            drift_count,
            teams: every_team
                .into_iter()
                .map(|team| TeamRef {
                    id: team.id,
                    name: team.name,
                })
                .collect(),
            ..rows
        })
    }

    /// The page's cells that breach their drift policy, and how many breaches the shown
    /// applications (all pages) have.
    async fn drift_marks(
        &self,
        layout: &Layout,
        page: &MatrixPage,
        teams: Option<&[Uuid]>,
    ) -> Result<(Vec<DriftMark>, u32), AppError> {
        let open = self.drift_store().open_drift_breaches().await;
        let open = open.map_err(store_error("drift breach"))?;
        let column_of = |id: Uuid| layout.environments.iter().position(|e| e.id == id);
        let mut count = 0;
        let mut marks = vec![];
        for breach in &open {
            let Some(application) = layout
                .applications
                .iter()
                .find(|a| a.id == breach.application_id)
            else {
                continue;
            };
            if teams.is_some_and(|teams| !application.team_id.is_some_and(|id| teams.contains(&id)))
            {
                continue;
            }
            count += 1;
            let row = page
                .view
                .applications
                .iter()
                .position(|a| a.id == breach.application_id);
            if let (Some(row), Some(column)) = (row, column_of(breach.environment_id)) {
                marks.push(DriftMark {
                    row: row as u32,
                    column: column as u32,
                    versions_behind: breach.versions_behind.max(0) as u32,
                    compared_to: column_of(breach.compared_to)
                        .map(|c| layout.environments[c].name.clone())
                        .unwrap_or_else(|| "another environment".into()),
                    behind_since: breach.behind_since,
                });
            }
        }
        Ok((marks, count))
    }

    /// The admin's one-time soft-delete: hidden from history and current state, kept on record.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username, %id))]
    pub async fn retract_deployment(
        &self,
        actor: &User,
        id: Uuid,
        reason: &str,
    ) -> Result<Deployment, AppError> {
        require(actor, Role::Admin)?;
        let mut errors = vec![];
        let reason = required_text("reason", reason, REASON_MAX, &mut errors);
        finish(errors)?;
        let environment_id = self
            .history_store()
            .get_deployment(id)
            .await
            .map_err(store_error("deployment"))?
            .environment_id;
        let outbox = self
            .outbox_for("deployment.retracted", id, environment_id)
            .await?;
        self.history_store()
            .retract_deployment(
                id,
                now(),
                &actor.username,
                &reason,
                &[entry(
                    Some(actor),
                    "deployment.retracted",
                    Target::of("deployment", id),
                    Some(set_field("reason", reason.as_str())),
                )],
                &outbox,
            )
            .await
            .map_err(|err| match err {
                StoreError::Conflict(_) => AppError::Conflict {
                    field: "id".into(),
                    message: "this deployment was already retracted".into(),
                },
                other => store_error("deployment")(other),
            })?;
        tracing::info!(by = %actor.username, deployment = %id, "deployment retracted");
        self.announce(Change::Deployment(id));
        self.wake_notifier(&outbox);
        self.get_deployment(actor, id).await
    }

    /// Dashboard figures: counts, this week's deployments, per week (12 weeks); see
    /// [`KeptFigures`].
    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username))]
    pub async fn figures(&self, actor: &User) -> Result<DashboardFigures, AppError> {
        require(actor, Role::Viewer)?;
        Ok(self.kept_figures().await?.figures().clone())
    }

    /// What the dashboard shows beside the matrix: its figures and the last deployments.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username))]
    pub async fn dashboard_side(&self, actor: &User) -> Result<DashboardSide, AppError> {
        let recent = self
            .list_deployments(
                actor,
                DeploymentFilter::default(),
                None,
                Some(DASHBOARD_RECENT),
            )
            .await?
            .items;
        let figures = self.figures(actor).await?;
        Ok(DashboardSide { figures, recent })
    }

    /// The dashboard's figures and the live deployments per active environment.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username))]
    pub async fn stats(&self, actor: &User) -> Result<Stats, AppError> {
        let figures = self.figures(actor).await?;
        let failed = store_error("statistics");
        let environments = self
            .environment_store()
            .list_environments(false)
            .await
            .map_err(&failed)?;
        let counts = self
            .history_store()
            .count_deployments_per_environment()
            .await
            .map_err(&failed)?;
        let per_environment = environments
            .iter()
            .map(|env| EnvironmentCount {
                environment: EnvironmentRef {
                    id: env.id,
                    name: env.name.clone(),
                },
                deployments: counts
                    .iter()
                    .find(|(id, _)| *id == env.id)
                    .map_or(0, |(_, n)| *n),
            })
            .collect();
        Ok(Stats {
            applications: figures.applications,
            environments: figures.environments,
            deployments_this_week: figures.deployments_this_week,
            per_environment,
            per_week: figures.per_week,
        })
    }
}

impl Service {
    /// Bulk import of historical deployments (admin): the same rules as recording — version of
    /// the application, no future date — checked in memory, then one store transaction per batch
    /// and one rebuild of the current state at the end via [`Service::finish_import`].
    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username))]
    pub async fn import_deployments(
        &self,
        actor: &User,
        rows: Vec<NewDeployment>,
        version_owner: &std::collections::HashMap<Uuid, Uuid>,
    ) -> Result<usize, AppError> {
        require(actor, Role::Admin)?;
        let limit = now() + CLOCK_SKEW;
        if let Some(bad) = rows.iter().find(|d| {
            version_owner.get(&d.version_id) != Some(&d.application_id) || d.deployment_date > limit
        }) {
            return Err(AppError::field(
                "deployments",
                format!("deployment {} breaks a recording rule", bad.id),
            ));
        }
        self.deployment_store()
            .insert_deployments_bulk(&rows)
            .await
            .map_err(store_error("deployment"))?;
        Ok(rows.len())
    }

    /// Recomputes the current state after imports.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username))]
    pub async fn finish_import(&self, actor: &User) -> Result<(), AppError> {
        require(actor, Role::Admin)?;
        self.deployment_store()
            .rebuild_current_deployments()
            .await
            .map_err(store_error("deployment"))?;
        self.announce(Change::Everything);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let key = HistoryKey {
            deployment_date: now(),
            created_at: now(),
            id: Uuid::now_v7(),
        };
        assert_eq!(decode_cursor(&encode_cursor(&key)).unwrap(), key);
        assert!(matches!(
            decode_cursor("not a cursor"),
            Err(AppError::BadRequest(_))
        ));
    }
}

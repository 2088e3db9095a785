//! Deployments, the current state, history filters and comparisons.

use super::*;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ApplicationRef {
    pub id: Uuid,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentRef {
    pub id: Uuid,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct VersionRef {
    pub id: Uuid,
    pub version_identifier: String,
}

/// One recorded deployment (the story's DTO, plus the derived rollback flag and, for retracted
/// records, who retracted it, when and why).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    pub id: Uuid,
    pub application: ApplicationRef,
    pub version: VersionRef,
    pub environment: EnvironmentRef,
    pub deployment_date: DateTime<Utc>,
    pub deployed_by: Option<String>,
    pub notes: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The version is older than the one that was current in the environment just before.
    pub is_rollback: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_reason: Option<String>,
    /// What blocked it when it was recorded (a freeze, a lock, a promotion rule): fixed then,
    /// immutable like the rest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policy_violations: Vec<PolicyBlocker>,
    /// Why it went ahead anyway, as the recorder said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub override_reason: Option<String>,
}

/// What runs in one environment for one application (the story's DTO, plus the record's id).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CurrentDeploymentState {
    pub application: ApplicationRef,
    pub environment: EnvironmentRef,
    pub version: VersionRef,
    pub deployment_date: DateTime<Utc>,
    pub deployed_by: Option<String>,
    pub deployment_id: Uuid,
    pub is_rollback: bool,
}

/// The dashboard's matrix in one compact payload: rows and columns once, then only the filled
/// cells by position. The current-state DTO repeats names and ids in every cell, which made the
/// page carry its 7,500-cell matrix twice over (HTML and hydration data) at three times the size.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MatrixView {
    /// Rows: active applications by name.
    pub applications: Vec<Application>,
    /// Columns: active environments in pipeline order.
    pub environments: Vec<Environment>,
    pub cells: Vec<MatrixCell>,
}

/// A filled cell. It travels (as the page's hydration data) as a bare array — row, column,
/// version, deployment id, date in epoch milliseconds, deployed by, rollback — because a page
/// carries hundreds of them and named fields, quoted again inside the page's script, made up
/// half of each one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "PackedCell", from = "PackedCell")]
pub struct MatrixCell {
    /// Index into `applications`.
    pub row: u32,
    /// Index into `environments`.
    pub column: u32,
    pub version: String,
    pub deployment_id: Uuid,
    pub deployment_date: DateTime<Utc>,
    pub deployed_by: Option<String>,
    pub is_rollback: bool,
}

type PackedCell = (u32, u32, String, Uuid, i64, Option<String>, bool);

impl From<MatrixCell> for PackedCell {
    fn from(cell: MatrixCell) -> Self {
        (
            cell.row,
            cell.column,
            cell.version,
            cell.deployment_id,
            cell.deployment_date.timestamp_millis(),
            cell.deployed_by,
            cell.is_rollback,
        )
    }
}

impl From<PackedCell> for MatrixCell {
    fn from(
        (row, column, version, deployment_id, millis, deployed_by, is_rollback): PackedCell,
    ) -> Self {
        MatrixCell {
            row,
            column,
            version,
            deployment_id,
            // Out of range only if the data was not made by `From<MatrixCell>`.
            deployment_date: DateTime::from_timestamp_millis(millis).unwrap_or_default(),
            deployed_by,
            is_rollback,
        }
    }
}

/// Cells on one page of the dashboard's matrix, about: with them its HTML stays well under
/// 1 MB however large the organisation.
const MATRIX_PAGE_CELLS: usize = 500;

/// Rows on one page of the dashboard's matrix: 50 at up to 10 environments, fewer (at least
/// 10) when there are more columns, so a page holds about [`MATRIX_PAGE_CELLS`] cells.
pub fn matrix_page_rows(environments: usize) -> usize {
    (MATRIX_PAGE_CELLS / environments.max(1)).clamp(10, 50)
}

/// One page of the dashboard's matrix: the applications whose name contains the filter, from
/// the `first`-th of them (0-based), with their cells.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MatrixPage {
    pub view: MatrixView,
    pub first: u32,
    /// Rows per page (see [`matrix_page_rows`]).
    pub page_rows: u32,
    /// Applications whose name contains the filter (all of them when there is none).
    pub matching: u32,
    /// Active applications.
    pub total: u32,
    /// The page's cells whose environment is further behind than its drift policy allows
    /// (today's matrix only).
    #[serde(default)]
    pub drift: Vec<DriftMark>,
    /// Open drift breaches among the applications shown (every page, not only this one).
    #[serde(default)]
    pub drift_count: u32,
    /// Every team, for the team views.
    #[serde(default)]
    pub teams: Vec<TeamRef>,
}

/// A matrix cell (by its place on the page) that is behind its drift policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DriftMark {
    pub row: u32,
    pub column: u32,
    pub versions_behind: u32,
    pub compared_to: String,
    pub behind_since: DateTime<Utc>,
}

/// The dashboard's filter: applications whose name contains `filter` (case-insensitive,
/// surrounding spaces ignored).
pub fn name_matches(name: &str, filter: &str) -> bool {
    let needle = filter.trim().to_lowercase();
    needle.is_empty() || name.to_lowercase().contains(&needle)
}

impl MatrixView {
    /// Page `number` (from 1) of `rows` rows of those whose application name contains
    /// `filter` (and that belong to one of `teams`, when given), with their cells (rows
    /// renumbered from 0).
    pub fn page(
        &self,
        filter: &str,
        teams: Option<&[Uuid]>,
        number: u32,
        rows: usize,
    ) -> MatrixPage {
        let first = (number.max(1) as usize - 1).saturating_mul(rows);
        let in_teams = |application: &Application| match teams {
            None => true,
            Some(teams) => application.team_id.is_some_and(|id| teams.contains(&id)),
        };
        let matching: Vec<usize> = (0..self.applications.len())
            .filter(|&row| {
                let application = &self.applications[row];
                name_matches(&application.name, filter) && in_teams(application)
            })
            .collect();
        // Past the end (a stale link, a shorter filter result): the last page.
        let first = if first >= matching.len() {
            matching.len().saturating_sub(1) / rows.max(1) * rows
        } else {
            first
        };
        let shown = &matching[first..(first + rows).min(matching.len())];
        let mut renumbered = vec![None; self.applications.len()];
        for (new, &old) in shown.iter().enumerate() {
            renumbered[old] = Some(new as u32);
        }
        let cells = self
            .cells
            .iter()
            .filter_map(|cell| {
                let row = (*renumbered.get(cell.row as usize)?)?;
                Some(MatrixCell {
                    row,
                    ..cell.clone()
                })
            })
            .collect();
        MatrixPage {
            view: MatrixView {
                applications: shown
                    .iter()
                    .map(|&row| self.applications[row].clone())
                    .collect(),
                environments: self.environments.clone(),
                cells,
            },
            first: first as u32,
            page_rows: rows as u32,
            matching: matching.len() as u32,
            total: self.applications.len() as u32,
            drift: vec![],
            drift_count: 0,
            teams: vec![],
        }
    }

    /// The cell at (row, column), if that pair has a current deployment.
    pub fn cell_grid(&self) -> Vec<Vec<Option<&MatrixCell>>> {
        let mut grid = vec![vec![None; self.environments.len()]; self.applications.len()];
        for cell in &self.cells {
            if let Some(slot) = grid
                .get_mut(cell.row as usize)
                .and_then(|row| row.get_mut(cell.column as usize))
            {
                *slot = Some(cell);
            }
        }
        grid
    }
}

/// What to record. Each of application, version and environment is given either by id or by
/// name (exactly one of the two): pipelines know names, forms know ids. A version name is looked
/// up within the given application only.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordDeploymentRequest {
    /// The application's id; or give `application`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_id: Option<Uuid>,
    /// The application's name (case-insensitive); or give `applicationId`.
    #[cfg_attr(feature = "ssr", schema(max_length = 100))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application: Option<String>,
    /// The version's id; or give `version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<Uuid>,
    /// The version identifier (exact), within the application; or give `versionId`.
    #[cfg_attr(feature = "ssr", schema(max_length = 100))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The environment's id; or give `environment`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment_id: Option<Uuid>,
    /// The environment's name (case-insensitive); or give `environmentId`.
    #[cfg_attr(feature = "ssr", schema(max_length = 100))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// With `version`: register the version for the application if it is not known yet (in the
    /// same transaction as the deployment). Applications and environments are never created.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub create_version: bool,
    /// With `createVersion`: the new version's commit hash.
    #[cfg_attr(feature = "ssr", schema(pattern = "^[0-9A-Fa-f]{7,64}$"))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_sha: Option<String>,
    /// With `createVersion`: the new version's release instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub released_at: Option<DateTime<Utc>>,
    pub deployment_date: DateTime<Utc>,
    #[cfg_attr(
        feature = "ssr",
        schema(
            max_length = 255,
            pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
        )
    )]
    #[serde(default)]
    pub deployed_by: Option<String>,
    #[cfg_attr(
        feature = "ssr",
        schema(
            max_length = 10000,
            pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
        )
    )]
    #[serde(default)]
    pub notes: Option<String>,
    /// Why it went ahead although the deploy policy blocked it (kept with the record).
    #[cfg_attr(feature = "ssr", schema(max_length = 1000))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub override_reason: Option<String>,
    /// The version's commits since what ran before (`git log <since>..<version>`), kept for the
    /// version once the deployment is recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commits: Option<CommitList>,
}

/// A recorded deployment, and whether this answer replays an earlier request with the same
/// `Idempotency-Key` (nothing new was recorded then).
#[derive(Clone, Debug)]
pub struct Recorded {
    pub deployment: Deployment,
    pub replayed: bool,
}

/// Which deployments a history listing shows. Dates are inclusive.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DeploymentFilter {
    #[serde(default)]
    pub application_id: Option<Uuid>,
    #[serde(default)]
    pub environment_id: Option<Uuid>,
    #[serde(default)]
    pub version_id: Option<Uuid>,
    #[serde(default)]
    pub date_from: Option<DateTime<Utc>>,
    #[serde(default)]
    pub date_to: Option<DateTime<Utc>>,
    #[serde(default)]
    pub deployed_by: Option<String>,
    /// Substring of notes, version identifier or deployer.
    #[serde(default)]
    pub q: Option<String>,
    /// Admins only: also list retracted deployments.
    #[serde(default)]
    pub include_deleted: bool,
    /// Only deployments recorded while the deploy policy blocked them.
    #[serde(default)]
    pub violations: bool,
    /// Only the applications of this team (its name or id), or of the reader's teams (`mine`).
    #[serde(default)]
    pub team: Option<String>,
    /// The teams `team` names, as the service resolved them (never read from a request).
    #[serde(skip)]
    pub team_ids: Option<Vec<Uuid>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DeploymentPage {
    pub items: Vec<Deployment>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RetractRequest {
    #[cfg_attr(
        feature = "ssr",
        schema(
            min_length = 1,
            max_length = 1000,
            pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
        )
    )]
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentCount {
    pub environment: EnvironmentRef,
    pub deployments: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WeekCount {
    /// Monday 00:00 UTC of the week.
    pub week_start: DateTime<Utc>,
    pub deployments: i64,
}

/// The dashboard's quick figures: [`Stats`] without the per-environment counts, which it does
/// not show (counting them reads every pair: 80,000 at 2,000 × 40).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DashboardFigures {
    pub applications: i64,
    pub environments: i64,
    pub deployments_this_week: i64,
    /// The last 12 weeks, oldest first, this week last.
    pub per_week: Vec<WeekCount>,
}

/// What the dashboard shows beside the matrix, in one answer: its figures and the last
/// deployments (one request per live update, and no history list's code in the dashboard's WASM).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DashboardSide {
    pub figures: DashboardFigures,
    /// The last [`DASHBOARD_RECENT`] deployments, newest first.
    pub recent: Vec<Deployment>,
}

/// How many deployments the dashboard lists.
pub const DASHBOARD_RECENT: i64 = 10;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    pub applications: i64,
    pub environments: i64,
    pub deployments_this_week: i64,
    pub per_environment: Vec<EnvironmentCount>,
    /// The last 12 weeks, oldest first, this week last.
    pub per_week: Vec<WeekCount>,
}

pub const FUTURE_DATE_MESSAGE: &str = "Deployment date cannot be in future";
pub const WRONG_APPLICATION_MESSAGE: &str = "Version does not belong to selected application";

/// How one application stands in two environments of the pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum CompareStatus {
    /// The same version runs in both.
    Same,
    /// The earlier environment runs a newer version: a promotion candidate.
    Ahead,
    /// The later environment runs a newer version than the earlier one.
    Behind,
    /// Deployed only in the earlier environment: also waiting for promotion.
    OnlyInFrom,
    /// Deployed only in the later environment.
    OnlyInTo,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ComparisonRow {
    pub application: ApplicationRef,
    pub from: Option<CurrentDeploymentState>,
    pub to: Option<CurrentDeploymentState>,
    pub status: CompareStatus,
    /// How many versions the later environment lags (versions newer than its own, up to the
    /// earlier environment's); 0 unless `Ahead`.
    pub versions_behind: u32,
    /// Days since the earlier environment got the version still waiting for promotion.
    pub waiting_days: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentComparison {
    /// The earlier environment of the pipeline (e.g. STAGING).
    pub from: EnvironmentRef,
    /// The later one (e.g. PROD).
    pub to: EnvironmentRef,
    /// Promotion candidates first, then by application name.
    pub rows: Vec<ComparisonRow>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(names: &[&str], environments: usize) -> MatrixView {
        let at = Utc::now();
        let applications: Vec<Application> = names
            .iter()
            .map(|name| Application {
                id: Uuid::now_v7(),
                name: name.to_string(),
                description: None,
                repository: None,
                team_id: None,
                created_at: at,
                updated_at: at,
                archived_at: None,
            })
            .collect();
        let environments: Vec<Environment> = (0..environments)
            .map(|position| Environment {
                id: Uuid::now_v7(),
                name: format!("E{position}"),
                description: None,
                position: position as i32,
                is_production: false,
                created_at: at,
                updated_at: at,
                archived_at: None,
            })
            .collect();
        let cells = (0..applications.len() as u32)
            .flat_map(|row| {
                (0..environments.len() as u32).map(move |column| MatrixCell {
                    row,
                    column,
                    version: format!("{row}.{column}"),
                    deployment_id: Uuid::now_v7(),
                    deployment_date: at,
                    deployed_by: None,
                    is_rollback: false,
                })
            })
            .collect();
        MatrixView {
            applications,
            environments,
            cells,
        }
    }

    #[test]
    fn filter_matches_names_case_insensitively() {
        assert!(name_matches("Customer Portal", " portal "));
        assert!(name_matches("Billing", ""));
        assert!(!name_matches("Billing", "portal"));
    }

    #[test]
    fn a_page_holds_its_rows_and_their_cells_renumbered() {
        let names = ["a0", "b1", "a2", "b3", "a4", "a5", "b6"];
        let matrix = view(&names, 2);
        let page = matrix.page("A", None, 2, 2);
        let shown: Vec<&str> = page
            .view
            .applications
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        assert_eq!(shown, ["a4", "a5"], "the 3rd and 4th of the matching rows");
        assert_eq!((page.first, page.matching, page.total), (2, 4, 7));
        let versions: Vec<(u32, &str)> = page
            .view
            .cells
            .iter()
            .map(|c| (c.row, c.version.as_str()))
            .collect();
        assert_eq!(versions, [(0, "4.0"), (0, "4.1"), (1, "5.0"), (1, "5.1")]);
        assert_eq!(page.view.environments.len(), 2);
    }

    #[test]
    fn pages_hold_about_the_same_number_of_cells_however_many_columns() {
        assert_eq!(matrix_page_rows(10), 50);
        assert_eq!(matrix_page_rows(15), 33);
        assert_eq!(matrix_page_rows(40), 12);
        assert_eq!(matrix_page_rows(500), 10);
        assert_eq!(matrix_page_rows(0), 50);
    }

    #[test]
    fn a_page_past_the_end_is_the_last_one() {
        let matrix = view(&["a", "b", "c", "d", "e"], 1);
        let page = matrix.page("", None, 200, 2);
        assert_eq!(page.first, 4);
        assert_eq!(page.view.applications.len(), 1);
        let none = matrix.page("zzz", None, 0, 2);
        assert_eq!((none.first, none.matching, none.total), (0, 0, 5));
        assert!(none.view.applications.is_empty() && none.view.cells.is_empty());
    }

    #[test]
    fn a_cell_travels_as_a_bare_array_and_comes_back_whole() {
        let cell = MatrixCell {
            row: 3,
            column: 7,
            version: "2.0.0-rc.1".into(),
            deployment_id: Uuid::now_v7(),
            deployment_date: DateTime::from_timestamp_millis(1_790_000_000_123).unwrap(),
            deployed_by: Some("ci \"bot\"".into()),
            is_rollback: true,
        };
        let json = serde_json::to_string(&cell).unwrap();
        assert_eq!(
            json,
            format!(
                r#"[3,7,"2.0.0-rc.1","{}",1790000000123,"ci \"bot\"",true]"#,
                cell.deployment_id
            )
        );
        assert_eq!(serde_json::from_str::<MatrixCell>(&json).unwrap(), cell);
        let unsigned = MatrixCell {
            deployed_by: None,
            ..cell
        };
        let json = serde_json::to_string(&unsigned).unwrap();
        assert_eq!(serde_json::from_str::<MatrixCell>(&json).unwrap(), unsigned);
    }
}

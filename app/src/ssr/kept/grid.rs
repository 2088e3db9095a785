//! What the kept matrix and time travel share: the matrix's rows and columns (the
//! active applications and environments in matrix order), and a cell written as the REST API's
//! JSON by hand — both write up to 80,000 cells per answer.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::AppError;
use crate::model::{Application, Environment, MatrixCell};
use crate::ssr::store::store_error;
use crate::ssr::store::Store;

/// The matrix's rows and columns. Any change to them moves the matrix epoch, and whatever keeps
/// a layout reads it again then, so it is as current as what it lays out.
pub(crate) struct Layout {
    pub(crate) applications: Vec<Application>,
    pub(crate) environments: Vec<Environment>,
    /// Where each application's row and environment's column is.
    rows: HashMap<Uuid, usize>,
    columns: HashMap<Uuid, usize>,
    /// How every cell of a row starts, `{"application":{"id":…,"name":…},"environment":`, and
    /// what follows it in every cell of a column, `{"id":…,"name":…},`: written once.
    application_json: Vec<Box<[u8]>>,
    environment_json: Vec<Box<[u8]>>,
}

impl Layout {
    /// The active applications and environments as the database holds them now.
    pub(crate) async fn read(store: &dyn Store, what: &'static str) -> Result<Self, AppError> {
        let failed = store_error(what);
        let applications = store.list_applications(false).await.map_err(&failed)?;
        let environments = store.list_environments(false).await.map_err(&failed)?;
        Ok(Self::new(applications, environments))
    }

    fn new(applications: Vec<Application>, environments: Vec<Environment>) -> Self {
        #[derive(serde::Serialize)]
        struct Named<'a> {
            id: Uuid,
            name: &'a str,
        }
        let named = |json: &mut Vec<u8>, id, name| {
            // Writing into a Vec cannot fail; names and ids always serialise.
            let _ = serde_json::to_writer(json, &Named { id, name });
        };
        let application_json = (applications.iter())
            .map(|application| {
                let mut json = br#"{"application":"#.to_vec();
                named(&mut json, application.id, &application.name);
                json.extend_from_slice(br#","environment":"#);
                json.into()
            })
            .collect();
        let environment_json = (environments.iter())
            .map(|environment| {
                let mut json = vec![];
                named(&mut json, environment.id, &environment.name);
                json.push(b',');
                json.into()
            })
            .collect();
        let index = |ids: Vec<Uuid>| -> HashMap<Uuid, usize> { ids.into_iter().zip(0..).collect() };
        Self {
            rows: index(applications.iter().map(|a| a.id).collect()),
            columns: index(environments.iter().map(|e| e.id).collect()),
            application_json,
            environment_json,
            applications,
            environments,
        }
    }

    pub(crate) fn row(&self, application_id: Uuid) -> Option<usize> {
        self.rows.get(&application_id).copied()
    }

    pub(crate) fn column(&self, environment_id: Uuid) -> Option<usize> {
        self.columns.get(&environment_id).copied()
    }

    /// Appends the cell of the pair at (`row`, `column`) whose deployment is `end`: the same
    /// bytes as [`CurrentDeploymentState`](crate::model::CurrentDeploymentState)'s serde JSON
    /// (a test compares them).
    pub(crate) fn write_cell(
        &self,
        body: &mut Vec<u8>,
        row: usize,
        column: usize,
        end: CellEnd<'_>,
    ) {
        body.extend_from_slice(&self.application_json[row]);
        body.extend_from_slice(&self.environment_json[column]);
        write_cell_end(body, end);
    }
}

/// A cell but for its pair: the deployment shown, borrowing its version's and deployer's names.
pub(crate) struct CellEnd<'a> {
    pub(crate) version_id: Uuid,
    pub(crate) version_identifier: &'a str,
    pub(crate) deployment_date: DateTime<Utc>,
    pub(crate) deployed_by: Option<&'a str>,
    pub(crate) deployment_id: Uuid,
    pub(crate) is_rollback: bool,
}

impl CellEnd<'_> {
    /// The cell as the dashboard shows it, at (`row`, `column`) of its page.
    pub(crate) fn matrix_cell(&self, row: u32, column: u32) -> MatrixCell {
        MatrixCell {
            row,
            column,
            version: self.version_identifier.to_string(),
            deployment_id: self.deployment_id,
            deployment_date: self.deployment_date,
            deployed_by: self.deployed_by.map(str::to_string),
            is_rollback: self.is_rollback,
        }
    }
}

/// Appends `end` as the rest of a cell begun by its row's and column's names (its fields and
/// the closing brace). Written by hand: a fresh instant writes most of 7,500 cells, and serde's
/// way of writing a date (chrono's `Display`, escaped a character at a time) was a third of it.
fn write_cell_end(body: &mut Vec<u8>, end: CellEnd<'_>) {
    body.extend_from_slice(br#""version":{"id":""#);
    push_uuid(body, end.version_id);
    body.extend_from_slice(br#"","versionIdentifier":"#);
    push_json_string(body, end.version_identifier);
    body.extend_from_slice(br#"},"deploymentDate":"#);
    push_json_date(body, end.deployment_date);
    body.extend_from_slice(br#","deployedBy":"#);
    match end.deployed_by {
        Some(name) => push_json_string(body, name),
        None => body.extend_from_slice(b"null"),
    }
    body.extend_from_slice(br#","deploymentId":""#);
    push_uuid(body, end.deployment_id);
    body.extend_from_slice(br#"","isRollback":"#);
    body.extend_from_slice(if end.is_rollback { b"true}" } else { b"false}" });
}

fn push_uuid(body: &mut Vec<u8>, id: Uuid) {
    body.extend_from_slice(
        id.hyphenated()
            .encode_lower(&mut Uuid::encode_buffer())
            .as_bytes(),
    );
}

fn push_json_string(body: &mut Vec<u8>, text: &str) {
    // Writing a string into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *body, text);
}

/// As chrono's serde writes a date (RFC 3339, `Z`, 0, 3, 6 or 9 digits of fraction as
/// needed), digit by digit for the years 0–9999 and by chrono itself beyond them.
fn push_json_date(body: &mut Vec<u8>, date: DateTime<Utc>) {
    use chrono::{Datelike, Timelike};
    let year = date.year();
    let nanos = date.nanosecond();
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
        let _ = serde_json::to_writer(&mut *body, &date);
        return;
    }
    let (fraction, fraction_digits) = match nanos {
        0 => (0, 0),
        n if n % 1_000_000 == 0 => (n / 1_000_000, 3),
        n if n % 1_000 == 0 => (n / 1_000, 6),
        n => (n, 9),
    };
    body.push(b'"');
    push_digits(body, year as u32, 4);
    body.push(b'-');
    push_digits(body, date.month(), 2);
    body.push(b'-');
    push_digits(body, date.day(), 2);
    body.push(b'T');
    push_digits(body, date.hour(), 2);
    body.push(b':');
    push_digits(body, date.minute(), 2);
    body.push(b':');
    push_digits(body, date.second(), 2);
    if fraction_digits > 0 {
        body.push(b'.');
        push_digits(body, fraction, fraction_digits);
    }
    body.extend_from_slice(b"Z\"");
}

/// `value`'s last `width` decimal digits, zero-padded.
fn push_digits(body: &mut Vec<u8>, value: u32, width: u32) {
    for place in (0..width).rev() {
        body.push(b'0' + (value / 10u32.pow(place) % 10) as u8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ApplicationRef, CurrentDeploymentState, EnvironmentRef, VersionRef};

    /// A cell written by [`Layout::write_cell`].
    fn cell_of(state: &CurrentDeploymentState) -> String {
        let at = state.deployment_date;
        let application = Application {
            id: state.application.id,
            name: state.application.name.clone(),
            description: None,
            repository: None,
            team_id: None,
            created_at: at,
            updated_at: at,
            archived_at: None,
        };
        let environment = Environment {
            id: state.environment.id,
            name: state.environment.name.clone(),
            description: None,
            position: 0,
            is_production: true,
            created_at: at,
            updated_at: at,
            archived_at: None,
        };
        let mut body = vec![];
        let end = CellEnd {
            version_id: state.version.id,
            version_identifier: &state.version.version_identifier,
            deployment_date: state.deployment_date,
            deployed_by: state.deployed_by.as_deref(),
            deployment_id: state.deployment_id,
            is_rollback: state.is_rollback,
        };
        Layout::new(vec![application], vec![environment]).write_cell(&mut body, 0, 0, end);
        String::from_utf8(body).unwrap()
    }

    #[test]
    fn a_cell_is_written_as_the_current_state_dto_writes_itself() {
        let mut state = CurrentDeploymentState {
            application: ApplicationRef {
                id: Uuid::now_v7(),
                name: "Billing \"EU\" \\ ✓".into(),
            },
            environment: EnvironmentRef {
                id: Uuid::now_v7(),
                name: "prod\u{1}".into(),
            },
            version: VersionRef {
                id: Uuid::now_v7(),
                version_identifier: "1.2.3-rc.1+build".into(),
            },
            deployment_date: DateTime::from_timestamp_micros(1_733_000_000_123_456).unwrap(),
            deployed_by: Some("ci <bot>".into()),
            deployment_id: Uuid::now_v7(),
            is_rollback: true,
        };
        let json = |state: &CurrentDeploymentState| serde_json::to_string(state).unwrap();
        assert_eq!(cell_of(&state), json(&state));
        state.deployed_by = None;
        state.is_rollback = false;
        // Every fraction width chrono picks, and the years beyond four digits it writes itself.
        for micros in [
            0,
            1_733_000_000_000_000,
            1_733_000_000_120_000,
            1_733_000_000_000_001,
            -62_135_596_800_000_000,
            -62_135_596_800_000_001,
            253_402_300_799_999_999,
            253_402_300_800_000_000,
            -62_167_219_200_000_001,
        ] {
            state.deployment_date = DateTime::from_timestamp_micros(micros).unwrap();
            assert_eq!(cell_of(&state), json(&state));
        }
    }
}

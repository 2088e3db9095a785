//! The domain's data as it crosses the wire (JSON camelCase), shared by server and browser.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{AppError, FieldError};

pub const NAME_MAX: usize = 100;
pub const DESCRIPTION_MAX: usize = 2_000;
pub const NOTES_MAX: usize = 10_000;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Application {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub archived_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Environment {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    /// Pipeline order (DEV → … → PROD); matrix columns follow it.
    pub position: i32,
    pub is_production: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub archived_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Version {
    pub id: Uuid,
    pub application_id: Uuid,
    pub version_identifier: String,
    pub released_at: Option<DateTime<Utc>>,
    pub notes: Option<String>,
    pub created_at: DateTime<Utc>,
    pub archived_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewApplication {
    #[cfg_attr(
        feature = "ssr",
        schema(
            min_length = 1,
            max_length = 100,
            pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
        )
    )]
    pub name: String,
    #[cfg_attr(
        feature = "ssr",
        schema(
            max_length = 2000,
            pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
        )
    )]
    #[serde(default)]
    pub description: Option<String>,
}

/// Absent fields stay as they are; an empty description clears it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApplicationPatch {
    #[cfg_attr(
        feature = "ssr",
        schema(
            min_length = 1,
            max_length = 100,
            pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
        )
    )]
    #[serde(default)]
    pub name: Option<String>,
    #[cfg_attr(
        feature = "ssr",
        schema(
            max_length = 2000,
            pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
        )
    )]
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewEnvironment {
    #[cfg_attr(
        feature = "ssr",
        schema(
            min_length = 1,
            max_length = 100,
            pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
        )
    )]
    pub name: String,
    #[cfg_attr(
        feature = "ssr",
        schema(
            max_length = 2000,
            pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
        )
    )]
    #[serde(default)]
    pub description: Option<String>,
    /// Defaults to the end of the pipeline.
    #[serde(default)]
    pub position: Option<i32>,
    #[serde(default)]
    pub is_production: Option<bool>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnvironmentPatch {
    #[cfg_attr(
        feature = "ssr",
        schema(
            min_length = 1,
            max_length = 100,
            pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
        )
    )]
    #[serde(default)]
    pub name: Option<String>,
    #[cfg_attr(
        feature = "ssr",
        schema(
            max_length = 2000,
            pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
        )
    )]
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub position: Option<i32>,
    #[serde(default)]
    pub is_production: Option<bool>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewVersion {
    #[cfg_attr(
        feature = "ssr",
        schema(
            min_length = 1,
            max_length = 100,
            pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
        )
    )]
    pub version_identifier: String,
    #[serde(default)]
    pub released_at: Option<DateTime<Utc>>,
    #[cfg_attr(
        feature = "ssr",
        schema(
            max_length = 10000,
            pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
        )
    )]
    #[serde(default)]
    pub notes: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VersionPatch {
    #[serde(default)]
    pub released_at: Option<DateTime<Utc>>,
    #[cfg_attr(
        feature = "ssr",
        schema(
            max_length = 10000,
            pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
        )
    )]
    #[serde(default)]
    pub notes: Option<String>,
}

/// Instants are accepted from the Unix epoch to the end of year 9999: every one of them has a
/// four-digit year, so both backends store it exactly and it reads back as RFC 3339.
pub const EARLIEST_YEAR: i32 = 1970;
pub const LATEST_YEAR: i32 = 9999;
pub const INSTANT_RANGE_MESSAGE: &str =
    "must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z";

pub fn instant_in_range(at: &DateTime<Utc>) -> bool {
    use chrono::Datelike;
    (EARLIEST_YEAR..=LATEST_YEAR).contains(&at.year())
}

/// Adds an error for `field` when `at` lies outside the accepted range.
pub fn check_instant(field: &str, at: Option<&DateTime<Utc>>, errors: &mut Vec<FieldError>) {
    if at.is_some_and(|at| !instant_in_range(at)) {
        errors.push(FieldError::new(field, INSTANT_RANGE_MESSAGE));
    }
}

/// Control characters (NUL, escape, C1 codes) have no place in names, notes or searches; they
/// cannot be stored by PostgreSQL and can corrupt terminals and logs. Line breaks and tabs are
/// allowed (notes may span lines).
pub fn has_control_characters(value: &str) -> bool {
    value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

pub const CONTROL_CHARACTER_MESSAGE: &str =
    "must not contain control characters (such as NUL); only line breaks and tabs are allowed";

/// Adds an error for `field` when `value` holds a control character.
pub fn check_characters(field: &str, value: Option<&str>, errors: &mut Vec<FieldError>) {
    if value.is_some_and(has_control_characters) {
        errors.push(FieldError::new(field, CONTROL_CHARACTER_MESSAGE));
    }
}

/// Trims `value` and checks it is present and at most `max` characters.
pub fn required_text(field: &str, value: &str, max: usize, errors: &mut Vec<FieldError>) -> String {
    let trimmed = value.trim();
    check_characters(field, Some(trimmed), errors);
    if trimmed.is_empty() {
        errors.push(FieldError::new(field, "is required"));
    } else if trimmed.chars().count() > max {
        errors.push(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    trimmed.to_string()
}

/// Trims an optional text; empty becomes `None`.
pub fn optional_text(
    field: &str,
    value: Option<&str>,
    max: usize,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let trimmed = value.map(str::trim).filter(|v| !v.is_empty())?;
    check_characters(field, Some(trimmed), errors);
    if trimmed.chars().count() > max {
        errors.push(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Some(trimmed.to_string())
}

/// Turns collected field errors into one `Validation` error, or `Ok` when there are none.
pub fn finish(errors: Vec<FieldError>) -> Result<(), AppError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_print_but_travel_as_text() {
        let login: LoginRequest =
            serde_json::from_str(r#"{"username":"ann","password":"correct horse"}"#).unwrap();
        assert_eq!(login.password.expose(), "correct horse");
        let printed = format!("{:?}", login.password);
        assert!(!printed.contains("correct"), "{printed}");
        assert_eq!(
            serde_json::to_string(&login.password).unwrap(),
            "\"correct horse\""
        );
    }

    #[test]
    fn required_text_trims_and_reports_missing_and_too_long() {
        let mut errors = vec![];
        assert_eq!(required_text("name", "  api  ", 10, &mut errors), "api");
        assert!(errors.is_empty());
        required_text("name", "   ", 10, &mut errors);
        required_text("other", &"x".repeat(11), 10, &mut errors);
        assert_eq!(errors[0], FieldError::new("name", "is required"));
        assert_eq!(errors[1].field, "other");
    }

    #[test]
    fn optional_text_turns_blank_into_none() {
        let mut errors = vec![];
        assert_eq!(optional_text("d", Some("  "), 5, &mut errors), None);
        assert_eq!(
            optional_text("d", Some(" ab "), 5, &mut errors).as_deref(),
            Some("ab")
        );
        assert!(finish(errors).is_ok());
    }

    #[test]
    fn control_characters_are_refused_but_line_breaks_kept() {
        let mut errors = vec![];
        required_text("name", "a\u{0}b", 10, &mut errors);
        optional_text("notes", Some("x\u{1b}[31m"), 10, &mut errors);
        optional_text("notes", Some("x\u{85}y"), 10, &mut errors);
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors
            .iter()
            .all(|e| e.message == CONTROL_CHARACTER_MESSAGE));
        let mut errors = vec![];
        optional_text("notes", Some("line 1\r\n\tline 2"), 20, &mut errors);
        assert!(errors.is_empty());
    }

    #[test]
    fn instants_must_have_four_digit_years_from_1970() {
        let parse = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let mut errors = vec![];
        for ok in ["1970-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z"] {
            check_instant("at", Some(&parse(ok)), &mut errors);
        }
        check_instant("at", None, &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        for bad in [
            "1969-12-31T23:59:59Z",
            "+10000-01-01T00:00:00Z",
            "-5000-01-01T00:00:00Z",
        ] {
            check_instant("at", Some(&parse(bad)), &mut errors);
        }
        assert_eq!(errors.len(), 3);
    }
}

// ---- access ----

/// What a user may do: viewers read; editors also write; admins also manage users.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Editor,
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Editor, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Admin => "admin",
        }
    }

    pub fn parse(value: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == value)
    }
}

/// A person or pipeline identity. Never carries the password hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
}

impl User {
    pub fn can(&self, role: Role) -> bool {
        self.role >= role
    }
}

/// An API token's metadata; the secret itself is shown once, at creation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ApiToken {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// The answer to creating a token: its metadata plus the secret, this one time.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CreatedToken {
    #[serde(flatten)]
    pub info: ApiToken,
    pub token: String,
}

#[derive(Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewToken {
    #[cfg_attr(
        feature = "ssr",
        schema(
            min_length = 1,
            max_length = 100,
            pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
        )
    )]
    pub name: String,
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewUser {
    #[cfg_attr(
        feature = "ssr",
        schema(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9._@-]+$")
    )]
    pub username: String,
    #[cfg_attr(
        feature = "ssr",
        schema(
            max_length = 100,
            pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
        )
    )]
    #[serde(default)]
    pub display_name: Option<String>,
    #[cfg_attr(
        feature = "ssr",
        schema(value_type = String, format = Password, min_length = 10, max_length = 200)
    )]
    pub password: Password,
    pub role: Role,
}

#[derive(Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserPatch {
    #[serde(default)]
    pub role: Option<Role>,
    #[serde(default)]
    pub disabled: Option<bool>,
    #[cfg_attr(
        feature = "ssr",
        schema(value_type = Option<String>, format = Password, min_length = 10, max_length = 200)
    )]
    #[serde(default)]
    pub password: Option<Password>,
    #[cfg_attr(
        feature = "ssr",
        schema(
            min_length = 1,
            max_length = 100,
            pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
        )
    )]
    #[serde(default)]
    pub display_name: Option<String>,
}

#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoginRequest {
    #[cfg_attr(
        feature = "ssr",
        schema(pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$")
    )]
    pub username: String,
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = Password))]
    pub password: Password,
}

/// A password as typed in. Its `Debug` is redacted and its memory wiped when dropped
/// (`secrecy`), so it cannot reach a log by accident; it serialises as plain text only because
/// the browser has to send it.
#[derive(Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct Password(secrecy::SecretString);

impl Password {
    pub fn expose(&self) -> &str {
        use secrecy::ExposeSecret;
        self.0.expose_secret()
    }
}

impl From<String> for Password {
    fn from(text: String) -> Self {
        Password(text.into())
    }
}

impl From<&str> for Password {
    fn from(text: &str) -> Self {
        Password(text.into())
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password([REDACTED])")
    }
}

impl Serialize for Password {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.expose())
    }
}

pub const PASSWORD_MIN: usize = 10;
pub const PASSWORD_MAX: usize = 200;

/// Checks a new password's length (characters, not bytes).
pub fn check_password(field: &str, password: &Password, errors: &mut Vec<FieldError>) {
    let length = password.expose().chars().count();
    if length < PASSWORD_MIN {
        errors.push(FieldError::new(
            field,
            format!("must be at least {PASSWORD_MIN} characters"),
        ));
    } else if length > PASSWORD_MAX {
        errors.push(FieldError::new(
            field,
            format!("must be at most {PASSWORD_MAX} characters"),
        ));
    }
}

// ---- deployments ----

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

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
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

impl MatrixView {
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

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordDeploymentRequest {
    pub application_id: Uuid,
    pub version_id: Uuid,
    pub environment_id: Uuid,
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

//! One error type for the whole application. REST renders it as RFC 9457 problem+json;
//! server functions carry it to the browser unchanged so forms can show field messages.

use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// A message about one input field, shown next to that field in forms.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// On the wire (REST responses, server-function errors, hydration data) an error is an RFC 9457
/// problem document, so every client sees one shape; see [`ProblemBody`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(into = "ProblemBody", from = "ProblemBody")]
pub enum AppError {
    /// The input could not be read at all (bad JSON, bad id, bad date).
    #[error("{0}")]
    BadRequest(String),
    /// The input was readable but breaks a rule; one entry per offending field.
    #[error("{}", summarize(.0))]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    NotFound(String),
    /// A uniqueness rule; `field` names the input that collides.
    #[error("{message}")]
    Conflict { field: String, message: String },
    #[error("authentication required")]
    Unauthorized,
    /// A failed sign-in; deliberately silent about which part was wrong.
    #[error("invalid username or password")]
    InvalidCredentials,
    /// Slow down; `retry_after_seconds` becomes the `Retry-After` header.
    #[error("{message}")]
    TooManyRequests {
        message: String,
        retry_after_seconds: u64,
    },
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    Forbidden(String),
    /// The method is not allowed on this resource (e.g. editing an immutable deployment).
    #[error("{0}")]
    MethodNotAllowed(String),
    /// Details are logged on the server, never sent.
    #[error("internal error")]
    Internal,
    /// Transport problems between browser and server (only ever built on the client side).
    #[error("{0}")]
    Transport(String),
}

/// Reads naturally: "name is required; Deployment date cannot be in future" (a message that is
/// already a sentence stands alone).
fn summarize(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| {
            if e.message.starts_with(char::is_uppercase) {
                e.message.clone()
            } else {
                format!("{} {}", e.field, e.message)
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

impl AppError {
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Validation(vec![FieldError::new(field, message)])
    }

    pub fn status_code(&self) -> u16 {
        match self {
            AppError::BadRequest(_) => 400,
            AppError::Unauthorized | AppError::InvalidCredentials => 401,
            AppError::TooManyRequests { .. } => 429,
            AppError::Forbidden(_) => 403,
            AppError::NotFound(_) => 404,
            AppError::MethodNotAllowed(_) => 405,
            AppError::Conflict { .. } => 409,
            AppError::PayloadTooLarge(_) => 413,
            AppError::Validation(_) => 422,
            AppError::Internal | AppError::Transport(_) => 500,
        }
    }

    /// Short human title for the problem document.
    pub fn title(&self) -> &'static str {
        match self {
            AppError::BadRequest(_) => "Bad request",
            AppError::Validation(_) => "Validation failed",
            AppError::NotFound(_) => "Not found",
            AppError::MethodNotAllowed(_) => "Method not allowed",
            AppError::Conflict { .. } => "Conflict",
            AppError::Unauthorized | AppError::InvalidCredentials => "Unauthorized",
            AppError::TooManyRequests { .. } => "Too many requests",
            AppError::PayloadTooLarge(_) => "Payload too large",
            AppError::Forbidden(_) => "Forbidden",
            AppError::Internal => "Internal server error",
            AppError::Transport(_) => TRANSPORT_TITLE,
        }
    }

    /// The message a form shows beside `field`, if any.
    pub fn message_for(&self, field: &str) -> Option<String> {
        match self {
            AppError::Validation(errors) => errors
                .iter()
                .find(|e| e.field == field)
                .map(|e| e.message.clone()),
            AppError::Conflict { field: f, message } if f == field => Some(message.clone()),
            _ => None,
        }
    }
}

/// An RFC 9457 problem document: `type`, `title`, `status`, `detail`, plus `errors` (one per
/// field, for 409 and 422) and `retryAfter` (seconds, for 429).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProblemBody {
    #[serde(rename = "type", default = "about_blank")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

fn about_blank() -> String {
    "about:blank".into()
}

impl From<AppError> for ProblemBody {
    fn from(err: AppError) -> Self {
        let errors = match &err {
            AppError::Validation(errors) => Some(errors.clone()),
            AppError::Conflict { field, message } => Some(vec![FieldError::new(field, message)]),
            _ => None,
        };
        let retry_after = match &err {
            AppError::TooManyRequests {
                retry_after_seconds,
                ..
            } => Some(*retry_after_seconds),
            _ => None,
        };
        ProblemBody {
            kind: about_blank(),
            title: err.title().into(),
            status: err.status_code(),
            detail: err.to_string(),
            errors,
            retry_after,
        }
    }
}

/// Reads a problem back into the error it describes (the status decides the variant).
impl From<ProblemBody> for AppError {
    fn from(problem: ProblemBody) -> Self {
        let ProblemBody {
            title,
            status,
            detail,
            errors,
            retry_after,
            ..
        } = problem;
        let errors = errors.unwrap_or_default();
        match status {
            400 => AppError::BadRequest(detail),
            401 if detail == AppError::InvalidCredentials.to_string() => {
                AppError::InvalidCredentials
            }
            401 => AppError::Unauthorized,
            403 => AppError::Forbidden(detail),
            404 => AppError::NotFound(detail),
            405 => AppError::MethodNotAllowed(detail),
            409 => match errors.into_iter().next() {
                Some(FieldError { field, message }) => AppError::Conflict { field, message },
                None => AppError::Conflict {
                    field: String::new(),
                    message: detail,
                },
            },
            413 => AppError::PayloadTooLarge(detail),
            422 if errors.is_empty() => AppError::field("request", detail),
            422 => AppError::Validation(errors),
            429 => AppError::TooManyRequests {
                message: detail,
                retry_after_seconds: retry_after.unwrap_or(1),
            },
            _ if title == TRANSPORT_TITLE => AppError::Transport(detail),
            _ => AppError::Internal,
        }
    }
}

const TRANSPORT_TITLE: &str = "Could not reach the server";

impl FromServerFnError for AppError {
    type Encoder = crate::api::codec::JsonText;

    /// Input the server function could not even read is the caller's mistake (400); anything
    /// else here is a transport failure seen in the browser.
    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(msg)
            | ServerFnErrorErr::MissingArg(msg)
            | ServerFnErrorErr::Deserialization(msg) => AppError::BadRequest(msg),
            ServerFnErrorErr::UnsupportedRequestMethod(msg) => AppError::MethodNotAllowed(msg),
            other => AppError::Transport(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_for_finds_the_field_of_a_validation_error() {
        let err = AppError::Validation(vec![
            FieldError::new("name", "is required"),
            FieldError::new("description", "too long"),
        ]);
        assert_eq!(err.message_for("description").as_deref(), Some("too long"));
        assert_eq!(err.message_for("position"), None);
        assert_eq!(err.status_code(), 422);
    }

    #[test]
    fn every_error_travels_as_a_problem_and_back() {
        for err in [
            AppError::BadRequest("bad".into()),
            AppError::field("name", "is required"),
            AppError::NotFound("gone".into()),
            AppError::Conflict {
                field: "name".into(),
                message: "taken".into(),
            },
            AppError::Unauthorized,
            AppError::InvalidCredentials,
            AppError::TooManyRequests {
                message: "wait".into(),
                retry_after_seconds: 7,
            },
            AppError::PayloadTooLarge("big".into()),
            AppError::Forbidden("no".into()),
            AppError::MethodNotAllowed("no".into()),
            AppError::Internal,
            AppError::Transport("offline".into()),
        ] {
            let json = serde_json::to_value(&err).unwrap();
            assert_eq!(json["status"], err.status_code(), "{json}");
            assert_eq!(json["type"], "about:blank");
            let back: AppError = serde_json::from_value(json).unwrap();
            assert_eq!(back, err);
        }
    }

    #[test]
    fn conflict_names_its_field() {
        let err = AppError::Conflict {
            field: "name".into(),
            message: "an application with this name already exists".into(),
        };
        assert_eq!(err.status_code(), 409);
        assert!(err.message_for("name").is_some());
    }
}

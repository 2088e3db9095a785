//! One error type for the whole application. REST renders it as RFC 9457 problem+json;
//! server functions carry it to the browser unchanged so forms can show field messages.

use leptos::server_fn::codec::JsonEncoding;
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

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
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
            AppError::Internal | AppError::Transport(_) => "Internal server error",
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

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(msg) | ServerFnErrorErr::MissingArg(msg) => {
                AppError::BadRequest(msg)
            }
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
    fn conflict_names_its_field() {
        let err = AppError::Conflict {
            field: "name".into(),
            message: "an application with this name already exists".into(),
        };
        assert_eq!(err.status_code(), 409);
        assert!(err.message_for("name").is_some());
    }
}

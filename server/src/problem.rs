//! RFC 9457 problem+json responses, and the request extractors whose rejections become them.

use app::error::{AppError, FieldError};
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An `AppError` on its way out of a REST handler.
#[derive(Debug)]
pub struct Problem(pub AppError);

impl From<AppError> for Problem {
    fn from(err: AppError) -> Self {
        Problem(err)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let err = self.0;
        let status =
            StatusCode::from_u16(err.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut body = json!({
            "type": "about:blank",
            "title": err.title(),
            "status": status.as_u16(),
            "detail": err.to_string(),
        });
        match &err {
            AppError::Validation(errors) => body["errors"] = json!(errors),
            AppError::Conflict { field, message } => {
                body["errors"] = json!([FieldError::new(field, message)])
            }
            _ => {}
        }
        let mut response = (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body.to_string(),
        )
            .into_response();
        if let AppError::TooManyRequests {
            retry_after_seconds,
            ..
        } = err
        {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, retry_after_seconds.into());
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

/// Pulls "missing field `x`" / "unknown field `x`" out of serde's message so the client learns which field.
fn field_from_serde_message(message: &str) -> Option<FieldError> {
    for (marker, text) in [
        ("missing field `", "is required"),
        ("unknown field `", "is not a known field"),
    ] {
        if let Some(start) = message.find(marker) {
            let rest = &message[start + marker.len()..];
            let name = rest.split('`').next().unwrap_or_default();
            return Some(FieldError::new(name, text));
        }
    }
    None
}

impl From<JsonRejection> for Problem {
    fn from(rejection: JsonRejection) -> Self {
        let text = rejection.body_text();
        Problem(match rejection {
            JsonRejection::JsonDataError(_) => match field_from_serde_message(&text) {
                Some(field) => AppError::Validation(vec![field]),
                None => AppError::Validation(vec![FieldError::new("body", text)]),
            },
            JsonRejection::JsonSyntaxError(_) => AppError::BadRequest(text),
            JsonRejection::MissingJsonContentType(_) => AppError::BadRequest(
                "send the body as JSON with Content-Type: application/json".into(),
            ),
            JsonRejection::BytesRejection(_)
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                AppError::PayloadTooLarge("the request body is too large".into())
            }
            _ => AppError::BadRequest(text),
        })
    }
}

impl From<PathRejection> for Problem {
    fn from(rejection: PathRejection) -> Self {
        Problem(AppError::BadRequest(format!(
            "invalid path parameter: {} (ids are UUIDs)",
            rejection.body_text()
        )))
    }
}

impl From<QueryRejection> for Problem {
    fn from(rejection: QueryRejection) -> Self {
        Problem(AppError::BadRequest(rejection.body_text()))
    }
}

/// JSON object body; bad JSON → 400, wrong shape → 422 naming the field, too large → 413.
/// Every body of this API is an object: serde would also read a struct from an array
/// (`[null, null]` as a patch of two absent fields), so anything else is refused first.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, Problem> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<mime::Mime>().ok())
            .is_some_and(|mime| {
                mime.type_() == "application"
                    && (mime.subtype() == "json" || mime.suffix().is_some_and(|s| s == "json"))
            });
        if !is_json {
            return Err(Problem(AppError::BadRequest(
                "send the body as JSON with Content-Type: application/json".into(),
            )));
        }
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                Problem(if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    AppError::PayloadTooLarge("the request body is too large".into())
                } else {
                    AppError::BadRequest(rejection.body_text())
                })
            })?;
        let first = bytes.iter().find(|byte| !byte.is_ascii_whitespace());
        if first.is_some_and(|byte| *byte != b'{') {
            return Err(Problem(AppError::field("body", "must be a JSON object")));
        }
        let axum::Json(value) = axum::Json::<T>::from_bytes(&bytes)?;
        Ok(ApiJson(value))
    }
}

/// Path parameters; a malformed id → 400.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(Problem))]
pub struct ApiPath<T>(pub T);

/// Query string; malformed values → 400.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(Problem))]
pub struct ApiQuery<T>(pub T);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_name_the_field() {
        let missing = field_from_serde_message(
            "Failed to deserialize the JSON body into the target type: missing field `name` at line 1 column 2",
        );
        assert_eq!(missing, Some(FieldError::new("name", "is required")));
        let unknown = field_from_serde_message("unknown field `nmae`, expected one of `name`");
        assert_eq!(unknown.map(|f| f.field), Some("nmae".to_string()));
        assert_eq!(field_from_serde_message("invalid type: integer"), None);
    }
}

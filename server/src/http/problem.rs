//! RFC 9457 problem+json responses, and the request extractors whose rejections become them.

use app::error::{AppError, FieldError, ProblemBody};
use axum::body::Body;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

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
        // AppError serialises as its problem document (app::error::ProblemBody).
        let body = serde_json::to_vec(&self.0).unwrap_or_default();
        let mut response = Response::new(Body::from(body));
        set_problem_status(&mut response, &ProblemBody::from(self.0));
        response
    }
}

/// Status and headers of a problem response: the problem's status, its content type,
/// `Retry-After` for 429 and a `WWW-Authenticate` challenge for 401.
fn set_problem_status(response: &mut Response, problem: &ProblemBody) {
    *response.status_mut() =
        StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/problem+json"),
    );
    if let Some(seconds) = problem.retry_after {
        headers.insert(header::RETRY_AFTER, seconds.into());
    }
    if problem.status == 401 {
        headers.insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
    }
}

/// Server functions answer every error with 500 (Leptos' default); their body is the error's
/// problem document, so this gives the response the status (and headers) the error means: a
/// wrong password is 401 and a viewer's write 403, as on the REST API, and only real failures
/// count as server errors.
pub async fn server_fn_error_status(request: axum::extract::Request, next: Next) -> Response {
    let response = next.run(request).await;
    if !response
        .headers()
        .contains_key(leptos::server_fn::error::SERVER_FN_ERROR_HEADER)
    {
        return response;
    }
    let (parts, body) = response.into_parts();
    // Error bodies are small; anything past this limit is not one of ours.
    let Ok(bytes) = axum::body::to_bytes(body, 1 << 20).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let mut response = Response::from_parts(parts, Body::from(bytes.clone()));
    if let Ok(problem) = serde_json::from_slice::<ProblemBody>(&bytes) {
        set_problem_status(&mut response, &problem);
    }
    response
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
                AppError::PayloadTooLarge(format!(
                    "the request body is too large: at most 2 MB ({} MB for a deployment or a version's commits)",
                    crate::rest::COMMITS_BODY_LIMIT >> 20
                ))
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

//! The OpenAPI description's shared parts: document info, security schemes and error responses.
//! Paths come from each handler's `#[utoipa::path]`, collected by the router itself, so the
//! document always lists exactly the routes that exist.

use app::error::FieldError;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoResponses, Modify, OpenApi, ToSchema};

/// RFC 9457 problem details, the body of every error response.
#[derive(ToSchema)]
#[schema(as = Problem)]
#[allow(dead_code)]
pub struct ProblemDoc {
    /// A URI reference identifying the problem type.
    r#type: String,
    title: String,
    status: u16,
    /// What went wrong, for a person to act on.
    detail: String,
    /// For validation problems: one entry per offending field.
    errors: Option<Vec<FieldError>>,
}

/// The error answers every endpoint may give.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum Errors {
    #[response(
        status = 400,
        description = "Malformed JSON, id, date or cursor",
        content_type = "application/problem+json"
    )]
    BadRequest(#[to_schema] ProblemDoc),
    #[response(
        status = 401,
        description = "Not signed in / no valid token",
        content_type = "application/problem+json"
    )]
    Unauthorized(#[to_schema] ProblemDoc),
    #[response(
        status = 403,
        description = "The role does not allow this, or a cross-site write",
        content_type = "application/problem+json"
    )]
    Forbidden(#[to_schema] ProblemDoc),
    #[response(
        status = 404,
        description = "No such resource",
        content_type = "application/problem+json"
    )]
    NotFound(#[to_schema] ProblemDoc),
    #[response(
        status = 409,
        description = "A uniqueness rule (the field is named)",
        content_type = "application/problem+json"
    )]
    Conflict(#[to_schema] ProblemDoc),
    #[response(
        status = 413,
        description = "The request body is too large",
        content_type = "application/problem+json"
    )]
    TooLarge(#[to_schema] ProblemDoc),
    #[response(
        status = 422,
        description = "Validation failed (one entry per field)",
        content_type = "application/problem+json"
    )]
    Unprocessable(#[to_schema] ProblemDoc),
    #[response(
        status = 429,
        description = "Slow down (sign-in throttle, live-feed cap); Retry-After says when",
        content_type = "application/problem+json"
    )]
    TooManyRequests(#[to_schema] ProblemDoc),
}

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API token from /settings/tokens"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                app::ssr::caller::SESSION_COOKIE,
            ))),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "deploytrack",
        description = "Which version of which application runs in which environment, since when, who deployed it, and what ran there before."
    ),
    modifiers(&Security),
    security(("token" = []), ("session" = [])),
    components(schemas(ProblemDoc)),
    tags(
        (name = "deployments", description = "The immutable deployment record and the current state"),
        (name = "applications"), (name = "environments"), (name = "versions"),
        (name = "access", description = "Sign-in, API tokens, users"),
        (name = "badges", description = "Status badges' read-only keys (admin)"),
        (name = "views", description = "Saved views: a page and its filters under a name"),
        (name = "teams", description = "Teams: who owns which applications (admin writes)"),
        (name = "drift", description = "Drift: environments that fall further behind another than their policy allows"),
        (name = "hooks", description = "Signed deliveries from GitHub and GitLab"),
        (name = "audit", description = "The append-only audit trail (admins)"),
        (name = "webhooks", description = "Signed notifications to Slack, Teams or any endpoint"),
        (name = "changes", description = "Commits per version, and what changed between versions, environments and deployments"),
        (name = "policy", description = "Freeze windows, locks, promotion rules and the deploy check"),
    )
)]
pub struct ApiDoc;

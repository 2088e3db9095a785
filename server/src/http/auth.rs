//! Authentication at the edge: resolves the caller from a Bearer token or the session cookie,
//! refuses cross-site cookie writes, and lets nothing unauthenticated past except the few public
//! paths. Roles are checked later, in the service.

use std::net::{IpAddr, SocketAddr};

use app::error::{AppError, ProblemBody};
use app::model::{Secret, User};
use app::ssr::caller::{self, ClientAddr, ForwardedHttps};
use app::ssr::service::{RequestOrigin, REQUEST_ORIGIN};
use app::ssr::{Authenticated, Credential, Via};
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use crate::http::problem::Problem;
use crate::oidc::ci::CiTokenVerifier;
use crate::AppState;

/// Paths anyone may reach without signing in.
const PUBLIC_PATHS: &[&str] = &[
    "/healthz",
    "/api/auth/login",
    "/api/openapi.json",
    // Hook deliveries prove themselves with their signature (checked by the service).
    "/api/hooks/github",
    "/api/hooks/gitlab",
    "/login",
    "/rpc/login",
    "/favicon.ico",
    // Signing in through the provider (the callback proves itself with its state and code).
    "/auth/oidc/login",
    "/auth/oidc/callback",
    "/rpc/sign_in_options",
];

/// Built assets (WASM, JS, CSS) are public: the login page needs them. Badges prove themselves
/// with their badge key (checked by the service).
const PUBLIC_PREFIXES: &[&str] = &["/pkg/", "/badges/"];

pub fn is_public(path: &str) -> bool {
    PUBLIC_PATHS.contains(&path) || PUBLIC_PREFIXES.iter().any(|p| path.starts_with(p))
}

/// Paths for programs, not people: unauthenticated, they get 401 instead of the login page.
fn is_machine_path(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/") || path.starts_with("/rpc/") || path == "/metrics"
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// A browser write is same-origin when Sec-Fetch-Site says so, or the Origin matches the Host.
/// Requests without either header do not come from a modern browser page on another site.
fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return matches!(site, "same-origin" | "none");
    }
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        None => true,
        Some(origin) => {
            let origin_host = origin
                .split_once("://")
                .map_or(origin, |(_, rest)| rest)
                .trim_end_matches('/');
            headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|host| host.eq_ignore_ascii_case(origin_host))
        }
    }
}

/// The client's address: the TCP peer, unless the peer is a trusted proxy; then X-Forwarded-For is
/// walked from its right end (the hop nearest to us) past every trusted proxy, and the first
/// address that is not one is the client. Whatever an untrusted client writes there is ignored.
fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[ipnet::IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let mut client = peer;
    let hops = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect::<Vec<_>>();
    for hop in hops.iter().rev() {
        if !is_trusted(&client) {
            break;
        }
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) => client = ip,
            Err(_) => break,
        }
    }
    client
}

/// A trusted proxy's X-Forwarded-Proto (its last value: the nearest proxy's word) says https.
fn forwarded_https(headers: &HeaderMap) -> bool {
    headers
        .get_all("x-forwarded-proto")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .next_back()
        .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
}

fn login_redirect(request: &Request) -> Response {
    let target = request
        .uri()
        .path_and_query()
        .map_or("/", |pq| pq.as_str())
        .to_string();
    let next: String = form_urlencoded::byte_serialize(target.as_bytes()).collect();
    Redirect::to(&format!("/login?next={next}")).into_response()
}

pub async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    if let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<SocketAddr>>() {
        let peer = peer.ip();
        let trusted = &state.trusted_proxies;
        let client = client_address(peer, request.headers(), trusted);
        let peer_is_proxy = trusted.iter().any(|net| net.contains(&peer));
        if peer_is_proxy && forwarded_https(request.headers()) {
            request.extensions_mut().insert(ForwardedHttps);
        }
        request.extensions_mut().insert(ClientAddr(client));
    }
    let client_address = request
        .extensions()
        .get::<ClientAddr>()
        .map(|ClientAddr(ip)| ip.to_string());
    let path = request.uri().path().to_string();
    let headers = request.headers();

    let mut token_name = None;
    let authenticated = if let Some(token) = bearer_token(headers) {
        // A presented but bad token is refused outright, even on public paths' neighbours.
        let verifier = state
            .ci_tokens
            .as_ref()
            .filter(|_| CiTokenVerifier::looks_like_a_jwt(token));
        if let Some(verifier) = verifier {
            let client = client_address.as_deref().unwrap_or("unknown");
            match pipeline(&state, verifier, token, client).await {
                Ok(auth) => {
                    token_name = Some(format!(
                        "CI ID token from {}",
                        auth.pipeline.as_ref().map_or("", |p| p.issuer.as_str())
                    ));
                    if let Err(refused) = pipeline_may_call(request.method(), &path) {
                        return Problem(refused).into_response();
                    }
                    Some(auth)
                }
                Err(response) => return response,
            }
        } else {
            let token = Secret::from(token);
            match state.service.authenticate(Credential::Bearer(&token)).await {
                Ok((user, name)) => {
                    token_name = name;
                    Some(Authenticated {
                        user,
                        via: Via::Token,
                        pipeline: None,
                    })
                }
                Err(err) => return Problem(err).into_response(),
            }
        }
    } else if let Some(secret) = caller::session_secret(headers) {
        match state
            .service
            .authenticate(Credential::Session(&secret))
            .await
        {
            Ok((user, _)) => Some(Authenticated {
                user,
                via: Via::Session,
                pipeline: None,
            }),
            Err(AppError::Unauthorized) => None,
            Err(err) => return Problem(err).into_response(),
        }
    } else {
        None
    };

    let is_write = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if is_write
        && authenticated
            .as_ref()
            .is_some_and(|a| a.via == Via::Session)
        && !same_origin(headers)
    {
        return Problem(AppError::Forbidden(
            "cross-site request refused: writes with a session cookie must come from this site"
                .into(),
        ))
        .into_response();
    }

    match authenticated {
        Some(auth) => {
            request.extensions_mut().insert(auth);
        }
        None if is_public(&path) => {}
        None if is_machine_path(&path) => return Problem(AppError::Unauthorized).into_response(),
        None => return login_redirect(&request),
    }
    // What the service writes into audit entries about this request.
    let origin = RequestOrigin {
        client_address,
        token_name,
    };
    REQUEST_ORIGIN.scope(origin, next.run(request)).await
}

/// The pipeline a CI ID token speaks for, as its (stored) user; a refused token is audited and
/// answered 401 with the reason, which tells the pipeline's author what to fix.
async fn pipeline(
    state: &AppState,
    verifier: &CiTokenVerifier,
    token: &str,
    client: &str,
) -> Result<Authenticated, Response> {
    let identity = match verifier.verify(token).await {
        Ok(identity) => identity,
        Err(refused) => {
            let reason = refused.to_string();
            tracing::info!(client, %reason, "CI ID token refused");
            state
                .service
                .audit_refusal("auth.ci_token_refused", &reason, client)
                .await;
            let mut body = ProblemBody::from(AppError::Unauthorized);
            body.detail = format!("this CI ID token was refused: {reason}");
            let mut response = Problem(AppError::Unauthorized).into_response();
            *response.body_mut() =
                axum::body::Body::from(serde_json::to_vec(&body).unwrap_or_default());
            return Err(response);
        }
    };
    let user = state
        .service
        .pipeline_user(&identity)
        .await
        .map_err(|err| Problem(err).into_response())?;
    if user.disabled_at.is_some() {
        return Err(Problem(AppError::Forbidden(format!(
            "pipelines of {} are disabled here (user {}); ask an admin",
            identity.repository, user.username
        )))
        .into_response());
    }
    Ok(Authenticated {
        user,
        via: Via::Pipeline,
        pipeline: Some(identity),
    })
}

/// A pipeline may read the API and record deployments; nothing else.
fn pipeline_may_call(method: &Method, path: &str) -> Result<(), AppError> {
    let reads = matches!(*method, Method::GET | Method::HEAD)
        && (path == "/api" || path.starts_with("/api/"));
    let records = *method == Method::POST && path == "/api/deployments";
    if reads || records {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "a CI ID token may only record deployments (POST /api/deployments) and read the API"
                .into(),
        ))
    }
}

/// The caller as the middleware found them (with the pipeline's scope, when it is one).
pub struct Caller(pub Authenticated);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Authenticated>()
            .cloned()
            .map(Caller)
            .ok_or(Problem(AppError::Unauthorized))
    }
}

/// The signed-in user, for REST handlers.
pub struct CurrentUser(pub User);

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Authenticated>()
            .map(|auth| CurrentUser(auth.user.clone()))
            .ok_or(Problem(AppError::Unauthorized))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_read_case_insensitively() {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, "bearer dt_abc".parse().unwrap());
        assert_eq!(bearer_token(&headers), Some("dt_abc"));
        headers.insert(header::AUTHORIZATION, "Basic Zm9v".parse().unwrap());
        assert_eq!(bearer_token(&headers), None);
    }

    #[test]
    fn origin_must_match_host() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "127.0.0.1:3000".parse().unwrap());
        headers.insert(header::ORIGIN, "http://127.0.0.1:3000".parse().unwrap());
        assert!(same_origin(&headers));
        headers.insert(header::ORIGIN, "https://evil.example".parse().unwrap());
        assert!(!same_origin(&headers));
        headers.insert("sec-fetch-site", "cross-site".parse().unwrap());
        assert!(!same_origin(&headers));
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            "1.1.1.1, 203.0.113.9, 10.0.0.2".parse().unwrap(),
        );
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        // Via two trusted hops: the first untrusted address from the right is the client
        // (1.1.1.1 was written by the client itself and is not believed).
        assert_eq!(
            client_address(ip("10.0.0.1"), &headers, &trusted),
            ip("203.0.113.9")
        );
        // Straight from an untrusted peer: the header is ignored.
        assert_eq!(
            client_address(ip("198.51.100.4"), &headers, &trusted),
            ip("198.51.100.4")
        );
        assert_eq!(
            client_address(ip("10.0.0.1"), &headers, &[]),
            ip("10.0.0.1")
        );
        headers.insert("x-forwarded-for", "garbage".parse().unwrap());
        assert_eq!(
            client_address(ip("10.0.0.1"), &headers, &trusted),
            ip("10.0.0.1")
        );
        headers.insert("x-forwarded-proto", "http, https".parse().unwrap());
        assert!(forwarded_https(&headers));
    }

    #[test]
    fn only_the_listed_paths_are_public() {
        assert!(is_public("/healthz"));
        assert!(is_public("/pkg/deploytrack.wasm"));
        assert!(!is_public("/api/applications"));
        assert!(!is_public("/rpc/list_applications123"));
        assert!(!is_public("/"));
    }
}

//! The HTTP surface: REST API, server functions, pages, health and metrics, behind the
//! middleware every request passes (metrics, authentication, problem statuses, heavy-response
//! limit, CSP and security headers, tracing).

use std::sync::OnceLock;

use app::{shell, App};
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderName, HeaderValue, Request, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use leptos::nonce::Nonce;
use leptos::prelude::{provide_context, use_context};
use leptos_axum::{
    generate_route_list, handle_server_fns_with_context, AxumRouteListing, LeptosRoutes,
};
use serde_json::json;
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::http::{auth, badges, heavy_responses, metrics, problem, sso};
use crate::{rest, AppState};

/// What every rendered page gets in its Leptos context: the service, the split build's chunk
/// manifest (see [`crate::http::assets::Assets::split_manifest`]), and this response's CSP nonce (leptos_axum
/// provides a random one of its own first; ours replaces it so the inline hydration script
/// carries the nonce the header names).
fn page_context(state: &AppState) -> impl Fn() + Clone + Send + 'static {
    let service = state.service.clone();
    let split_manifest = state.assets.split_manifest();
    move || {
        provide_context(service.clone());
        if let Some(manifest) = &split_manifest {
            provide_context(manifest.clone());
        }
        if let Some(nonce) = use_context::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Nonce>().cloned())
        {
            provide_context(nonce);
        }
    }
}

/// The app's pages, listed once per process. Listing them renders the app with every resource
/// held back process-wide until it ends, and a resource first polled meanwhile never loads
/// (leptos#4773): a page served by another server in the same process (tests run them side by
/// side) would hang for good.
fn app_routes() -> Vec<AxumRouteListing> {
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

pub(crate) fn router(state: AppState) -> Router {
    let provide_service = page_context(&state);
    let options = state.leptos_options.clone();
    let routes = Router::new()
        .merge(rest::routes())
        .route("/healthz", get(health))
        .route("/badges/{application}/{file}", get(badges::badge))
        .route("/auth/oidc/login", get(sso::start))
        .route("/auth/oidc/callback", get(sso::callback))
        .route("/pkg/{version}/{*file}", get(asset))
        .route("/metrics", get(metrics::render))
        .route(
            "/rpc/{*fn_name}",
            get(server_function).post(server_function),
        )
        .leptos_routes_with_context(&state, app_routes(), provide_service, move || {
            shell(options.clone())
        })
        // Unknown paths render the app's own "not found" page, which needs the service too.
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(page_context(&state), shell))
        .layer(middleware::from_fn_with_state(
            heavy_responses::limit(),
            heavy_responses::limit_heavy,
        ))
        .layer(middleware::from_fn(problem::server_fn_error_status))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .layer(middleware::from_fn_with_state(
            state.metrics.clone(),
            metrics::record,
        ));
    with_security_headers(routes)
        .layer(middleware::from_fn(cache_control))
        .layer(compression())
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Pages and API answers compressed as the client accepts: zstd (Chromium and Firefox ask for it;
/// the cheapest per request for the shrink) or else gzip. Not brotli: per request it cost the
/// most by far (figures in benches/README.md, "Figures behind the code"). Live feeds (event
/// streams) are left alone, so each event goes out when it happens; assets come precompressed
/// (brotli and gzip, made once at build time).
fn compression() -> CompressionLayer {
    CompressionLayer::new()
        .quality(CompressionLevel::Precise(4))
        .no_br()
        .no_deflate()
}

/// Assets under their content-named path say so themselves (cached for a year); the favicon may
/// be kept a day; everything else is per user and changes with every record: never stored.
async fn cache_control(request: Request<Body>, next: Next) -> Response {
    let public_file = request.uri().path() == "/favicon.ico";
    let mut response = next.run(request).await;
    if !response.headers().contains_key(header::CACHE_CONTROL) {
        let policy = if public_file && response.status().is_success() {
            "public, max-age=86400"
        } else {
            "no-store"
        };
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    response
}

/// `GET /pkg/{version}/{*file}`: this build's WASM, JS and CSS.
async fn asset(
    State(state): State<AppState>,
    path: axum::extract::Path<(String, String)>,
    request: Request<Body>,
) -> Response {
    state.assets.serve(path, request).await
}

/// Headers on every response: a CSP that allows only the app's own scripts and WASM, no framing,
/// no MIME sniffing, no referrer leaks.
fn with_security_headers(router: Router<AppState>) -> Router<AppState> {
    let set = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
    };
    router
        .layer(middleware::from_fn(content_security_policy))
        .layer(set(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(set(header::REFERRER_POLICY, "same-origin"))
        .layer(set(header::X_FRAME_OPTIONS, "DENY"))
}

/// A fresh nonce per request, given to the page (see [`page_context`]) and named in the CSP:
/// scripts run only from this site or inline with this response's nonce, never injected inline
/// code. (Styles keep 'unsafe-inline': Leptos writes style attributes.)
async fn content_security_policy(mut request: Request<Body>, next: Next) -> Response {
    let nonce = Nonce::new();
    request.extensions_mut().insert(nonce.clone());
    let mut response = next.run(request).await;
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
         frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
    );
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

/// Server functions get the same service as REST, through Leptos context.
async fn server_function(
    State(state): State<AppState>,
    request: Request<Body>,
) -> impl IntoResponse {
    handle_server_fns_with_context(move || provide_context(state.service.clone()), request).await
}

/// 200 when the database answers, 503 otherwise.
async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let reachable = state.service.database_reachable().await;
    let status = if reachable {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if reachable { "ok" } else { "unavailable" },
        "database": { "backend": state.service.backend(), "reachable": reachable },
    });
    (status, Json(body))
}

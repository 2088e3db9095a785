#![forbid(unsafe_code)]
//! Builds the deploytrack web application: REST API, server functions, server-rendered pages.
//! `main.rs` only parses settings and calls [`serve`]; tests call [`build_app`] and bind port 0.

pub mod auth;
pub mod config;
pub mod demo;
mod heavy;
mod live_feeds;
pub mod metrics;
pub mod problem;
pub mod rest;
pub mod seed;
mod serve;
pub mod store;

use std::sync::Arc;

use app::ssr::Service;
use app::{shell, App};
use axum::body::Body;
use axum::extract::{FromRef, State};
use axum::http::{header, HeaderName, HeaderValue, Request, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use leptos::nonce::Nonce;
use leptos::prelude::{provide_context, use_context, LeptosOptions};
use leptos_axum::{generate_route_list, handle_server_fns_with_context, LeptosRoutes};
use serde_json::json;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

pub use config::{Config, LogFormat};

/// Everything a request handler may need; cloned per request (all fields are cheap handles).
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub service: Arc<Service>,
    /// Turns true when the server begins shutting down, so long-lived streams can end.
    pub shutdown: tokio::sync::watch::Receiver<bool>,
    pub metrics: Arc<metrics::Metrics>,
    /// Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed.
    pub trusted_proxies: Arc<Vec<ipnet::IpNet>>,
    pub live_feeds: Arc<live_feeds::LiveFeeds>,
}

/// Connects and migrates the database and returns the service (with the first admin ensured).
async fn connect_service(config: &Config) -> anyhow::Result<Arc<Service>> {
    let store = store::connect(&config.database_url).await?;
    tracing::info!(
        backend = store.backend(),
        database = %store::redact(&config.database_url),
        "database ready"
    );
    report_out_of_range_instants(store.as_ref()).await;
    let service = Arc::new(Service::new(store, config.access_policy()));
    if let Some(generated) = service
        .bootstrap_admin(config.admin_password.as_deref())
        .await
        .map_err(|err| anyhow::anyhow!("creating the first admin user failed: {err}"))?
    {
        // Printed once, on the first start of an empty database; only its hash is stored.
        tracing::warn!(
            "created user 'admin' with one-time password {generated} (sign in and change it, or set DEPLOYTRACK_ADMIN_PASSWORD before the first start)"
        );
    }
    Ok(service)
}

/// Instants outside 1970–9999 could be stored before migration 0007; they are immutable, so they
/// are reported (they still read back, in the form they were written) rather than fixed.
async fn report_out_of_range_instants(store: &dyn app::ssr::Store) {
    match store.out_of_range_instants().await {
        Ok(found) if found.is_empty() => {}
        Ok(found) => {
            for line in &found {
                tracing::error!(
                    "stored instant outside 1970-01-01..9999-12-31 (written before validation; \
                     an admin may retract the record): {line}"
                );
            }
        }
        Err(err) => tracing::warn!(error = %err, "could not check stored instants"),
    }
}

/// `server seed …`: fills the database and exits.
pub async fn seed(config: &Config, args: &seed::SeedArgs) -> anyhow::Result<()> {
    let service = connect_service(config).await?;
    seed::run(&service, args).await
}

/// Connects the database (migrating it) and assembles the router.
pub async fn build_app(config: &Config) -> anyhow::Result<Router> {
    // Tests never signal shutdown; the sender lives as long as the process.
    let (sender, shutdown) = tokio::sync::watch::channel(false);
    std::mem::forget(sender);
    build_app_with_shutdown(config, shutdown).await
}

/// As [`build_app`], with a signal that tells long-lived responses to finish.
pub async fn build_app_with_shutdown(
    config: &Config,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<Router> {
    let leptos_options = LeptosOptions::builder()
        .output_name("deploytrack")
        .site_root(config.site_root.as_str())
        .site_pkg_dir("pkg")
        .site_addr(config.addr)
        .build();
    let service = connect_service(config).await?;
    if config.demo {
        demo::load(&service).await?;
    }
    let state = AppState {
        leptos_options,
        service,
        shutdown,
        metrics: metrics::Metrics::new(),
        trusted_proxies: Arc::new(config.trusted_proxies.clone()),
        live_feeds: live_feeds::LiveFeeds::new(config.live_feeds_per_user),
    };
    Ok(router(state))
}

/// What every rendered page gets in its Leptos context: the service, and this response's CSP
/// nonce (leptos_axum provides a random one of its own first; ours replaces it so the inline
/// hydration script carries the nonce the header names).
fn page_context(service: Arc<Service>) -> impl Fn() + Clone + Send + 'static {
    move || {
        provide_context(service.clone());
        if let Some(nonce) = use_context::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Nonce>().cloned())
        {
            provide_context(nonce);
        }
    }
}

fn router(state: AppState) -> Router {
    let provide_service = page_context(state.service.clone());
    let options = state.leptos_options.clone();
    let routes = Router::new()
        .merge(rest::routes())
        .route("/healthz", get(health))
        .route("/metrics", get(metrics::render))
        .route(
            "/rpc/{*fn_name}",
            get(server_function).post(server_function),
        )
        .leptos_routes_with_context(
            &state,
            generate_route_list(App),
            provide_service,
            move || shell(options.clone()),
        )
        // Unknown paths render the app's own "not found" page, which needs the service too.
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(page_context(state.service.clone()), shell))
        .layer(middleware::from_fn_with_state(
            heavy::limit(),
            heavy::limit_heavy,
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
        .layer(TraceLayer::new_for_http())
        .with_state(state)
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

/// Sets up structured logging; `RUST_LOG` overrides the default levels.
pub fn init_tracing(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Serves until SIGTERM or Ctrl-C, then finishes in-flight requests and exits.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let (stopping, shutdown) = tokio::sync::watch::channel(false);
    let app = build_app_with_shutdown(&config, shutdown).await?;
    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    serve_on(listener, app, &config, async move {
        shutdown_signal().await;
        let _ = stopping.send(true);
    })
    .await;
    tracing::info!("stopped");
    Ok(())
}

/// Serves `app` on an already bound listener until `shutdown` completes (tests bind port 0).
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    app: Router,
    config: &Config,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let header_timeout = std::time::Duration::from_secs(config.header_timeout_seconds.max(1));
    serve::serve_connections(listener, app, header_timeout, shutdown).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}

#![forbid(unsafe_code)]
// Pages are lazy routes: the type of a page view resolved inside its async route nests deeper
// than the default limit in builds whose views are not type-erased (debug, tests).
#![recursion_limit = "256"]
//! The deploytrack server: REST API, server functions, server-rendered pages. This file only
//! composes: start-up and shutdown live in `startup`, HTTP plumbing (routes, middleware,
//! authentication, problem documents, metrics) in `http/`, the REST API in `rest/`, background
//! work (webhook sender, change listener, live feeds) in `background/`, storage in `store/`,
//! the pipeline commands in `cli`, logging in `telemetry`. `main.rs` parses settings and calls [`serve`]; tests call
//! [`build_app`] and bind port 0.

mod background;
pub mod cli;
pub mod config;
pub mod fixtures;
pub mod http;
pub mod oidc;
pub mod rest;
mod startup;
pub mod store;
mod telemetry;

use std::sync::Arc;

use app::ssr::Service;
use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use tokio_util::sync::CancellationToken;

pub use config::{Config, LogFormat};
pub use fixtures::seed;
pub use startup::{build_app, build_app_with_shutdown, seed, serve, serve_on, write_checkpoints};
pub use telemetry::init_tracing;

/// Everything a request handler may need; cloned per request (all fields are cheap handles).
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    /// The built WASM, JS and CSS, under their content-named path.
    pub assets: Arc<http::assets::Assets>,
    pub service: Arc<Service>,
    /// Cancelled when the server begins shutting down, so long-lived streams can end.
    pub shutdown: CancellationToken,
    pub metrics: Arc<http::metrics::Metrics>,
    /// Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed.
    pub trusted_proxies: Arc<Vec<ipnet::IpNet>>,
    pub live_feeds: Arc<background::live_feeds::LiveFeeds>,
    /// Pipelines' CI ID tokens, when issuers are trusted (`DEPLOYTRACK_CI_TOKEN_ISSUERS`).
    pub ci_tokens: Option<Arc<oidc::ci::CiTokenVerifier>>,
    /// Sign-in through an OpenID Connect provider, when set up (`DEPLOYTRACK_OIDC_ISSUER`).
    pub oidc: Option<Arc<oidc::sign_in::OidcSignIn>>,
}

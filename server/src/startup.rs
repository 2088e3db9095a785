//! Start-up and shutdown: connect and migrate the database, build the app, serve until a
//! signal, then let in-flight requests finish. `server seed` shares the first step.

use std::sync::Arc;

use app::ssr::Service;
use axum::Router;
use leptos::prelude::LeptosOptions;
use tokio_util::sync::CancellationToken;

use crate::background::live_feeds;
use crate::fixtures::{demo, seed};
use crate::http::metrics;
use crate::{store, AppState, Config};

/// Connects and migrates the database and returns the service (with the first admin ensured).
async fn connect_service(config: &Config) -> anyhow::Result<Arc<Service>> {
    let change_settings = config.change_settings()?;
    let drift_digest = config.drift_digest()?;
    let store = store::connect_via(&config.database_url, config.listen_url.as_deref()).await?;
    tracing::info!(
        backend = store.backend(),
        database = %store::redact(&config.database_url),
        "database ready"
    );
    report_out_of_range_instants(store.as_ref()).await;
    let service = Arc::new(
        Service::new(store, config.access_policy()?)
            .with_webhook_policy(config.webhook_policy())
            .with_change_settings(change_settings)
            .with_drift_digest(drift_digest)
            .with_checkpoint_every(config.checkpoint_every),
    );
    if let Some(generated) = service
        .bootstrap_admin(config.admin_password.as_ref())
        .await
        .map_err(|err| anyhow::anyhow!("creating the first admin user failed: {err}"))?
    {
        // Printed once, on the first start of an empty database; only its hash is stored.
        tracing::warn!(
            "created user 'admin' with one-time password {} (sign in and change it, or set DEPLOYTRACK_ADMIN_PASSWORD before the first start)",
            generated.expose()
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

/// Writes every missing or stale time-travel checkpoint, and says how many and how long.
pub async fn write_checkpoints(config: &Config) -> anyhow::Result<()> {
    let service = connect_service(config).await?;
    seed::write_all_checkpoints(&service).await
}

/// Connects the database (migrating it) and assembles the router; nothing ever asks it to stop
/// (tests, which drop it).
pub async fn build_app(config: &Config) -> anyhow::Result<Router> {
    build_app_with_shutdown(config, CancellationToken::new()).await
}

/// As [`build_app`]; cancelling `shutdown` tells long-lived responses (live feeds) to finish.
pub async fn build_app_with_shutdown(
    config: &Config,
    shutdown: CancellationToken,
) -> anyhow::Result<Router> {
    let assets = Arc::new(crate::http::assets::Assets::load(&config.site_root));
    let leptos_options = LeptosOptions::builder()
        .output_name("deploytrack")
        .site_root(config.site_root.as_str())
        .site_pkg_dir(assets.pkg_dir())
        .site_addr(config.addr)
        .build();
    let service = connect_service(config).await?;
    if service.database_announces_changes() {
        let url = config.listen_url.as_ref().unwrap_or(&config.database_url);
        crate::background::change_listener::spawn(url.clone(), &service, shutdown.clone());
    }
    if config.demo {
        demo::load(&service).await?;
    }
    // Before serving: what a first answer would read (never the history); a failure here only
    // leaves that read to the first request.
    if let Err(err) = service.warm_up().await {
        tracing::warn!(error = %err, "could not read the matrix ahead of the first request");
    }
    crate::background::notifier::spawn(service.clone(), shutdown.clone());
    crate::background::freeze_announcer::spawn(service.clone(), shutdown.clone());
    crate::background::drift_watcher::spawn(service.clone(), shutdown.clone());
    crate::background::checkpoint_builder::spawn(service.clone(), shutdown.clone());
    let state = AppState {
        leptos_options,
        assets,
        service,
        shutdown,
        metrics: metrics::Metrics::new(),
        trusted_proxies: Arc::new(config.trusted_proxies.clone()),
        live_feeds: live_feeds::LiveFeeds::new(config.live_feeds_per_user),
        ci_tokens: config.ci_token_verifier()?.map(Arc::new),
        oidc: config.oidc_sign_in()?.map(Arc::new),
    };
    Ok(crate::http::router::router(state))
}

/// Serves until SIGTERM or Ctrl-C, then finishes in-flight requests and exits.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let stopping = CancellationToken::new();
    let app = build_app_with_shutdown(&config, stopping.clone()).await?;
    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    serve_on(listener, app, &config, async move {
        shutdown_signal().await;
        stopping.cancel();
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
    crate::http::serve::serve_connections(listener, app, header_timeout, shutdown).await
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

//! Bounds how many memory-heavy requests are worked on at once: pages (the dashboard renders
//! the whole matrix), the current-state matrices, delivery insights and server functions. Beyond the number of
//! cores, more of them at a time add no throughput, only memory (benches/README.md, "Figures
//! behind the code"). The others wait their turn;
//! everything else (history pages, recording, the live feed, assets) is never held back.
//!
//! A permit is held while the response is *produced*, not while it is *sent*: the body is
//! collected first and the permit released before the first byte goes out, so a client that
//! reads slowly (or never) holds only its own socket, not a share of the server.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

/// Marks a response whose body is already produced, or streamed from memory the server keeps
/// anyway (the kept matrix's cells): it is sent as it streams, without a permit and without
/// collecting it first (collecting a large organisation's matrix cost more than building it).
#[derive(Clone, Copy, Debug)]
pub struct ProducedAlready;

/// One permit per core.
pub fn limit() -> Arc<Semaphore> {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    Arc::new(Semaphore::new(cores))
}

fn is_heavy(path: &str) -> bool {
    if path.starts_with("/api/") {
        // Insights over a year hold tens of thousands of deployments while they are measured.
        return path.ends_with("/deployments/current") || path == "/api/insights";
    }
    path.starts_with("/rpc/")
        || !(path.starts_with("/pkg/")
            || path == "/healthz"
            || path == "/metrics"
            || path.contains('.'))
}

/// Middleware: heavy requests hold a permit until their body has been produced (pages render
/// while they stream, so the body is collected), then send it without the permit.
pub async fn limit_heavy(
    State(permits): State<Arc<Semaphore>>,
    request: Request,
    next: Next,
) -> Response {
    if !is_heavy(request.uri().path()) {
        return next.run(request).await;
    }
    let Ok(permit) = permits.acquire_owned().await else {
        // The semaphore is never closed; should it be, serve unbounded rather than fail.
        return next.run(request).await;
    };
    let response = next.run(request).await;
    if response.extensions().get::<ProducedAlready>().is_some() {
        return response;
    }
    let (parts, body) = response.into_parts();
    let collected = axum::body::to_bytes(body, usize::MAX).await;
    drop(permit);
    match collected {
        Ok(bytes) => Response::from_parts(parts, Body::from(bytes)),
        Err(err) => {
            tracing::error!(error = %err, "producing a response body failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_heavy;

    #[test]
    fn pages_matrices_and_server_functions_are_heavy() {
        for path in [
            "/",
            "/deployments",
            "/rpc/current_state123",
            "/api/deployments/current",
            "/api/applications/x/deployments/current",
            "/api/environments/x/deployments/current",
            "/api/insights",
        ] {
            assert!(is_heavy(path), "{path}");
        }
        for path in [
            "/api/deployments",
            "/api/events",
            "/api/deployments.csv",
            "/pkg/deploytrack.wasm",
            "/favicon.ico",
            "/healthz",
            "/metrics",
        ] {
            assert!(!is_heavy(path), "{path}");
        }
    }
}

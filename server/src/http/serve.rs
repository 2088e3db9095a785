//! The connection loop. axum's own `serve` gives hyper no timer, so hyper's header-read timeout
//! never fires and a client that opens a socket and sends nothing (or a header a byte a minute)
//! holds it forever. Here every connection has a deadline for its request headers, which also
//! closes idle keep-alive connections; accepted sockets get TCP_NODELAY; and shutdown stops
//! accepting, lets in-flight requests finish, and waits at most `DRAIN` for them.
//!
//! HTTP/1.1 only: the protocol-sniffing builder (HTTP/1 or cleartext HTTP/2) reads the first
//! bytes with no deadline of its own, which is exactly the idle socket this loop must close.
//! Browsers speak HTTP/2 only over TLS, which a proxy in front terminates.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tower::ServiceExt;

/// How long in-flight requests may take to finish once shutdown has begun.
const DRAIN: Duration = Duration::from_secs(30);

/// Serves `app` on `listener` until `shutdown` completes. Handlers see the peer address as
/// `ConnectInfo<SocketAddr>`, as with axum's `into_make_service_with_connect_info`.
pub async fn serve_connections(
    listener: TcpListener,
    app: Router,
    header_timeout: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!(error = %err, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Without TCP_NODELAY the last small segment of a large response waits for the client's
        // delayed ACK (see benches/README.md, "Figures behind the code").
        if let Err(err) = stream.set_nodelay(true) {
            tracing::debug!(error = %err, "could not set TCP_NODELAY");
        }
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            request
                .extensions_mut()
                .insert(ConnectInfo::<SocketAddr>(peer));
            app.clone().oneshot(request.map(Body::new))
        });
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // Timeouts and resets are the client's business; nothing to report above debug.
            if let Err(err) = connection.await {
                tracing::debug!(error = %err, %peer, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some requests were still running {DRAIN:?} after shutdown began");
    }
}

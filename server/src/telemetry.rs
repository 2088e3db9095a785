//! Logs: structured, to stdout, text or JSON.

use crate::LogFormat;

/// Sets up structured logging; `RUST_LOG` overrides the default levels. Every service entry point
/// and store call is a span at debug level (with the ids it works on); when one is enabled, its
/// end is logged with how long it was busy, inside the request's span, so a slow request can be
/// attributed (see README, Operation).
pub fn init_tracing(format: LogFormat) {
    use tracing_subscriber::fmt::format::FmtSpan;
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_span_events(FmtSpan::CLOSE);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

//! Every setting, from flags or environment variables (`--help` lists them).

use std::net::SocketAddr;

use app::model::Secret;
use clap::{Parser, ValueEnum};

#[derive(Clone, Debug, clap::Subcommand)]
pub enum Command {
    /// Serve the web app and the API (what `deploytrack` does without a command).
    Serve,
    /// Fill the database with a large generated history (benchmarks), then exit.
    Seed(crate::fixtures::seed::SeedArgs),
    /// Record a deployment by names, from a pipeline (DEPLOYTRACK_URL, DEPLOYTRACK_TOKEN).
    Record(crate::cli::RecordArgs),
    /// Ask the deploy policy whether a version may go to an environment now: exit 0 allowed,
    /// 2 blocked (blockers on stdout), 1 on errors (DEPLOYTRACK_URL, DEPLOYTRACK_TOKEN).
    Check(crate::cli::CheckArgs),
    /// Show what runs where (DEPLOYTRACK_URL, DEPLOYTRACK_TOKEN).
    Current(crate::cli::CurrentArgs),
    /// Print the API's OpenAPI 3.1 document (what /api/openapi.json serves), then exit.
    Openapi,
}

/// Reads a secret setting straight into a redacting type.
fn secret(text: &str) -> Result<Secret, std::convert::Infallible> {
    Ok(Secret::from(text))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// deploytrack: which version of which application runs in which environment.
// No Debug: the database URL may carry a password.
#[derive(Clone, Parser)]
#[command(name = "deploytrack", version, about)]
pub struct Config {
    /// Where data lives: sqlite://path/to/file.db (created if missing) or postgres://user:pass@host/db.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://data/deploytrack.db"
    )]
    pub database_url: String,

    /// PostgreSQL only: a direct connection (not through a transaction-mode pooler such as
    /// PgBouncer) for what needs a session of its own — LISTEN for live updates from other
    /// instances, and the migrations' lock. Default: DATABASE_URL.
    #[arg(long, env = "DEPLOYTRACK_LISTEN_URL", hide_env_values = true)]
    pub listen_url: Option<String>,

    /// Address and port to listen on.
    #[arg(long, env = "DEPLOYTRACK_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,

    /// Log line format.
    #[arg(long, env = "DEPLOYTRACK_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Password for the `admin` user created on first start (empty database only). Without it a
    /// random one-time password is generated and printed once to the log.
    #[arg(long, env = "DEPLOYTRACK_ADMIN_PASSWORD", hide_env_values = true, value_parser = secret)]
    pub admin_password: Option<Secret>,

    /// Always mark the session cookie Secure (it is anyway when the request came over https).
    #[arg(long, env = "DEPLOYTRACK_SECURE_COOKIES", default_value_t = false)]
    pub secure_cookies: bool,

    /// Minutes without activity after which a browser session ends.
    #[arg(long, env = "DEPLOYTRACK_SESSION_IDLE_MINUTES", default_value_t = 120)]
    pub session_idle_minutes: i64,

    /// Hours after sign-in at which a browser session ends, however active.
    #[arg(long, env = "DEPLOYTRACK_SESSION_MAX_HOURS", default_value_t = 12)]
    pub session_max_hours: i64,

    /// On an empty database, load a realistic sample (12 applications, 5 environments, a few
    /// hundred deployments over six months) to explore the dashboard.
    #[arg(long, env = "DEPLOYTRACK_DEMO", default_value_t = false)]
    pub demo: bool,

    /// Reverse proxies / load balancers (IP addresses or CIDR ranges, comma-separated) whose
    /// X-Forwarded-For and X-Forwarded-Proto are believed. From any other peer those headers are
    /// ignored: the TCP peer is the client (for the sign-in throttle and logs) and only a direct
    /// https request counts as https.
    #[arg(
        long,
        env = "DEPLOYTRACK_TRUSTED_PROXIES",
        value_delimiter = ',',
        value_parser = parse_network
    )]
    pub trusted_proxies: Vec<ipnet::IpNet>,

    /// Seconds a client may take to send a request's headers (and an idle keep-alive connection
    /// may wait for its next request) before the connection is closed.
    #[arg(long, env = "DEPLOYTRACK_HEADER_TIMEOUT_SECONDS", default_value_t = 30)]
    pub header_timeout_seconds: u64,

    /// Live-update streams (/api/events) one user may hold open at once; more answer 429.
    #[arg(long, env = "DEPLOYTRACK_LIVE_FEEDS_PER_USER", default_value_t = 8)]
    pub live_feeds_per_user: usize,

    /// Let webhooks call loopback and private addresses (refused by default: a webhook must not
    /// become a way into the network the server sits in).
    #[arg(
        long,
        env = "DEPLOYTRACK_WEBHOOK_ALLOW_PRIVATE",
        default_value_t = false
    )]
    pub webhook_allow_private: bool,

    /// The wait before a failed webhook notification's first retry, in milliseconds; each
    /// further retry waits twice as long (at most an hour), for up to a day.
    #[arg(
        long,
        env = "DEPLOYTRACK_WEBHOOK_FIRST_RETRY_MS",
        default_value_t = 30_000
    )]
    pub webhook_first_retry_ms: u64,

    /// Ticket keys in commit titles: a regular expression (Jira-style keys by default).
    #[arg(
        long,
        env = "DEPLOYTRACK_TICKET_PATTERN",
        default_value = app::ssr::service::changes::DEFAULT_TICKET_PATTERN
    )]
    pub ticket_pattern: String,

    /// A ticket's link, with `{key}` for its key, e.g. https://jira.example.com/browse/{key}.
    #[arg(long, env = "DEPLOYTRACK_TICKET_URL")]
    pub ticket_url: Option<String>,

    /// Compare links between two versions: `github`, `gitlab`, or a template with
    /// `{repository}`, `{from}` and `{to}` for a self-hosted forge.
    #[arg(long, env = "DEPLOYTRACK_COMPARE_URL", default_value = "github")]
    pub compare_url: String,

    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Folder with the built site (WASM, JS, CSS, public assets), as produced by cargo-leptos.
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site")]
    pub site_root: String,
}

/// "10.0.0.7" or "10.0.0.0/8" (and the IPv6 spellings).
fn parse_network(value: &str) -> Result<ipnet::IpNet, String> {
    let value = value.trim();
    value
        .parse::<ipnet::IpNet>()
        .or_else(|_| value.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{value:?} is neither an IP address nor a CIDR range"))
}

impl Config {
    pub fn access_policy(&self) -> app::ssr::AccessPolicy {
        app::ssr::AccessPolicy {
            session_idle: chrono::Duration::minutes(self.session_idle_minutes.max(1)),
            session_lifetime: chrono::Duration::hours(self.session_max_hours.max(1)),
            secure_cookies: self.secure_cookies,
            ..Default::default()
        }
    }

    pub fn webhook_policy(&self) -> app::ssr::service::webhooks::WebhookPolicy {
        app::ssr::service::webhooks::WebhookPolicy {
            first_retry: chrono::Duration::milliseconds(self.webhook_first_retry_ms.max(1) as i64),
            allow_private: self.webhook_allow_private,
            ..Default::default()
        }
    }

    /// Ticket keys and compare links; an error names the setting that is wrong.
    pub fn change_settings(&self) -> anyhow::Result<app::ssr::service::changes::ChangeSettings> {
        app::ssr::service::changes::ChangeSettings::new(
            &self.ticket_pattern,
            self.ticket_url.as_deref(),
            &self.compare_url,
        )
        .map_err(|message| {
            anyhow::anyhow!(
                "{message} (DEPLOYTRACK_TICKET_PATTERN, DEPLOYTRACK_TICKET_URL, DEPLOYTRACK_COMPARE_URL)"
            )
        })
    }

    /// The defaults with another database, for tests and tools.
    pub fn for_database(database_url: impl Into<String>) -> Self {
        let mut config = Config::parse_from(["deploytrack"]);
        config.database_url = database_url.into();
        config
    }
}

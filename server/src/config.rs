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
    /// Write every missing or stale time-travel checkpoint now, then exit (a running server
    /// writes them in the background, one at a time, resting in between).
    Checkpoints,
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

    /// Live deployments between two time-travel checkpoints (default: a quarter of the matrix's
    /// cells, at least 500). Tests set a small number so that checkpoints come into play at once.
    #[arg(long, env = "DEPLOYTRACK_CHECKPOINT_EVERY", hide = true)]
    pub checkpoint_every: Option<i64>,

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
    /// Issuers whose CI ID tokens may record deployments (comma-separated, exactly as tokens
    /// name them), e.g. `https://token.actions.githubusercontent.com,https://gitlab.com`.
    #[arg(long, env = "DEPLOYTRACK_CI_TOKEN_ISSUERS", value_delimiter = ',')]
    pub ci_token_issuers: Vec<String>,

    /// The audience CI ID tokens must be for.
    #[arg(
        long,
        env = "DEPLOYTRACK_CI_TOKEN_AUDIENCE",
        default_value = "deploytrack"
    )]
    pub ci_token_audience: String,

    /// Sign-in through this OpenID Connect provider (its issuer URL; needs the client id, secret).
    #[arg(long, env = "DEPLOYTRACK_OIDC_ISSUER")]
    pub oidc_issuer: Option<String>,

    #[arg(long, env = "DEPLOYTRACK_OIDC_CLIENT_ID")]
    pub oidc_client_id: Option<String>,

    #[arg(long, env = "DEPLOYTRACK_OIDC_CLIENT_SECRET", hide_env_values = true, value_parser = secret)]
    pub oidc_client_secret: Option<Secret>,

    /// The provider's name on the login page ("Sign in with …"); by default the issuer's host.
    #[arg(long, env = "DEPLOYTRACK_OIDC_PROVIDER_NAME")]
    pub oidc_provider_name: Option<String>,

    /// Where the provider sends people back: this server's public address + `/auth/oidc/callback`
    /// (by default from DEPLOYTRACK_PUBLIC_URL, else http://DEPLOYTRACK_ADDR).
    #[arg(long, env = "DEPLOYTRACK_OIDC_REDIRECT_URL")]
    pub oidc_redirect_url: Option<String>,

    /// When each team's daily drift digest goes out, local time (`HH:MM`), or `off`.
    #[arg(long, env = "DEPLOYTRACK_DIGEST_AT", default_value = "09:00")]
    pub digest_at: String,

    /// The time zone DEPLOYTRACK_DIGEST_AT is read in (IANA, e.g. `Europe/London`).
    #[arg(long, env = "DEPLOYTRACK_DIGEST_TZ", default_value = "UTC")]
    pub digest_tz: String,

    /// This server's address as browsers see it, e.g. `https://deploytrack.example.com`.
    #[arg(long, env = "DEPLOYTRACK_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Scopes asked of the provider (`openid` is always asked).
    #[arg(
        long,
        env = "DEPLOYTRACK_OIDC_SCOPES",
        default_value = "openid profile email"
    )]
    pub oidc_scopes: String,

    /// The ID token claim that lists a person's groups.
    #[arg(long, env = "DEPLOYTRACK_OIDC_ROLES_CLAIM", default_value = "groups")]
    pub oidc_roles_claim: String,

    /// Groups to roles, highest wins: `deploy-admins=admin,deployers=editor,*=viewer`.
    #[arg(long, env = "DEPLOYTRACK_OIDC_ROLES", default_value = "*=viewer")]
    pub oidc_roles: String,

    /// Issuer URLs may be http:// when they are loopback addresses (tests only).
    #[arg(
        long,
        env = "DEPLOYTRACK_OIDC_ALLOW_HTTP_LOOPBACK",
        default_value_t = false
    )]
    pub oidc_allow_http_loopback: bool,

    /// Seconds before a provider's keys are fetched again when a token names an unknown key.
    #[arg(
        long,
        env = "DEPLOYTRACK_OIDC_KEY_REFETCH_SECONDS",
        default_value_t = 10,
        hide = true
    )]
    pub oidc_key_refetch_seconds: u64,

    /// Whether people may sign in with a password; with `false` only the break-glass admin may.
    #[arg(long, env = "DEPLOYTRACK_PASSWORD_LOGIN", default_value_t = true, action = clap::ArgAction::Set)]
    pub password_login: bool,

    /// The one account that may always sign in with its password.
    #[arg(long, env = "DEPLOYTRACK_BREAK_GLASS_ADMIN", default_value = "admin")]
    pub break_glass_admin: String,

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
    pub fn access_policy(&self) -> anyhow::Result<app::ssr::AccessPolicy> {
        let single_sign_on = self.single_sign_on()?;
        if !self.password_login && single_sign_on.is_none() {
            anyhow::bail!("DEPLOYTRACK_PASSWORD_LOGIN=false needs sign-in through a provider (DEPLOYTRACK_OIDC_ISSUER)");
        }
        Ok(app::ssr::AccessPolicy {
            session_idle: chrono::Duration::minutes(self.session_idle_minutes.max(1)),
            session_lifetime: chrono::Duration::hours(self.session_max_hours.max(1)),
            secure_cookies: self.secure_cookies,
            single_sign_on,
            password_login: self.password_login,
            break_glass_admin: Some(self.break_glass_admin.trim().to_string())
                .filter(|name| !name.is_empty()),
            ..Default::default()
        })
    }

    pub fn webhook_policy(&self) -> app::ssr::service::webhooks::WebhookPolicy {
        app::ssr::service::webhooks::WebhookPolicy {
            first_retry: chrono::Duration::milliseconds(self.webhook_first_retry_ms.max(1) as i64),
            allow_private: self.webhook_allow_private,
            ..Default::default()
        }
    }

    /// When the drift digests go out; an error names the setting that is wrong.
    pub fn drift_digest(&self) -> anyhow::Result<Option<app::ssr::service::drift::DigestSchedule>> {
        if self.digest_at.trim().eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        app::ssr::service::drift::DigestSchedule::parse(&self.digest_at, &self.digest_tz)
            .map(Some)
            .map_err(|message| anyhow::anyhow!("{message}"))
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

    fn issuers(&self, trusted: Vec<String>) -> anyhow::Result<crate::oidc::Issuers> {
        crate::oidc::Issuers::new(
            trusted,
            self.oidc_allow_http_loopback,
            std::time::Duration::from_secs(self.oidc_key_refetch_seconds),
        )
        .map_err(|message| anyhow::anyhow!("{message}"))
    }

    /// The checker of pipelines' ID tokens, when any issuer is trusted.
    pub fn ci_token_verifier(&self) -> anyhow::Result<Option<crate::oidc::ci::CiTokenVerifier>> {
        let issuers: Vec<String> = self
            .ci_token_issuers
            .iter()
            .map(|issuer| issuer.trim().to_string())
            .filter(|issuer| !issuer.is_empty())
            .collect();
        if issuers.is_empty() {
            return Ok(None);
        }
        let issuers = self
            .issuers(issuers)
            .map_err(|err| anyhow::anyhow!("DEPLOYTRACK_CI_TOKEN_ISSUERS: {err}"))?;
        Ok(Some(crate::oidc::ci::CiTokenVerifier::new(
            issuers,
            self.ci_token_audience.clone(),
        )))
    }

    /// Sign-in through the provider, when its issuer is set (with the client's id and secret).
    pub fn oidc_sign_in(&self) -> anyhow::Result<Option<crate::oidc::sign_in::OidcSignIn>> {
        let Some(issuer) = self
            .oidc_issuer
            .as_deref()
            .map(str::trim)
            .filter(|i| !i.is_empty())
        else {
            return Ok(None);
        };
        let (Some(client_id), Some(client_secret)) =
            (&self.oidc_client_id, &self.oidc_client_secret)
        else {
            anyhow::bail!("DEPLOYTRACK_OIDC_ISSUER is set: set DEPLOYTRACK_OIDC_CLIENT_ID and DEPLOYTRACK_OIDC_CLIENT_SECRET too");
        };
        let redirect_url = match (&self.oidc_redirect_url, &self.public_url) {
            (Some(url), _) => url.clone(),
            (None, Some(public)) => format!("{}/auth/oidc/callback", public.trim_end_matches('/')),
            (None, None) => format!("http://{}/auth/oidc/callback", self.addr),
        };
        let issuers = self
            .issuers(vec![issuer.to_string()])
            .map_err(|err| anyhow::anyhow!("DEPLOYTRACK_OIDC_ISSUER: {err}"))?;
        let settings = crate::oidc::sign_in::SignInSettings {
            issuer: issuer.to_string(),
            client_id: client_id.clone(),
            client_secret: client_secret.expose().to_string(),
            redirect_url,
            scopes: self.oidc_scopes.clone(),
            roles_claim: self.oidc_roles_claim.clone(),
        };
        crate::oidc::sign_in::OidcSignIn::new(settings, issuers)
            .map(Some)
            .map_err(|message| anyhow::anyhow!("DEPLOYTRACK_OIDC_REDIRECT_URL: {message}"))
    }

    /// Single sign-on as the service sees it (the provider's name and the role mapping).
    pub fn single_sign_on(&self) -> anyhow::Result<Option<app::ssr::service::SingleSignOn>> {
        let Some(issuer) = self.oidc_issuer.as_deref().filter(|i| !i.trim().is_empty()) else {
            return Ok(None);
        };
        let roles = app::ssr::service::RoleMapping::parse(&self.oidc_roles)
            .map_err(|message| anyhow::anyhow!("DEPLOYTRACK_OIDC_ROLES: {message}"))?;
        let provider_name = self.oidc_provider_name.clone().unwrap_or_else(|| {
            let host = issuer.split("://").nth(1).unwrap_or(issuer);
            host.split('/').next().unwrap_or(host).to_string()
        });
        Ok(Some(app::ssr::service::SingleSignOn {
            provider_name,
            roles,
        }))
    }

    /// The defaults with another database, for tests and tools.
    pub fn for_database(database_url: impl Into<String>) -> Self {
        let mut config = Config::parse_from(["deploytrack"]);
        config.database_url = database_url.into();
        config
    }
}

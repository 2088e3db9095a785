//! Every setting, from flags or environment variables (`--help` lists them).

use std::net::SocketAddr;

use clap::{Parser, ValueEnum};

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

    /// Address and port to listen on.
    #[arg(long, env = "DEPLOYTRACK_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,

    /// Log line format.
    #[arg(long, env = "DEPLOYTRACK_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Folder with the built site (WASM, JS, CSS, public assets), as produced by cargo-leptos.
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site")]
    pub site_root: String,
}

impl Config {
    /// The defaults with another database, for tests and tools.
    pub fn for_database(database_url: impl Into<String>) -> Self {
        let mut config = Config::parse_from(["deploytrack"]);
        config.database_url = database_url.into();
        config
    }
}

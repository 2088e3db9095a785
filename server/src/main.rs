#![forbid(unsafe_code)]

use clap::Parser;
use server::Config;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    server::init_tracing(config.log_format);
    match config.command.clone() {
        Some(server::config::Command::Seed(args)) => server::seed(&config, &args).await,
        None => server::serve(config).await,
    }
}

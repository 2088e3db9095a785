#![deny(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use server::config::Command;
use server::Config;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc's `mi_option_t` (v2 and v3), which libmimalloc-sys does
/// not name.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Hands freed memory back to the OS at once instead of after mimalloc's default delay: the
/// matrix and dashboard build multi-megabyte buffers per request, and kept for reuse they
/// doubled peak RSS for no measurable speed (benches/README.md, "Figures behind the code").
#[allow(unsafe_code)]
fn return_freed_memory_at_once() {
    // SAFETY: sets one integer option, which mimalloc reads on its next purge; no memory is
    // touched and the call is valid at any time.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) }
}

/// Keeps the kernel from backing this process's memory with 2 MB transparent huge pages.
/// mimalloc asks for them on its arenas (`MADV_HUGEPAGE`), and a huge page is resident whole
/// however little of it is in use (figures in benches/README.md, "Figures behind the code").
/// Called before the runtime starts, so nearly nothing has been touched yet; on kernels
/// without the flag it is a no-op.
#[allow(unsafe_code)]
fn no_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: sets one flag on this process's memory descriptor; no memory is touched.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

/// Makes the C heap (only SQLite allocates from it; Rust code uses mimalloc) give freed
/// memory back: allocations of 128 KB or more get their own mapping, freed at once, instead of
/// glibc's threshold rising to 32 MB after the first such free; freed space at the top of a
/// heap is returned from 128 KB; and one arena instead of one per SQLite worker thread. With
/// glibc's defaults SQLite's sorts and scans stayed resident (benches/README.md, "Figures
/// behind the code").
#[allow(unsafe_code)]
fn c_heap_returns_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: sets three of glibc's malloc parameters before any other thread exists; no
    // memory is touched.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 128 * 1024);
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

fn main() -> anyhow::Result<ExitCode> {
    no_transparent_huge_pages();
    c_heap_returns_freed_memory();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(serve_or_run())
}

/// `deploytrack openapi`: the document on stdout, for client generators.
#[allow(clippy::print_stdout)]
fn print_openapi_document() -> anyhow::Result<ExitCode> {
    println!("{}", server::rest::openapi_document().to_pretty_json()?);
    Ok(ExitCode::SUCCESS)
}

async fn serve_or_run() -> anyhow::Result<ExitCode> {
    return_freed_memory_at_once();
    let config = Config::parse();
    // The pipeline commands are clients: their output is for the pipeline's log, not tracing.
    match config.command.clone() {
        Some(Command::Record(args)) => return Ok(server::cli::record(args).await),
        Some(Command::Current(args)) => return Ok(server::cli::current(args).await),
        Some(Command::Check(args)) => return Ok(server::cli::check(args).await),
        Some(Command::Openapi) => return print_openapi_document(),
        _ => {}
    }
    server::init_tracing(config.log_format);
    match config.command.clone() {
        Some(Command::Seed(args)) => server::seed(&config, &args).await?,
        Some(Command::Checkpoints) => server::write_checkpoints(&config).await?,
        _ => server::serve(config).await?,
    }
    Ok(ExitCode::SUCCESS)
}

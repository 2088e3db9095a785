//! The server binary as an operator runs it, seen from the kernel's side.

mod common;

use common::{Backend, ServerProcess, TestDb};

/// Transparent huge pages are off for the server: mimalloc asks for them on its arenas, and a
/// 2 MB page is resident whole however little of it is used (peak RSS 160 MB instead of 136 at
/// a million deployments). The process's memory is the same on either backend: SQLite only.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn the_server_runs_without_transparent_huge_pages() {
    let db = TestDb::new(Backend::Sqlite)
        .await
        .expect("SQLite always runs");
    let server = ServerProcess::start(&db.url).await;
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.pid())).unwrap();
    let thp = status
        .lines()
        .find_map(|line| line.strip_prefix("THP_enabled:"))
        .expect("the kernel reports THP_enabled (Linux 5.0 and later)");
    assert_eq!(thp.trim(), "0", "THP_enabled in /proc/<pid>/status");
}

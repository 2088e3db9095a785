//! `--demo` loads a realistic sample through the service, on either backend, once.

mod common;

use common::{Backend, TestApp};
use serde_json::Value;

async fn demo_loads_a_realistic_sample(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |config| config.demo = true).await else {
        return;
    };
    let stats: Value = app.get("/api/stats").await.json().await.unwrap();
    assert_eq!(stats["applications"], 12);
    assert_eq!(stats["environments"], 5);
    let total: i64 = stats["perEnvironment"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["deployments"].as_i64().unwrap())
        .sum();
    assert!((200..2000).contains(&total), "{total} deployments");
    let matrix: Vec<Value> = app
        .get("/api/deployments/current")
        .await
        .json()
        .await
        .unwrap();
    assert!(
        matrix.len() >= 40,
        "most cells are filled: {}",
        matrix.len()
    );
    assert!(
        matrix.iter().any(|cell| cell["isRollback"] == true),
        "the sample shows a rollback"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_demo_loads_a_realistic_sample() {
    demo_loads_a_realistic_sample(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_demo_loads_a_realistic_sample() {
    demo_loads_a_realistic_sample(Backend::Postgres).await;
}

/// `server seed` (the bulk path) leaves history and the rebuilt current state consistent.
async fn seed_builds_history_and_current_state(backend: Backend) {
    use app::model::DeploymentFilter;
    use app::ssr::PairFilter;
    let Some(db) = common::seeded_db(backend, 4, 3, 300, 6).await else {
        return;
    };
    let store = db.store().await;
    let history = store
        .list_deployments(&DeploymentFilter::default(), None, 1_000)
        .await
        .unwrap();
    assert_eq!(history.len(), 300);
    let counted: i64 = store
        .count_deployments_per_environment()
        .await
        .unwrap()
        .iter()
        .map(|(_, n)| n)
        .sum();
    assert_eq!(
        counted, 300,
        "the rebuilt per-pair counts cover every deployment"
    );
    let current = store.current_states(PairFilter::default()).await.unwrap();
    assert!(
        current.len() <= 12 && current.len() >= 10,
        "{}",
        current.len()
    );
    for cell in &current {
        // History is newest first: a pair's first entry is its current deployment, and the
        // second one's version is the previous version the rollback mark compares with.
        let mut pair_history = history.iter().filter(|d| {
            d.application_id == cell.application_id && d.environment_id == cell.environment_id
        });
        let latest = pair_history.next().unwrap();
        assert_eq!(latest.id, cell.deployment_id);
        assert_eq!(latest.version_identifier, cell.version_identifier);
        assert_eq!(
            pair_history.next().map(|d| d.version_identifier.clone()),
            cell.previous_version.as_ref().map(|(v, _)| v.clone())
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_seed_builds_history_and_current_state() {
    seed_builds_history_and_current_state(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_seed_builds_history_and_current_state() {
    seed_builds_history_and_current_state(Backend::Postgres).await;
}

/// After a bulk load, SQLite's planner statistics are exact (approximate ones, analysis_limit,
/// made a history page at 1M rows sort the whole table), without value samples.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_statistics_after_a_seed_are_exact() {
    let Some(db) = common::seeded_db(Backend::Sqlite, 5, 3, 6_000, 4).await else {
        return;
    };
    // A restart (start-up refreshes stale statistics) must not replace them with estimates.
    drop(db.store().await);
    let url = db.url.replace("sqlite://", "sqlite:");
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap();
    let stat: String = sqlx::query_scalar(
        "SELECT stat FROM sqlite_stat1 WHERE idx = 'idx_deployment_environment'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(stat, "6000 2000", "rows, and rows per environment");
    // ... and without STAT4's value samples, which made SQLite compile a statement again each
    // time it ran with new values (the bulk load analysed, the restart may have too).
    let samples: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_stat4")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(samples, 0, "sqlite_stat4 is emptied after every ANALYZE");
}

/// `deploytrack checkpoints` writes every stale time-travel checkpoint again (a bulk load marks
/// them all), then finds none left to write.
async fn checkpoints_command_writes_stale_ones(backend: Backend) {
    let Some(db) = common::seeded_db(backend, 4, 3, 3_000, 6).await else {
        return;
    };
    db.store()
        .await
        .rebuild_current_deployments()
        .await
        .unwrap();
    let run = || async {
        let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_deploytrack"))
            .arg("checkpoints")
            .env("DATABASE_URL", &db.url)
            .output()
            .await
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        let said = String::from_utf8(output.stdout).unwrap();
        // Its log lines go to stdout too; the answer is the line that starts "wrote".
        let written: usize = (said.lines().find_map(|line| line.strip_prefix("wrote ")))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("unexpected answer: {said}"));
        written
    };
    // 3,000 deployments at 12 pairs: a checkpoint every 500 (the least spacing).
    assert_eq!(run().await, 6, "every stale checkpoint written again");
    assert_eq!(run().await, 0, "none left");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_checkpoints_command_writes_stale_ones() {
    checkpoints_command_writes_stale_ones(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_checkpoints_command_writes_stale_ones() {
    checkpoints_command_writes_stale_ones(Backend::Postgres).await;
}

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

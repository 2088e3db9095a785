//! Acknowledged writes survive a crash: the real server binary records deployments from several
//! clients, is killed with SIGKILL mid-stream, and started again on the same database; every
//! deployment that was answered 201 is there, and the current state agrees with the history.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Backend, ServerProcess, TestApp, TestDb};
use serde_json::{json, Value};

async fn get_json(client: &reqwest::Client, url: String) -> Value {
    let response = client.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn create(client: &reqwest::Client, url: String, body: Value) -> String {
    let response = client.post(url).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    created["id"].as_str().unwrap().to_string()
}

async fn acknowledged_writes_survive_kill_9(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let server = ServerProcess::start(&db.url).await;
    let client = TestApp::bearer_client(&TestApp::admin_token(&server.base, "durability").await);
    let base = server.base.clone();
    let application = create(
        &client,
        format!("{base}/api/applications"),
        json!({"name": "Crashy"}),
    )
    .await;
    let version = create(
        &client,
        format!("{base}/api/applications/{application}/versions"),
        json!({"versionIdentifier": "1.0.0"}),
    )
    .await;
    let environments = [
        create(
            &client,
            format!("{base}/api/environments"),
            json!({"name": "A"}),
        )
        .await,
        create(
            &client,
            format!("{base}/api/environments"),
            json!({"name": "B"}),
        )
        .await,
    ];

    // Eight writers record as fast as they are answered until the server dies.
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut writers = vec![];
    for writer in 0..8 {
        let (client, base, acknowledged) = (client.clone(), base.clone(), acknowledged.clone());
        let (application, version) = (application.clone(), version.clone());
        let environment = environments[writer % 2].clone();
        writers.push(tokio::spawn(async move {
            for n in 0..100_000 {
                let body = json!({"applicationId": application, "versionId": version,
                                  "environmentId": environment,
                                  "deploymentDate": chrono::Utc::now().to_rfc3339(),
                                  "notes": format!("writer {writer} #{n}")});
                let Ok(response) = client
                    .post(format!("{base}/api/deployments"))
                    .json(&body)
                    .send()
                    .await
                else {
                    return;
                };
                if response.status() != 201 {
                    return;
                }
                let Ok(created) = response.json::<Value>().await else {
                    return;
                };
                let id = created["id"].as_str().unwrap().to_string();
                acknowledged.lock().unwrap().push(id);
            }
        }));
    }
    // Killed once writes are flowing: after 50 acknowledgements (or 30 s, which fails below),
    // not after a fixed time; on a loaded CI machine 1.5 s once saw only 19.
    let flowing = std::time::Instant::now();
    while acknowledged.lock().unwrap().len() < 50 && flowing.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill_9();
    for writer in writers {
        writer.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() > 20,
        "only {} writes before the kill",
        acknowledged.len()
    );

    let server = ServerProcess::start(&db.url).await;
    let client = TestApp::bearer_client(&TestApp::admin_token(&server.base, "durability").await);
    let mut stored = std::collections::HashSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!(
            "{}/api/deployments?applicationId={application}&limit=500",
            server.base
        );
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let page = get_json(&client, url).await;
        for item in page["items"].as_array().unwrap() {
            stored.insert(item["id"].as_str().unwrap().to_string());
        }
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    let lost: Vec<_> = acknowledged
        .iter()
        .filter(|id| !stored.contains(*id))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged deployments lost",
        lost.len(),
        acknowledged.len()
    );
    // The maintained current state still names the newest record of each pair.
    let current = get_json(
        &client,
        format!(
            "{}/api/applications/{application}/deployments/current",
            server.base
        ),
    )
    .await;
    for state in current.as_array().unwrap() {
        let environment = state["environment"]["id"].as_str().unwrap();
        let newest = get_json(
            &client,
            format!(
                "{}/api/deployments?applicationId={application}&environmentId={environment}&limit=1",
                server.base
            ),
        )
        .await;
        assert_eq!(state["deploymentId"], newest["items"][0]["id"]);
    }
    eprintln!(
        "{}: {} acknowledged, {} stored, 0 lost",
        db.url.split(':').next().unwrap(),
        acknowledged.len(),
        stored.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_acknowledged_writes_survive_kill_9() {
    acknowledged_writes_survive_kill_9(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_acknowledged_writes_survive_kill_9() {
    acknowledged_writes_survive_kill_9(Backend::Postgres).await;
}

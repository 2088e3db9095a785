//! Several instances on one database: live updates reach a dashboard whichever instance recorded
//! the change (PostgreSQL's LISTEN/NOTIFY; on SQLite, one instance per file, its own channel),
//! and a listener that lost its connection comes back and tells its pages to refetch.

mod common;

use std::time::Duration;

use common::{run_backend, Backend, TestApp};
use futures::StreamExt;
use serde_json::json;

/// How long a test waits for a live update before it fails. Updates arrive within milliseconds;
/// this is a generous deadline for a loaded machine, not the promise to a watching dashboard.
const LIVE: Duration = Duration::from_secs(20);
/// `data:` of an event that asks pages to refetch everything.
const REFETCH: &str = "00000000-0000-0000-0000-000000000000";

/// An open `/api/events` stream, read event by event.
struct Feed {
    body: futures::stream::BoxStream<'static, Vec<u8>>,
    buffer: String,
}

impl Feed {
    async fn open(app: &TestApp, base: &str) -> Feed {
        let response = app
            .client
            .get(format!("{base}/api/events"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        Feed {
            body: response
                .bytes_stream()
                .filter_map(|chunk| async move { chunk.ok().map(|bytes| bytes.to_vec()) })
                .boxed(),
            buffer: String::new(),
        }
    }

    /// The `data:` of the next event within `wait`, or `None`.
    async fn next(&mut self, wait: Duration) -> Option<String> {
        tokio::time::timeout(wait, async {
            loop {
                if let Some(end) = self.buffer.find("\n\n") {
                    let event: String = self.buffer.drain(..end + 2).collect();
                    if let Some(data) = event.lines().find_map(|l| l.strip_prefix("data:")) {
                        return Some(data.trim().to_string());
                    }
                    continue; // a keep-alive comment
                }
                let chunk = self.body.next().await?;
                self.buffer.push_str(&String::from_utf8_lossy(&chunk));
            }
        })
        .await
        .ok()
        .flatten()
    }

    /// Skips refetch requests until an event names a deployment (or `wait` passes).
    async fn next_deployment(&mut self, wait: Duration) -> Option<String> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await {
                Some(data) if data == REFETCH => continue,
                other => return other,
            }
        }
    }
}

/// Records a deployment by names through `base`; returns its id.
async fn record_through(app: &TestApp, base: &str, version: &str) -> String {
    let response = app
        .client
        .post(format!("{base}/api/deployments"))
        .json(&json!({
            "application": "Portal", "version": version, "environment": "PROD",
            "createVersion": true, "deploymentDate": chrono::Utc::now(),
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let body: serde_json::Value = response.json().await.unwrap();
    body["id"].as_str().unwrap().to_string()
}

/// A server with application Portal and environment PROD (`None`: PostgreSQL not configured).
async fn portal_and_prod(backend: Backend) -> Option<TestApp> {
    let app = TestApp::spawn(backend).await?;
    app.create("/api/applications", json!({"name": "Portal"}))
        .await;
    app.create("/api/environments", json!({"name": "PROD"}))
        .await;
    Some(app)
}

/// The instances that share this app's database: on PostgreSQL two more, on SQLite only itself.
async fn instances(app: &TestApp, backend: Backend) -> Vec<String> {
    match backend {
        Backend::Sqlite => vec![app.base.clone()],
        Backend::Postgres => vec![
            app.base.clone(),
            app.second_server().await,
            app.second_server().await,
        ],
    }
}

/// Every instance's feed hears a deployment recorded through every instance, and a catalogue
/// change as a refetch.
async fn live_updates_reach_every_instance(backend: Backend) {
    let Some(app) = portal_and_prod(backend).await else {
        return;
    };
    let bases = instances(&app, backend).await;
    let mut feeds = vec![];
    for base in &bases {
        feeds.push(Feed::open(&app, base).await);
    }
    for (n, recorder) in bases.iter().enumerate() {
        let id = record_through(&app, recorder, &format!("1.{n}.0")).await;
        for (feed, base) in feeds.iter_mut().zip(&bases) {
            assert_eq!(
                feed.next_deployment(LIVE).await.as_deref(),
                Some(id.as_str()),
                "the feed of {base} hears the deployment recorded through {recorder}"
            );
        }
    }
    // Renaming an environment changes the matrix's header: every feed asks for a refetch.
    let environment = app.create("/api/environments", json!({"name": "QA"})).await;
    for feed in &mut feeds {
        let mut heard = None;
        while let Some(data) = feed.next(LIVE).await {
            if data == REFETCH {
                heard = Some(data);
                break;
            }
        }
        assert!(heard.is_some(), "a catalogue change reaches every feed");
    }
    assert!(environment["id"].is_string());
}

/// A retried request that is replayed (same Idempotency-Key) records nothing and announces nothing.
async fn a_replayed_request_announces_nothing(backend: Backend) {
    let Some(app) = portal_and_prod(backend).await else {
        return;
    };
    let mut feed = Feed::open(&app, &app.base).await;
    let body = json!({
        "application": "Portal", "version": "2.0.0", "environment": "PROD", "createVersion": true,
        "deploymentDate": chrono::Utc::now(),
    });
    let send = || {
        app.client
            .post(app.url("/api/deployments"))
            .header("Idempotency-Key", "deploy-42")
            .json(&body)
            .send()
    };
    assert_eq!(send().await.unwrap().status(), 201);
    assert!(feed.next_deployment(LIVE).await.is_some());
    let replay = send().await.unwrap();
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    // Nothing announced the replay: the feed delivers in commit order, so the next deployment it
    // names is one recorded after the replay, not an announcement of the replay itself.
    let later = record_through(&app, &app.base, "2.0.1").await;
    assert_eq!(feed.next_deployment(LIVE).await, Some(later));
}

/// PostgreSQL: when the listening connection is cut, the instance reconnects, tells its feeds to
/// refetch (notifications in between are lost), and hears later changes again.
async fn a_cut_listener_reconnects_and_asks_for_a_refetch(backend: Backend) {
    let Some(app) = portal_and_prod(backend).await else {
        return;
    };
    let mut feed = Feed::open(&app, &app.base).await;
    // Past the catalogue's refetches: everything before this deployment's announcement.
    let before = record_through(&app, &app.base, "2.9.0").await;
    assert_eq!(feed.next_deployment(LIVE).await, Some(before));
    let cut = app
        .raw_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
              WHERE datname = current_database() AND query LIKE 'LISTEN%'",
        )
        .await
        .unwrap();
    assert_eq!(cut, 1, "exactly one listening connection per instance");
    assert_eq!(
        feed.next(LIVE).await.as_deref(),
        Some(REFETCH),
        "after reconnecting, the feed asks pages to refetch"
    );
    let id = record_through(&app, &app.base, "3.0.0").await;
    assert_eq!(feed.next_deployment(LIVE).await, Some(id));
}

for_both_backends!(run_backend;
    live_updates_reach_every_instance,
    a_replayed_request_announces_nothing;
    // SQLite's feed is in-process: there is no listener to cut.
    postgres only: a_cut_listener_reconnects_and_asks_for_a_refetch,
);

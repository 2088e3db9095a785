//! Outbound webhooks against a real local receiver: signed notifications (the test checks the
//! HMAC itself), JSON and Slack bodies, environment filters, retries after a 500, private
//! addresses refused, exactly one delivery with two instances, and delivery after `kill -9`.

mod common;

use std::time::Duration;

use axum::http::HeaderMap;
use common::{
    events_received, run_backend, texts_received, Backend, Receiver, ServerProcess, TestApp, TestDb,
};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

/// Checks `X-Deploytrack-Signature` the way a receiver would, and returns the body as JSON.
fn verified(secret: &str, (headers, body): &(HeaderMap, String)) -> Value {
    let timestamp = headers["x-deploytrack-timestamp"].to_str().unwrap();
    let age = chrono::Utc::now().timestamp() - timestamp.parse::<i64>().unwrap();
    assert!((0..300).contains(&age), "a fresh timestamp");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{body}").as_bytes());
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(
        headers["x-deploytrack-signature"].to_str().unwrap(),
        expected
    );
    assert_eq!(headers["content-type"], "application/json");
    serde_json::from_str(body).unwrap()
}

fn allow_private(config: &mut server::Config) {
    config.webhook_allow_private = true;
    config.webhook_first_retry_ms = 200;
}

async fn spawn(backend: Backend) -> Option<TestApp> {
    TestApp::spawn_with(backend, allow_private).await
}

/// STAGING and PROD, the application Billing with version 1.0.0.
async fn catalogue(app: &TestApp) -> (String, String) {
    let staging = app
        .create("/api/environments", json!({"name": "STAGING"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let prod = app
        .create(
            "/api/environments",
            json!({"name": "PROD", "isProduction": true}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.create("/api/applications", json!({"name": "Billing"}))
        .await;
    (staging, prod)
}

async fn record(app: &TestApp, version: &str, env: &str) -> Value {
    app.create(
        "/api/deployments",
        json!({"application": "Billing", "version": version, "environment": env,
               "createVersion": true, "deploymentDate": "2026-11-30T10:00:00Z"}),
    )
    .await
}

async fn deliveries(app: &TestApp, webhook: &str) -> Vec<Value> {
    let log: Value = app
        .get(&format!("/api/webhooks/{webhook}/deliveries"))
        .await
        .json()
        .await
        .unwrap();
    log.as_array().unwrap().clone()
}

/// The webhook's delivery log once every delivery in it is delivered (polled, up to a minute).
/// A delivered notification is never sent again, so after this nothing more can arrive.
async fn settled_deliveries(app: &TestApp, webhook: &str) -> Vec<Value> {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let log = deliveries(app, webhook).await;
        if log.iter().all(|d| d["status"] == "delivered") {
            return log;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "deliveries still pending after a minute: {log:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn recorded_and_retracted_deployments_are_signed_and_delivered(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let (receiver, url) = Receiver::start().await;
    catalogue(&app).await;
    let webhook = app
        .create(
            "/api/webhooks",
            json!({"url": url, "events": ["deployment.recorded", "deployment.retracted"]}),
        )
        .await;
    let secret = webhook["secret"].as_str().unwrap();
    assert_eq!(webhook["format"], "json");
    let listed: Value = app.get("/api/webhooks").await.json().await.unwrap();
    assert!(
        !listed.to_string().contains(secret),
        "the secret is shown once"
    );

    let deployment = record(&app, "1.0.0", "PROD").await;
    let first = receiver.wait_for(1).await;
    let body = verified(secret, &first[0]);
    assert_eq!(body["event"], "deployment.recorded");
    assert_eq!(body["deployment"]["id"], deployment["id"]);
    assert_eq!(body["deployment"]["environment"]["name"], "PROD");
    assert_eq!(first[0].0["x-deploytrack-event"], "deployment.recorded");

    let retracted = app
        .client
        .delete(app.url(&format!(
            "/api/deployments/{}",
            deployment["id"].as_str().unwrap()
        )))
        .json(&json!({"reason": "wrong environment"}))
        .send()
        .await
        .unwrap();
    assert_eq!(retracted.status(), 200);
    let both = receiver.wait_for(2).await;
    let body = verified(secret, &both[1]);
    assert_eq!(body["event"], "deployment.retracted");
    assert_eq!(body["deployment"]["deleteReason"], "wrong environment");

    let id = webhook["id"].as_str().unwrap();
    let log = settled_deliveries(&app, id).await;
    assert_eq!(log.len(), 2);
    assert!(log
        .iter()
        .all(|d| d["status"] == "delivered" && d["lastStatus"] == 204));

    // "Send test" and "redeliver" queue new notifications.
    let test = app
        .post_json(&format!("/api/webhooks/{id}/test"), json!({}))
        .await;
    assert_eq!(test.status(), 202);
    let again = app
        .post_json(
            &format!(
                "/api/webhooks/{id}/deliveries/{}/redeliver",
                log[1]["id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    assert_eq!(again.status(), 202);
    let four = receiver.wait_for(4).await;
    let events: Vec<Value> = four[2..]
        .iter()
        .map(|r| verified(secret, r)["event"].clone())
        .collect();
    assert!(events.contains(&json!("ping")));
    assert!(events.contains(&json!("deployment.recorded")));
}

async fn slack_bodies_and_environment_filters(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let (receiver, url) = Receiver::start().await;
    let (_, prod) = catalogue(&app).await;
    let webhook = app
        .create(
            "/api/webhooks",
            json!({"url": url, "events": ["deployment.recorded"], "environmentIds": [prod],
                   "format": "slack"}),
        )
        .await;
    record(&app, "1.0.0", "STAGING").await;
    record(&app, "1.1.0", "PROD").await;
    let received = receiver.wait_for(1).await;
    let body = verified(webhook["secret"].as_str().unwrap(), &received[0]);
    assert_eq!(
        body,
        json!({"text": "Billing 1.1.0 deployed to PROD by admin at 2026-11-30 10:00 UTC"})
    );
    // Notifications are queued with the deployment itself: once the log is settled, nothing
    // for STAGING can still be on its way.
    let log = settled_deliveries(&app, webhook["id"].as_str().unwrap()).await;
    assert_eq!(log.len(), 1, "STAGING is filtered out: {log:?}");
    assert_eq!(
        receiver.received.lock().unwrap().len(),
        1,
        "STAGING is filtered out"
    );
}

async fn a_failing_receiver_is_retried(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let (receiver, url) = Receiver::start().await;
    *receiver.failures.lock().unwrap() = 2;
    catalogue(&app).await;
    let webhook = app
        .create(
            "/api/webhooks",
            json!({"url": url, "events": ["deployment.recorded"]}),
        )
        .await;
    record(&app, "1.0.0", "PROD").await;
    let received = receiver.wait_for(3).await;
    let ids: Vec<&str> = received
        .iter()
        .map(|(h, _)| h["x-deploytrack-delivery"].to_str().unwrap())
        .collect();
    assert!(
        ids.windows(2).all(|w| w[0] == w[1]),
        "one notification, retried"
    );
    let id = webhook["id"].as_str().unwrap();
    for _ in 0..50 {
        if deliveries(&app, id).await[0]["status"] == "delivered" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let log = deliveries(&app, id).await;
    assert_eq!(log[0]["status"], "delivered");
    assert_eq!(log[0]["attempts"], 3);
}

async fn private_addresses_and_bad_input_are_refused(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    catalogue(&app).await;
    for (body, field) in [
        (
            json!({"url": "http://127.0.0.1:9/hook", "events": ["deployment.recorded"]}),
            "url",
        ),
        (
            json!({"url": "http://169.254.169.254/latest", "events": ["deployment.recorded"]}),
            "url",
        ),
        (
            json!({"url": "ftp://example.com/", "events": ["deployment.recorded"]}),
            "url",
        ),
        (
            json!({"url": "https://u:p@example.com/", "events": ["deployment.recorded"]}),
            "url",
        ),
        (
            json!({"url": "https://example.com/", "events": []}),
            "events",
        ),
        (
            json!({"url": "https://example.com/", "events": ["deployment.exploded"]}),
            "events",
        ),
        (
            json!({"url": "https://example.com/", "events": ["deployment.recorded"], "format": "xml"}),
            "format",
        ),
        (
            json!({"url": format!("https://example.com/{}", "a".repeat(100_000)), "events": ["deployment.recorded"]}),
            "url",
        ),
        (
            json!({"url": "https://example.com/", "events": ["deployment.recorded"],
                "environmentIds": ["0190a0a0-0000-7000-8000-000000000000"]}),
            "environmentIds",
        ),
    ] {
        let response = app.post_json("/api/webhooks", body.clone()).await;
        assert_eq!(response.status(), 422, "{body}");
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    // A name is checked where it resolves: localhost is loopback, so nothing is sent.
    let (receiver, url) = Receiver::start().await;
    let port = url.split(':').nth(2).unwrap().split('/').next().unwrap();
    let webhook = app
        .create(
            "/api/webhooks",
            json!({"url": format!("http://localhost:{port}/hook"), "events": ["deployment.recorded"]}),
        )
        .await;
    record(&app, "1.0.0", "PROD").await;
    let id = webhook["id"].as_str().unwrap();
    let mut log = vec![];
    for _ in 0..50 {
        log = deliveries(&app, id).await;
        if log.first().is_some_and(|d| !d["lastError"].is_null()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        log[0]["lastError"]
            .as_str()
            .unwrap()
            .contains("private address"),
        "{log:?}"
    );
    assert!(receiver.received.lock().unwrap().is_empty());
    // Viewers and editors cannot see or add webhooks.
    let editor = app.signed_in_as("ed", "editor").await;
    let listed = editor.get(app.url("/api/webhooks")).send().await.unwrap();
    assert_eq!(listed.status(), 403);
}

async fn two_instances_deliver_each_notification_once(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let second = app.second_server_with(allow_private).await;
    let (receiver, url) = Receiver::start().await;
    catalogue(&app).await;
    let webhook = app
        .create(
            "/api/webhooks",
            json!({"url": url, "events": ["deployment.recorded"]}),
        )
        .await;
    let webhook_id = webhook["id"].as_str().unwrap().to_string();
    let second_client = TestApp::bearer_client(&app.admin_token);
    for n in 0..20 {
        let (client, base) = if n % 2 == 0 {
            (&app.client, app.base.as_str())
        } else {
            (&second_client, second.as_str())
        };
        let response = client
            .post(format!("{base}/api/deployments"))
            .json(
                &json!({"application": "Billing", "version": format!("1.0.{n}"),
                          "environment": "PROD", "createVersion": true,
                          "deploymentDate": "2026-11-30T10:00:00Z"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
    }
    receiver.wait_for(20).await;
    // Once every delivery is marked delivered, no instance sends it again: a duplicate would
    // have arrived by then.
    assert_eq!(settled_deliveries(&app, &webhook_id).await.len(), 20);
    let received = receiver.received.lock().unwrap().clone();
    let mut ids: Vec<&str> = received
        .iter()
        .map(|(h, _)| h["x-deploytrack-delivery"].to_str().unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(
        (received.len(), ids.len()),
        (20, 20),
        "each notification exactly once"
    );
}

/// The server binary with webhooks allowed to reach the local receiver, retrying quickly.
async fn server_process(database_url: &str) -> ServerProcess {
    let settings = [
        ("DEPLOYTRACK_WEBHOOK_ALLOW_PRIVATE", "true"),
        ("DEPLOYTRACK_WEBHOOK_FIRST_RETRY_MS", "300"),
    ];
    ServerProcess::start_with(database_url, &settings).await
}

async fn a_pending_notification_survives_kill_9(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    // The receiver's port is chosen now but nothing listens on it yet.
    let parked = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = parked.local_addr().unwrap();
    drop(parked);
    let url = format!("http://{address}/hook");

    let server = server_process(&db.url).await;
    let token = TestApp::admin_token(&server.base, "ops").await;
    let client = TestApp::bearer_client(&token);
    let post = |path: &'static str, body: Value| {
        let (client, base) = (client.clone(), server.base.clone());
        async move {
            let response = client
                .post(format!("{base}{path}"))
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 201, "{path}");
        }
    };
    post("/api/environments", json!({"name": "PROD"})).await;
    post("/api/applications", json!({"name": "Billing"})).await;
    post(
        "/api/webhooks",
        json!({"url": url, "events": ["deployment.recorded"]}),
    )
    .await;
    post(
        "/api/deployments",
        json!({"application": "Billing", "version": "1.0.0", "environment": "PROD",
               "createVersion": true, "deploymentDate": "2026-11-30T10:00:00Z"}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await; // a refused attempt or two
    server.kill_9();

    let receiver = Receiver::default();
    receiver.serve(tokio::net::TcpListener::bind(address).await.unwrap());
    let _restarted = server_process(&db.url).await;
    let received = receiver.wait_for(1).await;
    let body: Value = serde_json::from_str(&received[0].1).unwrap();
    assert_eq!(body["event"], "deployment.recorded");
    assert_eq!(body["deployment"]["version"]["versionIdentifier"], "1.0.0");
}

const POLICY_EVENTS: [&str; 5] = [
    "deployment.policy_violated",
    "freeze.started",
    "freeze.ended",
    "lock.created",
    "lock.released",
];

/// With two instances announcing, a freeze's start and end, a lock's creation and release and
/// a deployment through a freeze are each notified exactly once (issue 35).
async fn policy_events_are_sent_once_by_two_instances(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let _second = app.second_server_with(allow_private).await;
    let (receiver, url) = Receiver::start().await;
    let (staging, prod) = catalogue(&app).await;
    let webhook = app
        .create(
            "/api/webhooks",
            json!({"url": url, "events": POLICY_EVENTS}),
        )
        .await;
    let secret = webhook["secret"].as_str().unwrap().to_string();
    let now = chrono::Utc::now();
    let at = |seconds: i64| (now + chrono::Duration::seconds(seconds)).to_rfc3339();
    app.create(
        "/api/freezes",
        json!({"name": "Short freeze", "environmentIds": [prod], "startsAt": at(2), "endsAt": at(4)}),
    )
    .await;
    let lock = app
        .create(
            "/api/locks",
            json!({"environmentId": staging, "reason": "load test"}),
        )
        .await;
    let released = app
        .client
        .delete(app.url(&format!("/api/locks/{}", lock["id"].as_str().unwrap())))
        .send()
        .await
        .unwrap();
    assert_eq!(released.status(), 204);
    // Both instances look every 5 s: wait (to a deadline) for the short freeze's start and end.
    wait_for_events(&receiver, &["freeze.ended", "freeze.started"]).await;
    app.create(
        "/api/freezes",
        json!({"name": "Now", "environmentIds": [prod], "startsAt": at(-60), "endsAt": at(3600)}),
    )
    .await;
    // Deployed now, inside the second freeze (policy is judged at the deployment's date).
    app.create(
        "/api/deployments",
        json!({"application": "Billing", "version": "1.0.0", "environment": "PROD",
               "createVersion": true, "deploymentDate": chrono::Utc::now().to_rfc3339()}),
    )
    .await;
    for _ in 0..100 {
        if receiver.received.lock().unwrap().len() >= 6 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let received = receiver.received.lock().unwrap().clone();
    assert_eq!(received.len(), 6, "{:?}", events_received(&receiver));
    assert_eq!(
        settled_deliveries(&app, webhook["id"].as_str().unwrap())
            .await
            .len(),
        6
    );
    assert_eq!(
        events_received(&receiver),
        [
            "deployment.policy_violated",
            "freeze.ended",
            "freeze.started",
            "freeze.started",
            "lock.created",
            "lock.released",
        ]
    );
    for delivery in &received {
        let body = verified(&secret, delivery);
        match body["event"].as_str().unwrap() {
            "freeze.started" | "freeze.ended" => {
                assert_eq!(body["environments"][0], "PROD", "{body}");
                assert!(body["occurrence"]["startsAt"].is_string(), "{body}");
            }
            "lock.created" | "lock.released" => assert_eq!(body["lock"]["reason"], "load test"),
            _ => assert_eq!(body["deployment"]["policyViolations"][0]["type"], "freeze"),
        }
    }
}

/// Polls (to a minute) until each of `wanted` is among the events received.
async fn wait_for_events(receiver: &Receiver, wanted: &[&str]) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let events = events_received(receiver);
        if wanted.iter().all(|w| events.iter().any(|e| e == w)) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "waited a minute for {wanted:?}, got {events:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A freeze that starts and ends while no instance runs (killed with -9) is announced once when
/// one comes back.
async fn freeze_events_survive_kill_9(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let (receiver, url) = Receiver::start().await;
    let server = server_process(&db.url).await;
    let token = TestApp::admin_token(&server.base, "ops").await;
    let client = TestApp::bearer_client(&token);
    let post = |path: String, body: Value| {
        let (client, base) = (client.clone(), server.base.clone());
        async move {
            let response = client
                .post(format!("{base}{path}"))
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 201, "{path}");
        }
    };
    post(
        "/api/environments".into(),
        json!({"name": "PROD", "isProduction": true}),
    )
    .await;
    post(
        "/api/webhooks".into(),
        json!({"url": url, "events": ["freeze.started", "freeze.ended"], "format": "slack"}),
    )
    .await;
    let now = chrono::Utc::now();
    let at = |seconds: i64| (now + chrono::Duration::seconds(seconds)).to_rfc3339();
    post(
        "/api/freezes".into(),
        json!({"name": "Unseen", "startsAt": at(2), "endsAt": at(3)}),
    )
    .await;
    server.kill_9();
    // The freeze starts and ends while nothing runs (the clock has to pass its end).
    let ended = now + chrono::Duration::seconds(3);
    while chrono::Utc::now() <= ended {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let restarted = server_process(&db.url).await;
    receiver.wait_for(2).await;
    // A probe only a later round of looking can announce (it starts after being created): once
    // it arrives, that round has looked at "Unseen" again, and must have added nothing.
    let probe_start = (chrono::Utc::now() + chrono::Duration::seconds(1)).to_rfc3339();
    let response = TestApp::bearer_client(&token)
        .post(format!("{}/api/freezes", restarted.base))
        .json(&json!({"name": "Probe", "startsAt": probe_start, "endsAt": at(3600)}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    receiver.wait_for(3).await;
    assert_eq!(
        events_received(&receiver),
        ["freeze.ended", "freeze.started", "freeze.started"]
    );
    let texts = texts_received(&receiver);
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("Freeze started: Unseen (PROD)")),
        "{texts:?}"
    );
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("Freeze ended: Unseen (PROD)")),
        "{texts:?}"
    );
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("Freeze started: Probe (PROD)")),
        "{texts:?}"
    );
}

for_both_backends!(run_backend;
    recorded_and_retracted_deployments_are_signed_and_delivered,
    slack_bodies_and_environment_filters,
    a_failing_receiver_is_retried,
    private_addresses_and_bad_input_are_refused,
    two_instances_deliver_each_notification_once,
    a_pending_notification_survives_kill_9,
    policy_events_are_sent_once_by_two_instances,
    freeze_events_survive_kill_9,
);

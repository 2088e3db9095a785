//! Drift (issue 38) on both backends: breaches and resolutions worked out from hand-built
//! histories (back-dated deployments and retractions included), the policy's hostile input,
//! `drift.breached` / `drift.resolved` exactly once with two instances and across `kill -9`, and
//! each team's digest at 09:30 Europe/London on the days the clocks change.

mod common;

use std::time::Duration as StdDuration;

use app::ssr::service::drift::DigestSchedule;
use app::ssr::{AccessPolicy, Service};
use chrono::{DateTime, Duration, Utc};
use common::{
    events_received, run_app, run_backend, texts_received, Backend, Receiver, ServerProcess,
    TestApp, TestDb,
};
use serde_json::{json, Value};

fn days_ago(days: i64) -> String {
    (Utc::now() - Duration::days(days)).to_rfc3339()
}

async fn record(
    app: &TestApp,
    application: &str,
    environment: &str,
    version: &str,
    days: i64,
) -> Value {
    app.create(
        "/api/deployments",
        json!({"application": application, "environment": environment, "version": version,
               "createVersion": true, "deploymentDate": days_ago(days)}),
    )
    .await
}

/// STAGING and PROD; answers PROD's id.
async fn environments(app: &TestApp) -> String {
    app.create("/api/environments", json!({"name": "STAGING"}))
        .await;
    let prod = app
        .create(
            "/api/environments",
            json!({"name": "PROD", "isProduction": true}),
        )
        .await;
    prod["id"].as_str().unwrap().to_string()
}

async fn drift(app: &TestApp, query: &str) -> Vec<Value> {
    let response = app.get(&format!("/api/drift{query}")).await;
    assert_eq!(response.status(), 200);
    let list: Value = response.json().await.unwrap();
    list["items"].as_array().unwrap().clone()
}

/// Polls GET /api/drift (to 20 s) until it lists exactly `applications`.
async fn drift_settles_on(app: &TestApp, applications: &[&str]) -> Vec<Value> {
    let deadline = std::time::Instant::now() + StdDuration::from_secs(20);
    loop {
        let listed = drift(app, "").await;
        let mut names: Vec<&str> = listed
            .iter()
            .map(|b| b["application"]["name"].as_str().unwrap())
            .collect();
        names.sort();
        if names == applications {
            return listed;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "drift lists {names:?}, not {applications:?}"
        );
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
}

fn days_behind(breach: &Value) -> i64 {
    let since: DateTime<Utc> = breach["since"].as_str().unwrap().parse().unwrap();
    (Utc::now() - since).num_days()
}

async fn put_policy(app: &TestApp, environment: &str, body: Value) -> reqwest::Response {
    app.client
        .put(app.url(&format!("/api/environments/{environment}/drift-policy")))
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// PROD promises to be at most 14 days and 3 versions behind STAGING.
async fn breaches_follow_hand_built_histories(app: TestApp) {
    let prod = environments(&app).await;
    for name in ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"] {
        app.create("/api/applications", json!({"name": name})).await;
    }
    // alpha: STAGING moved on 30 days ago, rolled back 25 days ago, moved on again 20 days ago;
    // PROD still runs 1.0.0. Behind since the latest move (20 days): a breach of the lag.
    record(&app, "alpha", "PROD", "1.0.0", 40).await;
    record(&app, "alpha", "STAGING", "1.0.0", 41).await;
    record(&app, "alpha", "STAGING", "1.1.0", 30).await;
    record(&app, "alpha", "STAGING", "1.0.0", 25).await;
    record(&app, "alpha", "STAGING", "1.2.0", 20).await;
    // bravo: 5 days and one version behind: within the policy.
    record(&app, "bravo", "PROD", "2.0.0", 10).await;
    record(&app, "bravo", "STAGING", "2.1.0", 5).await;
    // charlie: only a day behind, but four versions: a breach of the count.
    record(&app, "charlie", "PROD", "3.0.0", 3).await;
    for (version, days) in [("3.1.0", 2), ("3.2.0", 2), ("3.3.0", 1), ("3.4.0", 1)] {
        record(&app, "charlie", "STAGING", version, days).await;
    }
    // delta: STAGING's newer version is recorded last but back-dated 20 days.
    record(&app, "delta", "PROD", "4.0.0", 30).await;
    record(&app, "delta", "STAGING", "4.1.0", 20).await;
    // echo: PROD ahead of STAGING is not behind.
    record(&app, "echo", "PROD", "5.1.0", 30).await;
    record(&app, "echo", "STAGING", "5.0.0", 40).await;
    // foxtrot: behind for 20 days, until STAGING's newer deployment is retracted.
    record(&app, "foxtrot", "STAGING", "6.0.0", 50).await;
    record(&app, "foxtrot", "PROD", "6.0.0", 45).await;
    let mistaken = record(&app, "foxtrot", "STAGING", "6.1.0", 20).await;

    let response = put_policy(
        &app,
        &prod,
        json!({"comparedTo": "staging", "maxLag": "P14D", "maxVersionsBehind": 3}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let policy: Value = response.json().await.unwrap();
    assert_eq!(policy["maxLag"], "P14D");
    assert_eq!(policy["maxVersionsBehind"], 3);

    // Setting the policy evaluates at once.
    let listed = drift_settles_on(&app, &["alpha", "charlie", "delta", "foxtrot"]).await;
    let by_name = |name: &str| {
        listed
            .iter()
            .find(|b| b["application"]["name"] == name)
            .unwrap()
            .clone()
    };
    let alpha = by_name("alpha");
    assert_eq!(alpha["environment"]["name"], "PROD");
    assert_eq!(alpha["comparedTo"]["name"], "STAGING");
    assert_eq!(
        (alpha["version"].as_str(), alpha["comparedVersion"].as_str()),
        (Some("1.0.0"), Some("1.2.0"))
    );
    assert_eq!(alpha["versionsBehind"], 2);
    assert_eq!(days_behind(&alpha), 20);
    let charlie = by_name("charlie");
    assert_eq!(charlie["versionsBehind"], 4);
    assert_eq!(days_behind(&charlie), 2);
    assert_eq!(days_behind(&by_name("delta")), 20);
    assert_eq!(by_name("foxtrot")["versionsBehind"], 1);

    // The retraction ends foxtrot's breach; PROD catching up ends alpha's.
    let retracted = app
        .client
        .delete(app.url(&format!(
            "/api/deployments/{}",
            mistaken["id"].as_str().unwrap()
        )))
        .json(&json!({"reason": "never reached staging"}))
        .send()
        .await
        .unwrap();
    assert_eq!(retracted.status(), 200);
    record(&app, "alpha", "PROD", "1.2.0", 0).await;
    drift_settles_on(&app, &["charlie", "delta"]).await;

    // By team: delta is the payments team's.
    app.create("/api/teams", json!({"name": "payments"})).await;
    let delta_app = app
        .get("/api/applications")
        .await
        .json::<Vec<Value>>()
        .await
        .unwrap();
    let delta_id = delta_app.iter().find(|a| a["name"] == "delta").unwrap()["id"].clone();
    let patched = app
        .patch_json(
            &format!("/api/applications/{}", delta_id.as_str().unwrap()),
            json!({"team": "payments"}),
        )
        .await;
    assert_eq!(patched.status(), 200);
    let payments = drift(&app, "?team=Payments").await;
    assert_eq!(payments.len(), 1);
    assert_eq!(payments[0]["team"]["name"], "payments");
    let unknown = app.get("/api/drift?team=nobody").await;
    assert_eq!(unknown.status(), 422);

    // Removing the policy resolves everything.
    let removed = app
        .client
        .delete(app.url(&format!("/api/environments/{prod}/drift-policy")))
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 204);
    assert!(drift(&app, "").await.is_empty());
    assert_eq!(
        app.get(&format!("/api/environments/{prod}/drift-policy"))
            .await
            .status(),
        404
    );

    // Every change is audited.
    let audit: Value = app
        .get("/api/audit?action=drift_policy.set")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(audit["items"].as_array().unwrap().len(), 1, "{audit}");
    let audit: Value = app
        .get("/api/audit?action=drift_policy.deleted")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(audit["items"].as_array().unwrap().len(), 1, "{audit}");
}

/// Hostile and mistaken policies are refused with the field and the reason; nothing is stored.
async fn policies_refuse_bad_input(app: TestApp) {
    let prod = environments(&app).await;
    let huge = "x".repeat(100_000);
    let cases = [
        (json!({"comparedTo": "PROD", "maxLag": "P1D"}), "comparedTo"),
        (
            json!({"comparedTo": "nowhere", "maxLag": "P1D"}),
            "comparedTo",
        ),
        (json!({"comparedTo": huge, "maxLag": "P1D"}), "comparedTo"),
        (
            json!({"comparedTo": "STAG\u{0}ING", "maxLag": "P1D"}),
            "comparedTo",
        ),
        (json!({"comparedTo": "STAGING"}), "maxLag"),
        (json!({"comparedTo": "STAGING", "maxLag": "P1Y"}), "maxLag"),
        (
            json!({"comparedTo": "STAGING", "maxLag": "fortnight"}),
            "maxLag",
        ),
        (
            json!({"comparedTo": "STAGING", "maxLag": "P99999999D"}),
            "maxLag",
        ),
        (
            json!({"comparedTo": "STAGING", "maxVersionsBehind": -1}),
            "maxVersionsBehind",
        ),
        (
            json!({"comparedTo": "STAGING", "maxVersionsBehind": 1_000_000_000_000i64}),
            "maxVersionsBehind",
        ),
    ];
    for (body, field) in cases {
        let response = put_policy(&app, &prod, body.clone()).await;
        assert_eq!(response.status(), 422, "{body}");
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    for (body, status) in [
        (
            json!({"comparedTo": "STAGING", "maxLag": "P1D", "extra": 1}),
            422,
        ),
        (json!({"comparedTo": 7}), 422),
        (json!([]), 422),
    ] {
        assert_eq!(
            put_policy(&app, &prod, body.clone())
                .await
                .status()
                .as_u16(),
            status,
            "{body}"
        );
    }
    let missing = put_policy(
        &app,
        &uuid::Uuid::nil().to_string(),
        json!({"comparedTo": "STAGING", "maxLag": "P1D"}),
    )
    .await;
    assert_eq!(missing.status(), 404);
    let bad_id = put_policy(
        &app,
        "not-an-id",
        json!({"comparedTo": "STAGING", "maxLag": "P1D"}),
    )
    .await;
    assert_eq!(bad_id.status(), 400);
    for (query, status) in [
        ("?team=".to_string(), 200),
        ("?team=%00".to_string(), 422),
        (format!("?team={}", "t".repeat(5000)), 422),
        ("?teams=a".to_string(), 400),
    ] {
        let answered = app.get(&format!("/api/drift{query}")).await.status();
        assert_eq!(answered.as_u16(), status, "{query}");
    }
    let policies: Vec<Value> = app.get("/api/drift-policies").await.json().await.unwrap();
    assert!(policies.is_empty());

    // Viewers read; only admins write.
    let viewer = app.signed_in_as("vera", "viewer").await;
    let token = app.token_for(&viewer, "vera").await;
    let as_viewer = TestApp::bearer_client(&token);
    let refused = as_viewer
        .put(app.url(&format!("/api/environments/{prod}/drift-policy")))
        .json(&json!({"comparedTo": "STAGING", "maxLag": "P1D"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let read = as_viewer.get(app.url("/api/drift")).send().await.unwrap();
    assert_eq!(read.status(), 200);
    let anonymous = reqwest::get(app.url("/api/drift")).await.unwrap();
    assert_eq!(anonymous.status(), 401);
}

fn allow_private(config: &mut server::Config) {
    config.webhook_allow_private = true;
    config.webhook_first_retry_ms = 200;
    config.digest_at = "off".into();
}

/// Two instances evaluate every change; each breach and each resolution is sent once, and a
/// breach that ends while no instance runs (killed with -9) is resolved once after a restart.
async fn events_are_sent_once_by_two_instances_and_across_kill_9(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let (receiver, url) = Receiver::start().await;
    let settings = [
        ("DEPLOYTRACK_WEBHOOK_ALLOW_PRIVATE", "true"),
        ("DEPLOYTRACK_DIGEST_AT", "off"),
    ];
    let first = ServerProcess::start_with(&db.url, &settings).await;
    let second = ServerProcess::start_with(&db.url, &settings).await;
    let token = TestApp::admin_token(&first.base, "ops").await;
    let client = TestApp::bearer_client(&token);
    let send = |method: reqwest::Method, base: &str, path: &str, body: Value| {
        let request = client.request(method, format!("{base}{path}")).json(&body);
        async move {
            let response = request.send().await.unwrap();
            assert!(response.status().is_success(), "{}", response.status());
            response.json::<Value>().await.unwrap_or(Value::Null)
        }
    };
    use reqwest::Method;
    let post = |path: &str, body: Value| send(Method::POST, &first.base, path, body);
    post("/api/environments", json!({"name": "STAGING"})).await;
    let prod = post("/api/environments", json!({"name": "PROD"})).await;
    post("/api/applications", json!({"name": "billing"})).await;
    post(
        "/api/webhooks",
        json!({"url": url, "events": ["drift.breached", "drift.resolved"], "format": "slack"}),
    )
    .await;
    let deploy = |base: String, environment: &str, version: &str, days: i64| {
        send(
            Method::POST,
            &base,
            "/api/deployments",
            json!({"application": "billing", "environment": environment, "version": version,
                   "createVersion": true, "deploymentDate": days_ago(days)}),
        )
    };
    deploy(first.base.clone(), "PROD", "1.0.0", 30).await;
    deploy(second.base.clone(), "STAGING", "1.1.0", 20).await;
    // Both instances are told of the policy (and, on PostgreSQL, of each other's changes).
    send(
        Method::PUT,
        &second.base,
        &format!(
            "/api/environments/{}/drift-policy",
            prod["id"].as_str().unwrap()
        ),
        json!({"comparedTo": "STAGING", "maxLag": "P7D"}),
    )
    .await;
    receiver.wait_for(1).await;
    // Both look again after a change on each of them.
    deploy(first.base.clone(), "STAGING", "1.1.0", 0).await;
    deploy(second.base.clone(), "STAGING", "1.1.0", 0).await;
    tokio::time::sleep(StdDuration::from_secs(2)).await;
    assert_eq!(events_received(&receiver), ["drift.breached"]);

    // PROD catches up on the first instance, which is killed before it may have told anyone;
    // the second (SQLite: at its next round) or the restarted first resolves the breach once.
    let caught_up = deploy(first.base.clone(), "PROD", "1.1.0", 0);
    caught_up.await;
    first.kill_9();
    let restarted = ServerProcess::start_with(&db.url, &settings).await;
    let deadline = std::time::Instant::now() + StdDuration::from_secs(60);
    while events_received(&receiver).len() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "{:?}",
            events_received(&receiver)
        );
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    // Another round on each instance adds nothing.
    deploy(restarted.base.clone(), "STAGING", "1.1.0", 0).await;
    deploy(second.base.clone(), "STAGING", "1.1.0", 0).await;
    tokio::time::sleep(StdDuration::from_secs(2)).await;
    assert_eq!(
        events_received(&receiver),
        ["drift.breached", "drift.resolved"]
    );
    let texts = texts_received(&receiver);
    assert!(
        texts[0].starts_with(
            "Drift: billing in PROD runs 1.0.0, 1 version behind STAGING (1.1.0) for 20 d"
        ),
        "{texts:?}"
    );
    assert!(
        texts[1].starts_with("Drift resolved: billing in PROD has caught up with STAGING"),
        "{texts:?}"
    );
}

/// How many digests `service` queues when it looks at `at`.
async fn digests(service: &Service, at: &str) -> usize {
    let at: DateTime<Utc> = at.parse().unwrap();
    service.send_drift_digests(at).await.unwrap()
}

/// Each team's digest goes out once per local day at 09:30 Europe/London — 08:30 UTC on the
/// day summer time starts, 09:30 UTC on the day it ends — whichever instance looks first, and
/// not on a day without breaches.
async fn digests_go_out_at_local_time_once_a_day(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, allow_private).await else {
        return;
    };
    let (receiver, url) = Receiver::start().await;
    let prod = environments(&app).await;
    app.create(
        "/api/teams",
        json!({"name": "payments", "slackChannel": "#payments-releases"}),
    )
    .await;
    app.create(
        "/api/applications",
        json!({"name": "billing", "team": "payments"}),
    )
    .await;
    app.create("/api/applications", json!({"name": "ledger"}))
        .await;
    record(&app, "billing", "PROD", "1.0.0", 30).await;
    record(&app, "billing", "STAGING", "1.1.0", 20).await;
    let webhook = app
        .create(
            "/api/webhooks",
            json!({"url": url, "events": ["drift.digest"], "format": "slack"}),
        )
        .await;
    let response = put_policy(
        &app,
        &prod,
        json!({"comparedTo": "STAGING", "maxLag": "P14D"}),
    )
    .await;
    assert_eq!(response.status(), 200);

    let schedule = DigestSchedule::parse("09:30", "Europe/London").unwrap();
    let one = Service::new(app.db.store().await, AccessPolicy::default())
        .with_drift_digest(Some(schedule));
    let two = Service::new(app.db.store().await, AccessPolicy::default())
        .with_drift_digest(Some(schedule));
    // 28 March 2027: the clocks go forward at 01:00 UTC, so 09:30 in London is 08:30 UTC.
    assert_eq!(digests(&one, "2027-03-28T08:29:59Z").await, 0);
    assert_eq!(digests(&one, "2027-03-28T08:30:00Z").await, 1);
    assert_eq!(
        digests(&two, "2027-03-28T08:30:00Z").await,
        0,
        "once, whichever instance"
    );
    assert_eq!(
        digests(&one, "2027-03-28T22:59:00Z").await,
        0,
        "23:59 local: still the same day"
    );
    assert_eq!(
        digests(&two, "2027-03-29T08:31:00Z").await,
        1,
        "the next day"
    );
    // 31 October 2027: back to GMT, so 09:30 in London is 09:30 UTC.
    assert_eq!(digests(&one, "2027-10-31T08:30:00Z").await, 0);
    assert_eq!(digests(&two, "2027-10-31T09:30:00Z").await, 1);
    let received = receiver.wait_for(3).await;
    let body: Value = received
        .iter()
        .map(|(_, body)| serde_json::from_str::<Value>(body).unwrap())
        .find(|body| body["text"].as_str().unwrap().contains("2027-03-28"))
        .unwrap();
    assert_eq!(body["channel"], "#payments-releases");
    let text = body["text"].as_str().unwrap();
    assert!(
        text.starts_with(
            "Drift digest for payments, Sun 08:30 UTC, 2027-03-28: 1 application behind"
        ),
        "{text}"
    );
    assert!(
        text.contains("• billing in PROD runs 1.0.0, 1 version behind STAGING (1.1.0)"),
        "{text}"
    );

    // Unowned applications have a digest of their own; a day without breaches has none.
    record(&app, "ledger", "PROD", "1.0.0", 30).await;
    record(&app, "ledger", "STAGING", "1.1.0", 20).await;
    let again = put_policy(
        &app,
        &prod,
        json!({"comparedTo": "STAGING", "maxLag": "P14D"}),
    )
    .await;
    assert_eq!(again.status(), 200);
    assert_eq!(digests(&one, "2027-11-01T10:00:00Z").await, 2);
    let removed = app
        .client
        .delete(app.url(&format!("/api/environments/{prod}/drift-policy")))
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 204);
    assert_eq!(digests(&one, "2027-11-02T10:00:00Z").await, 0);
    let deliveries: Vec<Value> = app
        .get(&format!(
            "/api/webhooks/{}/deliveries",
            webhook["id"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        deliveries
            .iter()
            .filter(|d| d["event"] == "drift.digest")
            .count(),
        5
    );
}

for_both_backends!(run_app;
    breaches_follow_hand_built_histories,
    policies_refuse_bad_input,
);

mod processes {
    use super::*;
    for_both_backends!(run_backend;
        events_are_sent_once_by_two_instances_and_across_kill_9,
        digests_go_out_at_local_time_once_a_day,
    );
}

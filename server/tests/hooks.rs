//! Signed inbound hooks from GitHub and GitLab, with payloads written from the providers'
//! documented schemas (GitHub `deployment_status`, GitLab "Deployment events"), against the real
//! server on both backends.

mod common;

use common::{run_app as run, TestApp};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

/// Billing (repository acme/billing, version v1.3.0) and the environments staging, production.
async fn catalogue(app: &TestApp) -> String {
    let billing = app
        .create(
            "/api/applications",
            json!({"name": "Billing", "repository": "acme/billing"}),
        )
        .await;
    let id = billing["id"].as_str().unwrap().to_string();
    app.create(
        &format!("/api/applications/{id}/versions"),
        json!({"versionIdentifier": "v1.3.0"}),
    )
    .await;
    for name in ["staging", "production"] {
        app.create("/api/environments", json!({"name": name})).await;
    }
    id
}

async fn hook(app: &TestApp, provider: &str) -> (String, String) {
    let created = app
        .create(
            "/api/hooks",
            json!({"provider": provider, "name": format!("{provider} org hook")}),
        )
        .await;
    assert_eq!(created["path"], format!("/api/hooks/{provider}"));
    (
        created["id"].as_str().unwrap().to_string(),
        created["secret"].as_str().unwrap().to_string(),
    )
}

/// A `deployment_status` event as GitHub documents it (trimmed to realistic fields).
fn github_status(state: &str, environment: &str, reference: &str, repository: &str) -> Value {
    json!({
        "action": "created",
        "deployment_status": {
            "url": "https://api.github.com/repos/acme/billing/deployments/42/statuses/7",
            "id": 7,
            "state": state,
            "environment": environment,
            "created_at": "2026-11-30T09:15:00Z",
            "updated_at": "2026-11-30T09:15:00Z",
            "creator": {"login": "github-actions[bot]", "type": "Bot"}
        },
        "deployment": {
            "id": 42,
            "sha": "7638417db6d59f3c431d3e1f261cc637155684cd",
            "ref": reference,
            "task": "deploy",
            "payload": {},
            "environment": environment,
            "created_at": "2026-11-30T09:10:00Z"
        },
        "repository": {"id": 1296269, "name": "billing", "full_name": repository,
                       "owner": {"login": "acme"}},
        "sender": {"login": "octocat", "type": "User"}
    })
}

/// A deployment event as GitLab documents it.
fn gitlab_deployment(status: &str, reference: &str, project: &str) -> Value {
    json!({
        "object_kind": "deployment",
        "status": status,
        "status_changed_at": "2026-11-30 10:50:00 +0100",
        "deployment_id": 15,
        "deployable_id": 796,
        "deployable_url": "http://gitlab.example.com/acme/billing/-/jobs/796",
        "environment": "production",
        "environment_tier": "production",
        "project": {"id": 30, "name": "billing", "path_with_namespace": project},
        "short_sha": "279484c0",
        "user": {"id": 1, "name": "Administrator", "username": "root"},
        "user_url": "http://gitlab.example.com/root",
        "commit_url": "http://gitlab.example.com/acme/billing/-/commit/279484c09fbe69ededfced8c1bb6e6d24616b468",
        "commit_title": "Add new file",
        "ref": reference
    })
}

fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Delivers to GitHub's endpoint with no API token, as GitHub does.
async fn deliver_github(
    app: &TestApp,
    event: &str,
    delivery: &str,
    signature: Option<String>,
    body: &[u8],
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(app.url("/api/hooks/github"))
        .header("content-type", "application/json")
        .header("x-github-event", event)
        .header("x-github-delivery", delivery)
        .body(body.to_vec());
    if let Some(signature) = signature {
        request = request.header("x-hub-signature-256", signature);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn deliver_gitlab(app: &TestApp, token: Option<&str>, body: &Value) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(app.url("/api/hooks/gitlab"))
        .header("x-gitlab-event", "Deployment Hook")
        .json(body);
    if let Some(token) = token {
        request = request.header("x-gitlab-token", token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn history(app: &TestApp) -> Vec<Value> {
    let page: Value = app.get("/api/deployments").await.json().await.unwrap();
    page["items"].as_array().unwrap().clone()
}

async fn deliveries(app: &TestApp, hook_id: &str) -> Vec<Value> {
    let list: Value = app
        .get(&format!("/api/hooks/{hook_id}/deliveries"))
        .await
        .json()
        .await
        .unwrap();
    list.as_array().unwrap().clone()
}

async fn github_success_records_once(app: TestApp) {
    let billing = catalogue(&app).await;
    let (hook_id, secret) = hook(&app, "github").await;
    let body = github_status("success", "production", "v1.4.0", "acme/billing").to_string();
    let signature = sign(&secret, body.as_bytes());
    let (status, answer) = deliver_github(
        &app,
        "deployment_status",
        "d-1",
        Some(signature.clone()),
        body.as_bytes(),
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["outcome"], "recorded");
    let recorded = history(&app).await;
    assert_eq!(recorded.len(), 1);
    let deployment = &recorded[0];
    assert_eq!(deployment["id"], answer["deploymentId"]);
    assert_eq!(deployment["application"]["name"], "Billing");
    assert_eq!(deployment["environment"]["name"], "production");
    assert_eq!(deployment["version"]["versionIdentifier"], "v1.4.0");
    assert_eq!(deployment["deployedBy"], "octocat");
    assert_eq!(deployment["deploymentDate"], "2026-11-30T09:15:00Z");
    let versions: Value = app
        .get(&format!("/api/applications/{billing}/versions"))
        .await
        .json()
        .await
        .unwrap();
    let new = versions
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["versionIdentifier"] == "v1.4.0")
        .expect("the version was registered");
    assert_eq!(new["commitSha"], "7638417db6d59f3c431d3e1f261cc637155684cd");
    // The audit trail names the hook the deployment came through.
    let audit: Value = app
        .get(&format!(
            "/api/audit?targetId={}",
            deployment["id"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(audit["items"][0]["action"], "deployment.recorded");
    assert_eq!(
        audit["items"][0]["tokenName"],
        "github hook 'github org hook'"
    );
    assert_eq!(audit["items"][0]["actor"]["username"], "admin");

    // GitHub's "Redeliver" sends the same delivery id: nothing new.
    let (status, answer) = deliver_github(
        &app,
        "deployment_status",
        "d-1",
        Some(signature),
        body.as_bytes(),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["outcome"], "replayed");
    assert_eq!(answer["deploymentId"], deployment["id"]);
    assert_eq!(history(&app).await.len(), 1);
    let kept = deliveries(&app, &hook_id).await;
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0]["deliveryId"], "d-1");
    assert_eq!(kept[0]["outcome"], "recorded");
    assert_eq!(kept[0]["deploymentId"], deployment["id"]);
}

async fn unsigned_or_wrongly_signed_deliveries_record_nothing(app: TestApp) {
    catalogue(&app).await;
    let (hook_id, secret) = hook(&app, "github").await;
    let body = github_status("success", "production", "v1.4.0", "acme/billing").to_string();
    let tampered = body.replace("v1.4.0", "v6.6.6");
    for (signature, sent) in [
        (None, body.as_str()),
        (Some(sign("not the secret", body.as_bytes())), body.as_str()),
        (Some(sign(&secret, body.as_bytes())), tampered.as_str()),
        (Some("sha256=".to_string()), body.as_str()),
        (Some("sha256=zz-not-hex".to_string()), body.as_str()),
        (
            Some(sign(&secret, body.as_bytes()).replace("sha256=", "sha1=")),
            body.as_str(),
        ),
    ] {
        let (status, answer) =
            deliver_github(&app, "deployment_status", "d-x", signature, sent.as_bytes()).await;
        assert_eq!(status, 401, "{answer}");
    }
    // A GitHub-signed body is no GitLab token, and the reverse.
    let (status, _) = deliver_gitlab(
        &app,
        Some(&secret),
        &gitlab_deployment("success", "v1.4.0", "acme/billing"),
    )
    .await;
    assert_eq!(status, 401);
    assert!(history(&app).await.is_empty());
    assert!(deliveries(&app, &hook_id).await.is_empty());
}

async fn other_events_and_states_are_ignored(app: TestApp) {
    catalogue(&app).await;
    let (hook_id, secret) = hook(&app, "github").await;
    for (event, state, delivery) in [
        ("deployment_status", "pending", "d-pending"),
        ("deployment_status", "failure", "d-failure"),
        ("deployment_status", "in_progress", "d-progress"),
        ("ping", "success", "d-ping"),
        ("push", "success", "d-push"),
    ] {
        let body = github_status(state, "production", "v1.4.0", "acme/billing").to_string();
        let (status, answer) = deliver_github(
            &app,
            event,
            delivery,
            Some(sign(&secret, body.as_bytes())),
            body.as_bytes(),
        )
        .await;
        assert_eq!(status, 202, "{event} {state}: {answer}");
        assert_eq!(answer["outcome"], "ignored");
    }
    assert!(history(&app).await.is_empty());
    let kept = deliveries(&app, &hook_id).await;
    assert_eq!(kept.len(), 5);
    assert!(kept.iter().all(|d| d["outcome"] == "ignored"));
}

async fn unmapped_deliveries_are_refused_and_create_nothing(app: TestApp) {
    catalogue(&app).await;
    let (hook_id, secret) = hook(&app, "github").await;
    for (body, expected) in [
        (
            github_status("success", "production", "v1.4.0", "acme/unknown"),
            "no application has repository 'acme/unknown'",
        ),
        (
            github_status("success", "qa-7", "v1.4.0", "acme/billing"),
            "Unknown environment 'qa-7'",
        ),
    ] {
        let body = body.to_string();
        let (status, answer) = deliver_github(
            &app,
            "deployment_status",
            &format!("d-{}", expected.len()),
            Some(sign(&secret, body.as_bytes())),
            body.as_bytes(),
        )
        .await;
        assert_eq!(status, 422, "{answer}");
        assert_eq!(answer["outcome"], "refused");
        assert!(
            answer["detail"].as_str().unwrap().contains(expected),
            "{answer}"
        );
    }
    let not_json = b"payload=%7B%7D";
    let (status, answer) = deliver_github(
        &app,
        "deployment_status",
        "d-form",
        Some(sign(&secret, not_json)),
        not_json,
    )
    .await;
    assert_eq!(status, 422, "{answer}");
    assert!(history(&app).await.is_empty());
    let environments: Value = app.get("/api/environments").await.json().await.unwrap();
    assert_eq!(
        environments.as_array().unwrap().len(),
        2,
        "no environment created"
    );
    assert_eq!(deliveries(&app, &hook_id).await.len(), 3);
}

async fn gitlab_deployments_record_by_tag_or_commit(app: TestApp) {
    catalogue(&app).await;
    let (hook_id, token) = hook(&app, "gitlab").await;
    let (status, answer) = deliver_gitlab(
        &app,
        Some(&token),
        &gitlab_deployment("success", "v2.0.0", "ACME/Billing"),
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    let (status, answer) = deliver_gitlab(
        &app,
        Some(&token),
        &gitlab_deployment("success", "main", "acme/billing"),
    )
    .await;
    // A branch deployment is identified by its commit; this body differs from the first only
    // in `ref`, so it is a delivery of its own.
    assert_eq!(status, 201, "{answer}");
    let recorded = history(&app).await;
    let versions: Vec<&str> = recorded
        .iter()
        .map(|d| d["version"]["versionIdentifier"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["279484c0", "v2.0.0"]);
    assert_eq!(recorded[0]["deployedBy"], "root");
    assert_eq!(recorded[0]["deploymentDate"], "2026-11-30T09:50:00Z");

    let (status, answer) = deliver_gitlab(
        &app,
        Some(&token),
        &gitlab_deployment("running", "v2.0.1", "acme/billing"),
    )
    .await;
    assert_eq!(status, 202, "{answer}");
    let (status, _) = deliver_gitlab(
        &app,
        Some("wrong"),
        &gitlab_deployment("success", "v2.0.1", "acme/billing"),
    )
    .await;
    assert_eq!(status, 401);
    let (status, _) = deliver_gitlab(
        &app,
        None,
        &gitlab_deployment("success", "v2.0.1", "acme/billing"),
    )
    .await;
    assert_eq!(status, 401);
    // Without X-Gitlab-Event-UUID a byte-identical redelivery is still recognised.
    let (status, answer) = deliver_gitlab(
        &app,
        Some(&token),
        &gitlab_deployment("success", "v2.0.0", "ACME/Billing"),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(history(&app).await.len(), 2);
    assert_eq!(deliveries(&app, &hook_id).await.len(), 3);
}

async fn hooks_are_admin_only_and_deleting_one_stops_it(app: TestApp) {
    catalogue(&app).await;
    let (hook_id, secret) = hook(&app, "github").await;
    let listed: Value = app.get("/api/hooks").await.json().await.unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(
        !listed.to_string().contains(&secret),
        "secrets are shown once only"
    );

    let editor = app.signed_in_as("eddie", "editor").await;
    let token = app.token_for(&editor, "ci").await;
    let as_editor = TestApp::bearer_client(&token);
    let response = as_editor
        .post(app.url("/api/hooks"))
        .json(&json!({"provider": "github", "name": "mine"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let response = as_editor.get(app.url("/api/hooks")).send().await.unwrap();
    assert_eq!(response.status(), 403);
    let response = app
        .post_json("/api/hooks", json!({"provider": "bitbucket", "name": "x"}))
        .await;
    assert_eq!(response.status(), 422);

    let response = app
        .client
        .delete(app.url(&format!("/api/hooks/{hook_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let body = github_status("success", "production", "v1.4.0", "acme/billing").to_string();
    let (status, _) = deliver_github(
        &app,
        "deployment_status",
        "d-after",
        Some(sign(&secret, body.as_bytes())),
        body.as_bytes(),
    )
    .await;
    assert_eq!(status, 401, "a deleted hook's secret no longer works");
    assert!(history(&app).await.is_empty());
}

async fn a_hook_keeps_its_last_100_deliveries(app: TestApp) {
    let (hook_id, secret) = hook(&app, "github").await;
    let body = b"{\"zen\":\"Keep it logically awesome.\",\"hook_id\":1}";
    let signature = sign(&secret, body);
    for n in 0..105 {
        let (status, _) = deliver_github(
            &app,
            "ping",
            &format!("ping-{n:03}"),
            Some(signature.clone()),
            body,
        )
        .await;
        assert_eq!(status, 202);
    }
    let kept = deliveries(&app, &hook_id).await;
    assert_eq!(kept.len(), 100);
    assert_eq!(kept[0]["deliveryId"], "ping-104", "newest first");
    assert_eq!(kept[99]["deliveryId"], "ping-005");
}

async fn concurrent_redeliveries_record_once(app: TestApp) {
    catalogue(&app).await;
    let (_, secret) = hook(&app, "github").await;
    let body = github_status("success", "staging", "v1.5.0", "acme/billing").to_string();
    let signature = sign(&secret, body.as_bytes());
    let attempts = (0..6).map(|_| {
        deliver_github(
            &app,
            "deployment_status",
            "d-burst",
            Some(signature.clone()),
            body.as_bytes(),
        )
    });
    let answers = futures::future::join_all(attempts).await;
    let ids: std::collections::HashSet<String> = answers
        .iter()
        .map(|(status, answer)| {
            assert!(matches!(status, 200 | 201), "{status} {answer}");
            answer["deploymentId"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(history(&app).await.len(), 1);
}

/// Deployments a hook records while production is frozen keep the freeze as their violation
/// (GitHub's and GitLab's, dated 30 November 2026, inside the freeze's window).
async fn hooks_record_through_a_freeze(app: TestApp) {
    catalogue(&app).await;
    let environments: Value = app.get("/api/environments").await.json().await.unwrap();
    let production = environments
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "production")
        .unwrap()["id"]
        .clone();
    let freeze = app
        .create(
            "/api/freezes",
            json!({"name": "Month-end freeze", "environmentIds": [production],
                   "startsAt": "2026-11-30T00:00:00Z", "endsAt": "2026-12-01T00:00:00Z"}),
        )
        .await;
    let (_, secret) = hook(&app, "github").await;
    let body = github_status("success", "production", "v1.4.0", "acme/billing").to_string();
    let signature = sign(&secret, body.as_bytes());
    let (status, answer) = deliver_github(
        &app,
        "deployment_status",
        "d-f",
        Some(signature),
        body.as_bytes(),
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    let (_, token) = hook(&app, "gitlab").await;
    let (status, answer) = deliver_gitlab(
        &app,
        Some(&token),
        &gitlab_deployment("success", "v2.0.0", "acme/billing"),
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    let recorded = history(&app).await;
    assert_eq!(recorded.len(), 2);
    for deployment in &recorded {
        assert_eq!(
            deployment["policyViolations"][0]["type"], "freeze",
            "{deployment}"
        );
        assert_eq!(deployment["policyViolations"][0]["id"], freeze["id"]);
    }
}

/// GitHub's own published example (octokit/webhooks' `deployment_status/payload.json`, a
/// deployment of branch `master` with an empty payload) and GitLab's documented deployment
/// event, sent byte for byte: each records its commit, and a branch deployment of another commit
/// is another version.
async fn published_bodies_record_their_commit(app: TestApp) {
    const GITHUB: &str = include_str!("data/github-deployment-status.json");
    const GITLAB: &str = include_str!("data/gitlab-deployment-event.json");
    const GITHUB_SHA: &str = "f95f852bd8fca8fcc58a9a2d6c842781e32a215e";
    const GITLAB_SHA: &str = "279484c09fbe69ededfced8c1bb6e6d24616b468";
    app.create(
        "/api/applications",
        json!({"name": "Hello-World", "repository": "Codertocat/Hello-World"}),
    )
    .await;
    app.create(
        "/api/applications",
        json!({"name": "Webhooks", "repository": "root/test-deployment-webhooks"}),
    )
    .await;
    app.create("/api/environments", json!({"name": "staging"}))
        .await;
    app.create(
        "/api/environments",
        json!({"name": "production", "isProduction": true}),
    )
    .await;
    let (_, secret) = hook(&app, "github").await;
    let signature = sign(&secret, GITHUB.as_bytes());
    let (status, answer) = deliver_github(
        &app,
        "deployment_status",
        "published-1",
        Some(signature),
        GITHUB.as_bytes(),
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    // The same branch deployed at another commit: another version, told apart by its commit.
    let moved = GITHUB.replace(GITHUB_SHA, "0123456789abcdef0123456789abcdef01234567");
    let signature = sign(&secret, moved.as_bytes());
    let (status, answer) = deliver_github(
        &app,
        "deployment_status",
        "published-2",
        Some(signature),
        moved.as_bytes(),
    )
    .await;
    assert_eq!(status, 201, "{answer}");

    let (_, token) = hook(&app, "gitlab").await;
    let response = reqwest::Client::new()
        .post(app.url("/api/hooks/gitlab"))
        .header("content-type", "application/json")
        .header("x-gitlab-event", "Deployment Hook")
        .header("x-gitlab-token", &token)
        .body(GITLAB)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());

    let recorded = history(&app).await;
    let seen: Vec<(&str, &str, &str, &str)> = recorded
        .iter()
        .map(|d| {
            (
                d["application"]["name"].as_str().unwrap(),
                d["version"]["versionIdentifier"].as_str().unwrap(),
                d["environment"]["name"].as_str().unwrap(),
                d["deploymentDate"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("Webhooks", "279484c0", "staging", "2021-04-28T19:50:00Z"),
            (
                "Hello-World",
                "0123456",
                "production",
                "2019-05-15T15:20:55Z"
            ),
            (
                "Hello-World",
                "f95f852",
                "production",
                "2019-05-15T15:20:55Z"
            ),
        ]
    );
    // Each version carries its full commit, whatever the body abbreviated.
    for (application, identifier, sha) in [
        ("Hello-World", "f95f852", GITHUB_SHA),
        (
            "Hello-World",
            "0123456",
            "0123456789abcdef0123456789abcdef01234567",
        ),
        ("Webhooks", "279484c0", GITLAB_SHA),
    ] {
        let applications: Value = app.get("/api/applications").await.json().await.unwrap();
        let id = applications
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == application)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let versions: Value = app
            .get(&format!("/api/applications/{id}/versions"))
            .await
            .json()
            .await
            .unwrap();
        let version = versions
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["versionIdentifier"] == identifier)
            .unwrap_or_else(|| panic!("{application} {identifier} in {versions}"));
        assert_eq!(version["commitSha"], sha, "{application} {identifier}");
    }
    // What the second deployment brought: no commits were sent, but the compare link works.
    let changes: Value = app
        .get("/api/changes?application=Hello-World&fromVersion=f95f852&toVersion=0123456")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(changes["source"], "unavailable", "{changes}");
    assert_eq!(
        changes["compareUrl"],
        format!(
            "https://github.com/Codertocat/Hello-World/compare/{GITHUB_SHA}...0123456789abcdef0123456789abcdef01234567"
        )
    );
}

for_both_backends!(run;
    published_bodies_record_their_commit,
    github_success_records_once,
    unsigned_or_wrongly_signed_deliveries_record_nothing,
    other_events_and_states_are_ignored,
    unmapped_deliveries_are_refused_and_create_nothing,
    gitlab_deployments_record_by_tag_or_commit,
    hooks_are_admin_only_and_deleting_one_stops_it,
    a_hook_keeps_its_last_100_deliveries,
    concurrent_redeliveries_record_once,
    hooks_record_through_a_freeze,
);

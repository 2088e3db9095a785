//! Recording from pipelines: names instead of ids, `createVersion`, and `Idempotency-Key`
//! retries, against the real server on both backends.

mod common;

use chrono::{Duration, Utc};
use common::{run_app as run, server_fn_path, TestApp};
use serde_json::{json, Value};

/// Portal (1.0.0, 1.1.0) and Billing (2.0.0), environments STAGING and an archived OLD.
async fn catalogue(app: &TestApp) -> (String, String) {
    let portal = app
        .create("/api/applications", json!({"name": "Customer Portal"}))
        .await;
    let portal = portal["id"].as_str().unwrap().to_string();
    for identifier in ["1.0.0", "1.1.0"] {
        app.create(
            &format!("/api/applications/{portal}/versions"),
            json!({"versionIdentifier": identifier}),
        )
        .await;
    }
    let billing = app
        .create("/api/applications", json!({"name": "Billing"}))
        .await;
    let billing = billing["id"].as_str().unwrap().to_string();
    app.create(
        &format!("/api/applications/{billing}/versions"),
        json!({"versionIdentifier": "2.0.0"}),
    )
    .await;
    app.create("/api/environments", json!({"name": "STAGING"}))
        .await;
    let old = app
        .create("/api/environments", json!({"name": "OLD"}))
        .await;
    let response = app
        .post_json(
            &format!("/api/environments/{}/archive", old["id"].as_str().unwrap()),
            json!({}),
        )
        .await;
    assert_eq!(response.status(), 200, "archiving OLD");
    (portal, billing)
}

fn now() -> String {
    Utc::now().to_rfc3339()
}

/// POSTs a deployment with an optional idempotency key; returns status, headers and body.
async fn record(
    app: &TestApp,
    body: Value,
    key: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut request = app.client.post(app.url("/api/deployments")).json(&body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, headers, body)
}

/// The message the problem document gives for `field`, if any.
fn field_error(problem: &Value, field: &str) -> Option<String> {
    problem["errors"]
        .as_array()?
        .iter()
        .find(|e| e["field"] == field)
        .map(|e| e["message"].as_str().unwrap_or_default().to_string())
}

async fn count_deployments(app: &TestApp) -> usize {
    let page: Value = app
        .get("/api/deployments?limit=500")
        .await
        .json()
        .await
        .unwrap();
    page["items"].as_array().unwrap().len()
}

async fn names_resolve_case_insensitively(app: TestApp) {
    catalogue(&app).await;
    let (status, headers, body) = record(
        &app,
        json!({"application": "customer portal", "version": "1.1.0", "environment": "staging",
               "deploymentDate": now()}),
        None,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["application"]["name"], "Customer Portal");
    assert_eq!(body["environment"]["name"], "STAGING");
    assert_eq!(body["version"]["versionIdentifier"], "1.1.0");
    let location = headers["location"].to_str().unwrap();
    assert_eq!(
        location,
        format!("/api/deployments/{}", body["id"].as_str().unwrap())
    );
    assert!(headers.get("idempotent-replayed").is_none());
}

async fn ids_and_names_mix_but_never_both(app: TestApp) {
    let (portal, _) = catalogue(&app).await;
    let (status, _, body) = record(
        &app,
        json!({"applicationId": portal, "version": "1.0.0", "environment": "STAGING",
               "deploymentDate": now()}),
        None,
    )
    .await;
    assert_eq!(status, 201, "{body}");

    let (status, _, body) = record(
        &app,
        json!({"applicationId": portal, "application": "Customer Portal", "version": "1.0.0",
               "environment": "STAGING", "deploymentDate": now()}),
        None,
    )
    .await;
    assert_eq!(status, 422);
    let message = field_error(&body, "application").expect("names the field");
    assert!(message.contains("not both"), "{message}");

    let (status, _, body) = record(
        &app,
        json!({"version": "1.0.0", "environment": "STAGING", "deploymentDate": now()}),
        None,
    )
    .await;
    assert_eq!(status, 422);
    assert!(field_error(&body, "applicationId").is_some(), "{body}");
}

async fn unknown_names_are_refused_and_never_created(app: TestApp) {
    catalogue(&app).await;
    let matrix_before: Value = app
        .get("/api/deployments/current")
        .await
        .json()
        .await
        .unwrap();
    let (status, _, body) = record(
        &app,
        json!({"application": "Custmer Portal", "version": "1.0.0", "environment": "STAGNG",
               "deploymentDate": now()}),
        None,
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(
        field_error(&body, "application").as_deref(),
        Some("Unknown application 'Custmer Portal'")
    );
    assert_eq!(
        field_error(&body, "environment").as_deref(),
        Some("Unknown environment 'STAGNG'")
    );
    let (status, _, body) = record(
        &app,
        json!({"application": "Billing", "version": "9.9.9", "environment": "STAGING",
               "deploymentDate": now()}),
        None,
    )
    .await;
    assert_eq!(status, 422);
    let message = field_error(&body, "version").unwrap();
    assert!(
        message.starts_with("Unknown version '9.9.9' of application 'Billing'"),
        "{message}"
    );
    let (status, _, body) = record(
        &app,
        json!({"application": "Billing", "version": "2.0.0", "environment": "old",
               "deploymentDate": now()}),
        None,
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(
        field_error(&body, "environment").as_deref(),
        Some("this environment is archived")
    );
    let applications: Value = app.get("/api/applications").await.json().await.unwrap();
    assert_eq!(
        applications.as_array().unwrap().len(),
        2,
        "no application created"
    );
    let environments: Value = app.get("/api/environments").await.json().await.unwrap();
    assert_eq!(
        environments.as_array().unwrap().len(),
        1,
        "no environment created"
    );
    let matrix_after: Value = app
        .get("/api/deployments/current")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(matrix_before, matrix_after);
    assert_eq!(count_deployments(&app).await, 0);
}

async fn a_version_name_never_resolves_to_another_application(app: TestApp) {
    catalogue(&app).await;
    // 2.0.0 exists, but only for Billing.
    let (status, _, body) = record(
        &app,
        json!({"application": "Customer Portal", "version": "2.0.0", "environment": "STAGING",
               "deploymentDate": now()}),
        None,
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(field_error(&body, "version")
        .unwrap()
        .contains("of application 'Customer Portal'"));
    // Version identifiers are exact, as their uniqueness is.
    let (status, _, _) = record(
        &app,
        json!({"application": "Billing", "version": "2.0.0 ", "environment": "STAGING",
               "deploymentDate": now()}),
        None,
    )
    .await;
    assert_eq!(status, 201, "surrounding spaces are trimmed");
}

async fn create_version_registers_it_once_in_the_same_request(app: TestApp) {
    let (portal, _) = catalogue(&app).await;
    let body = json!({"application": "Customer Portal", "version": "3.0.0-rc.1",
                      "environment": "STAGING", "createVersion": true,
                      "commitSha": "ABCDEF1234567", "releasedAt": "2026-01-02T03:04:05Z",
                      "deploymentDate": now()});
    let (status, _, recorded) = record(&app, body.clone(), None).await;
    assert_eq!(status, 201, "{recorded}");
    assert_eq!(recorded["version"]["versionIdentifier"], "3.0.0-rc.1");
    let versions: Value = app
        .get(&format!("/api/applications/{portal}/versions"))
        .await
        .json()
        .await
        .unwrap();
    let created: Vec<&Value> = versions
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["versionIdentifier"] == "3.0.0-rc.1")
        .collect();
    assert_eq!(created.len(), 1);
    assert_eq!(created[0]["commitSha"], "abcdef1234567");
    assert_eq!(created[0]["releasedAt"], "2026-01-02T03:04:05Z");
    assert_eq!(created[0]["id"], recorded["version"]["id"]);
    // Again: the version now exists and is deployed, not registered twice.
    let (status, _, again) = record(&app, body, None).await;
    assert_eq!(status, 201);
    assert_eq!(again["version"]["id"], recorded["version"]["id"]);
    // A known version with another commit is a mistake worth stopping.
    let (status, _, problem) = record(
        &app,
        json!({"application": "Customer Portal", "version": "3.0.0-rc.1",
               "environment": "STAGING", "createVersion": true, "commitSha": "1234567",
               "deploymentDate": now()}),
        None,
    )
    .await;
    assert_eq!(status, 422);
    assert!(field_error(&problem, "commitSha")
        .unwrap()
        .contains("abcdef1234567"));
    // Commit details without createVersion, bad hashes, createVersion with an id.
    for (body, field) in [
        (
            json!({"application": "Billing", "version": "2.0.0", "environment": "STAGING",
                   "commitSha": "1234567", "deploymentDate": now()}),
            "commitSha",
        ),
        (
            json!({"application": "Billing", "version": "2.1.0", "environment": "STAGING",
                   "createVersion": true, "commitSha": "not-a-sha", "deploymentDate": now()}),
            "commitSha",
        ),
        (
            json!({"application": "Billing", "versionId": recorded["version"]["id"],
                   "environment": "STAGING", "createVersion": true, "deploymentDate": now()}),
            "createVersion",
        ),
    ] {
        let (status, _, problem) = record(&app, body.clone(), None).await;
        assert_eq!(status, 422, "{body}");
        assert!(field_error(&problem, field).is_some(), "{problem}");
    }
}

async fn idempotent_retries_record_once(app: TestApp) {
    catalogue(&app).await;
    let body = json!({"application": "Billing", "version": "2.0.0", "environment": "STAGING",
                      "deploymentDate": now(), "notes": "run 42"});
    let (status, headers, first) = record(&app, body.clone(), Some("ci-run-42-attempt")).await;
    assert_eq!(status, 201, "{first}");
    assert!(headers.get("idempotent-replayed").is_none());
    let (status, headers, second) = record(&app, body.clone(), Some("ci-run-42-attempt")).await;
    assert_eq!(status, 201);
    assert_eq!(headers["idempotent-replayed"], "true");
    assert_eq!(second["id"], first["id"]);
    assert_eq!(
        headers["location"].to_str().unwrap(),
        format!("/api/deployments/{}", first["id"].as_str().unwrap())
    );
    assert_eq!(count_deployments(&app).await, 1);

    // Same key, another body: refused, nothing recorded.
    let mut other = body.clone();
    other["notes"] = json!("run 43");
    let (status, _, problem) = record(&app, other, Some("ci-run-42-attempt")).await;
    assert_eq!(status, 422);
    assert!(field_error(&problem, "Idempotency-Key")
        .unwrap()
        .contains("different request"));
    assert_eq!(count_deployments(&app).await, 1);

    // Keys belong to their user: another editor's same key records its own deployment.
    let editor = app.signed_in_as("erin", "editor").await;
    let token = app.token_for(&editor, "ci").await;
    let response = TestApp::bearer_client(&token)
        .post(app.url("/api/deployments"))
        .header("Idempotency-Key", "ci-run-42-attempt")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert!(response.headers().get("idempotent-replayed").is_none());
    assert_eq!(count_deployments(&app).await, 2);

    // A key older than 24 hours no longer counts.
    let aged = (Utc::now() - Duration::hours(25)).format("%Y-%m-%dT%H:%M:%S%.6fZ");
    let sql = if app.db.url.starts_with("sqlite:") {
        format!("UPDATE idempotency_key SET created_at = '{aged}'")
    } else {
        format!("UPDATE idempotency_key SET created_at = '{aged}'::timestamptz")
    };
    app.raw_sql(&sql).await.unwrap();
    let (status, headers, third) = record(&app, body, Some("ci-run-42-attempt")).await;
    assert_eq!(status, 201);
    assert!(headers.get("idempotent-replayed").is_none());
    assert_ne!(third["id"], first["id"]);
    assert_eq!(count_deployments(&app).await, 3);
}

async fn bad_idempotency_keys_are_client_errors(app: TestApp) {
    catalogue(&app).await;
    let body = json!({"application": "Billing", "version": "2.0.0", "environment": "STAGING",
                      "deploymentDate": now()});
    let long = "k".repeat(256);
    for key in ["", "has space", long.as_str(), "tab\tkey"] {
        let (status, _, problem) = record(&app, body.clone(), Some(key)).await;
        assert_eq!(status, 422, "key {key:?}: {problem}");
        assert!(field_error(&problem, "Idempotency-Key").is_some());
    }
    let response = app
        .client
        .post(app.url("/api/deployments"))
        .header(
            "Idempotency-Key",
            reqwest::header::HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap(),
        )
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    assert_eq!(count_deployments(&app).await, 0);
}

async fn concurrent_requests_with_one_key_record_one_deployment(app: TestApp) {
    catalogue(&app).await;
    let body = json!({"application": "Billing", "version": "2.0.1", "environment": "STAGING",
                      "createVersion": true, "deploymentDate": now()});
    let attempts = (0..8).map(|_| record(&app, body.clone(), Some("pipeline-7-deploy")));
    let answers = futures::future::join_all(attempts).await;
    let ids: std::collections::HashSet<String> = answers
        .iter()
        .map(|(status, _, body)| {
            assert_eq!(*status, 201, "{body}");
            body["id"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(ids.len(), 1, "every answer names the one deployment");
    let replayed = answers
        .iter()
        .filter(|(_, headers, _)| headers.get("idempotent-replayed").is_some())
        .count();
    assert_eq!(replayed, 7);
    assert_eq!(count_deployments(&app).await, 1);
}

async fn the_record_server_function_takes_names_too(app: TestApp) {
    catalogue(&app).await;
    let response = app
        .client
        .post(app.url(server_fn_path("record_deployment")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "application=billing&version=2.0.0&environment=Staging&deployment_date={}",
            urlencode(&now())
        ))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("\"name\":\"Billing\""), "{text}");
}

fn urlencode(text: &str) -> String {
    text.replace('+', "%2B").replace(':', "%3A")
}

async fn hostile_names_are_client_errors(app: TestApp) {
    catalogue(&app).await;
    let huge = "x".repeat(100_000);
    for (body, field) in [
        (
            json!({"application": "Bill\u{0}ing", "version": "2.0.0", "environment": "STAGING"}),
            "application",
        ),
        (
            json!({"application": "Billing", "version": "2.0.0\u{1b}[31m", "environment": "STAGING"}),
            "version",
        ),
        (
            json!({"application": huge, "version": "2.0.0", "environment": "STAGING"}),
            "application",
        ),
        (
            json!({"application": "Billing", "version": huge, "environment": "STAGING", "createVersion": true}),
            "version",
        ),
        (
            json!({"application": "Billing", "version": "2.0.0", "environment": "   "}),
            "environmentId",
        ),
        (
            json!({"application": "Billing", "version": "9.0.0", "environment": "STAGING", "createVersion": true,
                "releasedAt": "-5000-01-01T00:00:00Z"}),
            "releasedAt",
        ),
    ] {
        let mut body = body;
        body["deploymentDate"] = json!(now());
        let (status, _, problem) = record(&app, body.clone(), None).await;
        assert_eq!(status, 422, "{body}: {problem}");
        assert!(field_error(&problem, field).is_some(), "{field}: {problem}");
    }
    let (status, _, _) = record(
        &app,
        json!({"application": 7, "version": "2.0.0", "environment": "STAGING", "deploymentDate": now()}),
        None,
    )
    .await;
    assert_eq!(status, 422, "a name must be a string");
    assert_eq!(count_deployments(&app).await, 0);
}

for_both_backends!(run;
    hostile_names_are_client_errors,
    names_resolve_case_insensitively,
    ids_and_names_mix_but_never_both,
    unknown_names_are_refused_and_never_created,
    a_version_name_never_resolves_to_another_application,
    create_version_registers_it_once_in_the_same_request,
    idempotent_retries_record_once,
    bad_idempotency_keys_are_client_errors,
    concurrent_requests_with_one_key_record_one_deployment,
    the_record_server_function_takes_names_too,
);

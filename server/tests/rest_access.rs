//! Access control against the real server, once per backend: every protected route refuses
//! strangers, roles hold via cookie and via token, tokens and sessions end when they should.

mod common;

use common::{run_app as run, TestApp, ADMIN_PASSWORD};
use reqwest::{Client, Method};
use serde_json::{json, Value};

/// Every REST route as (METHOD, path with sample ids), read from the OpenAPI document — which is
/// collected from the router's own registrations, so a route added later is checked too.
async fn documented_routes(app: &TestApp) -> Vec<(String, String)> {
    let doc: Value = TestApp::browser()
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut routes = vec![];
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                let concrete = path.replace("{id}", "0190b7a0-0000-7000-8000-000000000000");
                routes.push((method.to_uppercase(), concrete));
            }
        }
    }
    routes
}

for_both_backends!(run;
    every_protected_route_answers_401_without_credentials,
    openapi_document_describes_the_whole_api,
    every_server_function_but_login_answers_401_without_credentials,
    pages_redirect_strangers_to_login,
    viewer_reads_but_cannot_write,
    editor_writes_catalog_but_cannot_manage_users,
    admin_manages_users,
    revoked_and_expired_tokens_are_refused,
    disabling_a_user_ends_their_sessions_and_tokens,
    cross_site_cookie_writes_are_refused,
    failed_logins_say_nothing_specific_and_are_throttled,
    secrets_never_appear_in_responses,
    logout_ends_the_session,
    responses_carry_security_headers,
    metrics_need_credentials_and_count_requests_by_route_pattern,
);

async fn send(client: &Client, app: &TestApp, method: &str, path: &str) -> reqwest::Response {
    client
        .request(
            Method::from_bytes(method.as_bytes()).unwrap(),
            app.url(path),
        )
        .json(&json!({}))
        .send()
        .await
        .unwrap()
}

async fn every_protected_route_answers_401_without_credentials(app: TestApp) {
    let stranger = TestApp::browser();
    let mut routes = documented_routes(&app).await;
    routes.push(("GET".into(), "/api/route-added-later".into()));
    let mut checked = 0;
    for (method, path) in &routes {
        let response = send(&stranger, &app, method, path).await;
        if path == "/api/auth/login" {
            assert_ne!(response.status(), 401, "{path} must stay public");
            continue;
        }
        assert_eq!(response.status(), 401, "{method} {path}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        checked += 1;
    }
    assert!(checked >= 35, "only {checked} routes were checked");
    let public = stranger.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(public.status(), 200);
}

async fn openapi_document_describes_the_whole_api(app: TestApp) {
    let response = TestApp::browser()
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "the document is public");
    let doc: Value = response.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let routes = documented_routes(&app).await;
    for (method, path) in [
        ("POST", "/api/deployments"),
        ("GET", "/api/deployments"),
        ("GET", "/api/deployments/{id}"),
        ("GET", "/api/deployments/current"),
        ("GET", "/api/applications/{id}/deployments"),
        ("GET", "/api/applications/{id}/deployments/current"),
        ("GET", "/api/environments/{id}/deployments/current"),
        ("GET", "/api/deployments.csv"),
        ("GET", "/api/stats"),
        ("DELETE", "/api/deployments/{id}"),
        ("POST", "/api/applications"),
        ("POST", "/api/environments"),
        ("POST", "/api/applications/{id}/versions"),
        ("POST", "/api/tokens"),
    ] {
        let concrete = path.replace("{id}", "0190b7a0-0000-7000-8000-000000000000");
        assert!(
            routes.contains(&(method.to_string(), concrete)),
            "{method} {path} is missing from the OpenAPI document"
        );
    }
    // Every documented route exists in the router (none falls through to "no such endpoint").
    for (method, path) in &routes {
        let response = send(&app.client, &app, method, path).await;
        if response.status() == 404 {
            let body: Value = response.json().await.unwrap();
            assert_ne!(body["detail"], "no such API endpoint", "{method} {path}");
        }
    }
    // Client generators name a function per operation: every operationId is there, unique,
    // and the one the command line prints is the same document.
    let mut ids = std::collections::BTreeMap::new();
    for (path, operations) in doc["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            let id = operation["operationId"].as_str();
            let id = id.unwrap_or_else(|| panic!("{method} {path} has no operationId"));
            if let Some(other) = ids.insert(id.to_string(), format!("{method} {path}")) {
                panic!("operationId {id} is used by {other} and {method} {path}");
            }
        }
    }
    assert_eq!(
        ids.len(),
        routes.len(),
        "one operationId per documented route"
    );
    assert_eq!(
        serde_json::to_value(server::rest::openapi_document()).unwrap(),
        doc,
        "`deploytrack openapi` prints what the server serves"
    );
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for schema in [
        "Deployment",
        "RecordDeploymentRequest",
        "CurrentDeploymentState",
        "Problem",
    ] {
        assert!(schemas.contains_key(schema), "schema {schema}");
    }
}

async fn every_server_function_but_login_answers_401_without_credentials(app: TestApp) {
    // The login page's own: signing in and how to sign in.
    const PUBLIC: [&str; 2] = ["/rpc/login", "/rpc/sign_in_options"];
    let stranger = TestApp::browser();
    let mut checked = 0;
    for (path, _method) in leptos::server_fn::axum::server_fn_paths() {
        let response = stranger
            .post(app.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("")
            .send()
            .await
            .unwrap();
        if PUBLIC.contains(&path) {
            assert_ne!(response.status(), 401, "{path} must stay reachable");
        } else {
            assert_eq!(response.status(), 401, "{path}");
            checked += 1;
        }
    }
    assert!(checked >= 10, "found only {checked} server functions");
}

async fn pages_redirect_strangers_to_login(app: TestApp) {
    let stranger = TestApp::browser();
    let response = stranger
        .get(app.url("/applications?tab=x"))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_redirection());
    assert_eq!(
        response.headers()["location"],
        "/login?next=%2Fapplications%3Ftab%3Dx"
    );
    let login_page = stranger.get(app.url("/login")).send().await.unwrap();
    assert_eq!(login_page.status(), 200);
    assert!(login_page.text().await.unwrap().contains("Sign in"));
}

async fn viewer_reads_but_cannot_write(app: TestApp) {
    let viewer = app.signed_in_as("vera", "viewer").await;
    let viewer_token = TestApp::bearer_client(&app.token_for(&viewer, "ci").await);
    for client in [&viewer, &viewer_token] {
        assert_eq!(
            send(client, &app, "GET", "/api/applications")
                .await
                .status(),
            200
        );
        let refused = client
            .post(app.url("/api/applications"))
            .json(&json!({"name": "Nope"}))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 403);
        let body: Value = refused.json().await.unwrap();
        assert!(body["detail"].as_str().unwrap().contains("editor"));
        assert_eq!(send(client, &app, "GET", "/api/users").await.status(), 403);
    }
    let me: Value = viewer
        .get(app.url("/api/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["username"], "vera");
    assert_eq!(me["role"], "viewer");
}

async fn editor_writes_catalog_but_cannot_manage_users(app: TestApp) {
    let editor = app.signed_in_as("eddie", "editor").await;
    let editor_token = TestApp::bearer_client(&app.token_for(&editor, "ci").await);
    for (client, name) in [(&editor, "Via Cookie"), (&editor_token, "Via Token")] {
        let created = client
            .post(app.url("/api/applications"))
            .json(&json!({"name": name}))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
        let users = client
            .post(app.url("/api/users"))
            .json(&json!({"username": "x", "password": "long-enough-pw", "role": "admin"}))
            .send()
            .await
            .unwrap();
        assert_eq!(users.status(), 403);
    }
}

async fn admin_manages_users(app: TestApp) {
    let created = app
        .create(
            "/api/users",
            json!({"username": "ops", "displayName": "Ops Team", "password": "ops-password-1", "role": "viewer"}),
        )
        .await;
    assert_eq!(created["displayName"], "Ops Team");
    let id = created["id"].as_str().unwrap();
    let promoted: Value = app
        .patch_json(&format!("/api/users/{id}"), json!({"role": "editor"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(promoted["role"], "editor");
    let short = app
        .post_json(
            "/api/users",
            json!({"username": "short", "password": "short", "role": "viewer"}),
        )
        .await;
    assert_eq!(short.status(), 422);
    let duplicate = app
        .post_json(
            "/api/users",
            json!({"username": "OPS", "password": "ops-password-1", "role": "viewer"}),
        )
        .await;
    assert_eq!(duplicate.status(), 409);
    let users: Vec<Value> = app.get("/api/users").await.json().await.unwrap();
    assert_eq!(users.len(), 2);
}

async fn revoked_and_expired_tokens_are_refused(app: TestApp) {
    let created = app.create("/api/tokens", json!({"name": "pipeline"})).await;
    let secret = created["token"].as_str().unwrap().to_string();
    let pipeline = TestApp::bearer_client(&secret);
    assert_eq!(send(&pipeline, &app, "GET", "/api/me").await.status(), 200);
    let listed: Vec<Value> = app.get("/api/tokens").await.json().await.unwrap();
    let entry = listed.iter().find(|t| t["name"] == "pipeline").unwrap();
    assert!(entry["lastUsedAt"].is_string(), "lastUsedAt is updated");

    let id = created["id"].as_str().unwrap();
    let revoked = app
        .client
        .delete(app.url(&format!("/api/tokens/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    assert_eq!(send(&pipeline, &app, "GET", "/api/me").await.status(), 401);

    // A token that expires ten seconds from now works until then and is refused from then on.
    // No fixed sleep: the refusal is polled for, and must not come before the expiry instant.
    // Ten seconds is a generous deadline for creating and using a token on a loaded machine.
    let expires_at = chrono::Utc::now() + chrono::Duration::seconds(10);
    let expiring = app
        .create(
            "/api/tokens",
            json!({"name": "short-lived", "expiresAt": expires_at}),
        )
        .await;
    let short_lived = TestApp::bearer_client(expiring["token"].as_str().unwrap());
    let status = send(&short_lived, &app, "GET", "/api/me").await.status();
    assert!(
        chrono::Utc::now() < expires_at,
        "creating and using a token took over ten seconds"
    );
    assert_eq!(status, 200, "the token works before it expires");
    let refused_by = expires_at + chrono::Duration::seconds(60);
    loop {
        let status = send(&short_lived, &app, "GET", "/api/me").await.status();
        let answered_at = chrono::Utc::now();
        if status == 401 {
            // The server decided before the answer arrived: a refusal answered before the expiry
            // would have been decided before it too.
            assert!(
                answered_at >= expires_at,
                "refused at {answered_at}, before its expiry at {expires_at}"
            );
            break;
        }
        assert_eq!(status, 200);
        assert!(
            chrono::Utc::now() < refused_by,
            "still accepted a minute after its expiry at {expires_at}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }

    let past = app
        .post_json(
            "/api/tokens",
            json!({"name": "x", "expiresAt": "2020-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(past.status(), 422);
}

async fn disabling_a_user_ends_their_sessions_and_tokens(app: TestApp) {
    let editor = app.signed_in_as("leaver", "editor").await;
    let token = TestApp::bearer_client(&app.token_for(&editor, "ci").await);
    let me: Value = editor
        .get(app.url("/api/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = me["id"].as_str().unwrap();

    let disabled = app
        .patch_json(&format!("/api/users/{id}"), json!({"disabled": true}))
        .await;
    assert_eq!(disabled.status(), 200);
    assert_eq!(send(&editor, &app, "GET", "/api/me").await.status(), 401);
    assert_eq!(send(&token, &app, "GET", "/api/me").await.status(), 401);

    app.patch_json(&format!("/api/users/{id}"), json!({"disabled": false}))
        .await;
    assert_eq!(
        send(&editor, &app, "GET", "/api/me").await.status(),
        401,
        "the old session stays ended after re-enabling"
    );
    assert_eq!(send(&token, &app, "GET", "/api/me").await.status(), 200);

    let me_admin: Value = app.get("/api/me").await.json().await.unwrap();
    let self_disable = app
        .patch_json(
            &format!("/api/users/{}", me_admin["id"].as_str().unwrap()),
            json!({"disabled": true}),
        )
        .await;
    assert_eq!(
        self_disable.status(),
        422,
        "admins cannot lock themselves out"
    );
}

async fn cross_site_cookie_writes_are_refused(app: TestApp) {
    let editor = app.signed_in_as("csrf", "editor").await;
    let cross_site = editor
        .post(app.url("/api/applications"))
        .header("origin", "https://evil.example")
        .json(&json!({"name": "Forged"}))
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), 403);
    let fetch_metadata = editor
        .post(app.url("/api/applications"))
        .header("sec-fetch-site", "cross-site")
        .json(&json!({"name": "Forged"}))
        .send()
        .await
        .unwrap();
    assert_eq!(fetch_metadata.status(), 403);
    let same_site = editor
        .post(app.url("/api/applications"))
        .header("origin", app.base.clone())
        .json(&json!({"name": "Genuine"}))
        .send()
        .await
        .unwrap();
    assert_eq!(same_site.status(), 201);
    let list: Vec<Value> = app.get("/api/applications").await.json().await.unwrap();
    assert_eq!(list.len(), 1, "the forged writes stored nothing");
}

async fn failed_logins_say_nothing_specific_and_are_throttled(app: TestApp) {
    let client = TestApp::browser();
    let attempt = |username: &'static str, password: &'static str| {
        let client = client.clone();
        let url = app.url("/api/auth/login");
        async move {
            client
                .post(url)
                .json(&json!({"username": username, "password": password}))
                .send()
                .await
                .unwrap()
        }
    };
    let unknown: Value = attempt("nobody", "whatever-password")
        .await
        .json()
        .await
        .unwrap();
    let wrong: Value = attempt("admin", "wrong-password")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(unknown["detail"], wrong["detail"]);
    assert_eq!(wrong["status"], 401);
    for _ in 0..4 {
        attempt("admin", "wrong-password").await;
    }
    let throttled = attempt("admin", ADMIN_PASSWORD).await;
    assert_eq!(throttled.status(), 429, "even the right password waits");
}

async fn secrets_never_appear_in_responses(app: TestApp) {
    let created = app
        .create("/api/tokens", json!({"name": "secret-check"}))
        .await;
    let secret = created["token"].as_str().unwrap();
    for path in ["/api/tokens", "/api/users", "/api/me"] {
        let body = app.get(path).await.text().await.unwrap();
        assert!(!body.contains(secret), "{path} leaks the token");
        assert!(!body.contains("argon2"), "{path} leaks a password hash");
        assert!(!body.contains(ADMIN_PASSWORD), "{path} leaks a password");
    }
}

async fn logout_ends_the_session(app: TestApp) {
    let viewer = app.signed_in_as("bye", "viewer").await;
    assert_eq!(send(&viewer, &app, "GET", "/api/me").await.status(), 200);
    assert_eq!(
        send(&viewer, &app, "POST", "/api/auth/logout")
            .await
            .status(),
        204
    );
    assert_eq!(send(&viewer, &app, "GET", "/api/me").await.status(), 401);
}

async fn responses_carry_security_headers(app: TestApp) {
    for path in ["/healthz", "/login", "/api/applications"] {
        let response = app.get(path).await;
        let headers = response.headers();
        assert!(headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'"));
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["x-frame-options"], "DENY");
        assert!(headers.contains_key("referrer-policy"));
    }
}

/// `GET /metrics` is for a scraper with a token: strangers get 401 (not the login page), and the
/// counts name route patterns, never the ids in a concrete path.
async fn metrics_need_credentials_and_count_requests_by_route_pattern(app: TestApp) {
    let stranger = TestApp::browser()
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(stranger.status(), 401);

    let created = app
        .create("/api/applications", json!({"name": "Metered"}))
        .await;
    let id = created["id"].as_str().unwrap();
    for _ in 0..3 {
        assert_eq!(
            app.get(&format!("/api/applications/{id}")).await.status(),
            200
        );
    }
    let missing = "0190b7a0-0000-7000-8000-000000000000";
    assert_eq!(
        app.get(&format!("/api/applications/{missing}"))
            .await
            .status(),
        404
    );

    let viewer = app.signed_in_as("scraper", "viewer").await;
    let token = app.token_for(&viewer, "prometheus").await;
    let response = TestApp::bearer_client(&token)
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/openmetrics-text"));
    let body = response.text().await.unwrap();
    let route = "/api/applications/{id}";
    for line in [
        format!(
            r#"deploytrack_http_requests_total{{method="GET",route="{route}",status="200"}} 3"#
        ),
        format!(
            r#"deploytrack_http_requests_total{{method="GET",route="{route}",status="404"}} 1"#
        ),
        r#"deploytrack_http_requests_total{method="GET",route="/metrics",status="401"} 1"#
            .to_string(),
        format!(
            r#"deploytrack_http_request_duration_seconds_count{{method="GET",route="{route}"}} 4"#
        ),
    ] {
        assert!(
            body.lines().any(|l| l == line),
            "missing {line:?} in:\n{body}"
        );
    }
    assert!(!body.contains(id), "a concrete id leaked into a label");
}

//! Hostile input and hostile clients, against the real server, once per backend: out-of-range
//! instants, control characters, the sign-in throttle (no lock-out by strangers, trusted
//! proxies, shared across instances), slow readers, idle sockets, live-feed caps, the CSP nonce
//! and JSON bodies that are not objects.

mod common;

use std::time::Duration;

use common::{run_app as run, server_fn_path, Backend, TestApp, ADMIN_PASSWORD};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

for_both_backends!(run;
    out_of_range_instants_are_refused_everywhere,
    legacy_out_of_range_rows_still_read_and_are_reported,
    control_characters_are_refused_everywhere,
    bodies_must_be_json_objects,
    bad_cursors_are_refused_with_400,
    untrusted_forwarded_headers_are_ignored,
    the_csp_names_a_fresh_nonce_instead_of_unsafe_inline,
    server_functions_answer_the_status_their_error_means,
    no_bad_input_to_a_server_function_answers_5xx,
);

fn id(value: &Value) -> String {
    value["id"].as_str().unwrap().to_string()
}

/// An application with one version, and one environment.
async fn catalogue(app: &TestApp) -> (String, String, String) {
    let application = id(&app
        .create("/api/applications", json!({"name": "Portal"}))
        .await);
    let version = id(&app
        .create(
            &format!("/api/applications/{application}/versions"),
            json!({"versionIdentifier": "1.0.0"}),
        )
        .await);
    let environment = id(&app
        .create("/api/environments", json!({"name": "PROD"}))
        .await);
    (application, version, environment)
}

/// Sends `body` and expects 422 naming `field`.
async fn expect_422(response: reqwest::Response, field: &str) {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 422, "{body}");
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors in {body}"))
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&field), "{field} not in {body}");
}

const OUT_OF_RANGE: [&str; 4] = [
    "-5000-01-01T00:00:00Z",
    "+10000-01-01T00:00:00Z",
    "1969-12-31T23:59:59Z",
    "0001-01-01T00:00:00Z",
];

async fn out_of_range_instants_are_refused_everywhere(app: TestApp) {
    let (application, version, environment) = catalogue(&app).await;
    for date in OUT_OF_RANGE {
        let record = json!({"applicationId": application, "versionId": version,
                            "environmentId": environment, "deploymentDate": date});
        expect_422(
            app.post_json("/api/deployments", record).await,
            "deploymentDate",
        )
        .await;
        expect_422(
            app.post_json(
                &format!("/api/applications/{application}/versions"),
                json!({"versionIdentifier": format!("v{date}"), "releasedAt": date}),
            )
            .await,
            "releasedAt",
        )
        .await;
        expect_422(
            app.patch_json(
                &format!("/api/versions/{version}"),
                json!({"releasedAt": date}),
            )
            .await,
            "releasedAt",
        )
        .await;
        expect_422(
            app.post_json("/api/tokens", json!({"name": "t", "expiresAt": date}))
                .await,
            "expiresAt",
        )
        .await;
        let encoded: String = form_urlencoded::byte_serialize(date.as_bytes()).collect();
        for (path, field) in [
            (format!("/api/deployments?dateFrom={encoded}"), "dateFrom"),
            (format!("/api/deployments?dateTo={encoded}"), "dateTo"),
            (format!("/api/deployments.csv?dateTo={encoded}"), "dateTo"),
            (format!("/api/deployments/current?at={encoded}"), "at"),
            (
                format!("/api/applications/{application}/deployments/current?at={encoded}"),
                "at",
            ),
        ] {
            expect_422(app.get(&path).await, field).await;
        }
    }
    // Nothing was written, and every read still works.
    let history: Value = app.get("/api/deployments").await.json().await.unwrap();
    assert_eq!(history["items"], json!([]));
    let versions: Value = app
        .get(&format!("/api/applications/{application}/versions"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(versions.as_array().unwrap().len(), 1);
    // The edges of the range are accepted and read back as RFC 3339.
    let edge = app
        .create(
            "/api/deployments",
            json!({"applicationId": application, "versionId": version,
                   "environmentId": environment, "deploymentDate": "1970-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(edge["deploymentDate"], "1970-01-01T00:00:00Z");
}

/// A row written before the range was enforced (simulated by lifting the database's own check
/// for one insert) still reads back, and the start-up check reports it.
async fn legacy_out_of_range_rows_still_read_and_are_reported(app: TestApp) {
    let (application, version, environment) = catalogue(&app).await;
    let (lift, date) = if app.db.url.starts_with("sqlite:") {
        (
            "DROP TRIGGER deployment_date_in_range",
            "-5000-01-01T00:00:00.000000Z",
        )
    } else {
        (
            "ALTER TABLE deployment DROP CONSTRAINT deployment_date_in_range",
            "10000-01-01T00:00:00Z",
        )
    };
    app.raw_sql(lift).await.expect(lift);
    let poisoned = uuid::Uuid::now_v7();
    let insert = format!(
        "INSERT INTO deployment (id, application_id, version_id, environment_id, \
         deployment_date, deployed_by, notes, created_at) VALUES ('{poisoned}', \
         '{application}', '{version}', '{environment}', '{date}', 'legacy', NULL, \
         '2026-01-01T00:00:00.000000Z')"
    );
    app.raw_sql(&insert).await.expect("legacy insert");
    for path in [
        "/api/deployments".to_string(),
        format!("/api/deployments/{poisoned}"),
        format!("/api/deployments?applicationId={application}"),
        "/api/deployments.csv".to_string(),
    ] {
        let response = app.get(&path).await;
        assert_eq!(response.status(), 200, "{path}");
    }
    let found = app.db.store().await.out_of_range_instants().await.unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains(&poisoned.to_string()), "{found:?}");
}

async fn control_characters_are_refused_everywhere(app: TestApp) {
    let (application, version, environment) = catalogue(&app).await;
    for bad in ["nul\u{0}here", "esc\u{1b}[31m", "c1\u{85}inside"] {
        expect_422(
            app.post_json("/api/applications", json!({"name": bad}))
                .await,
            "name",
        )
        .await;
        expect_422(
            app.post_json(
                "/api/applications",
                json!({"name": "ok", "description": bad}),
            )
            .await,
            "description",
        )
        .await;
        expect_422(
            app.post_json("/api/environments", json!({"name": bad}))
                .await,
            "name",
        )
        .await;
        expect_422(
            app.post_json(
                &format!("/api/applications/{application}/versions"),
                json!({"versionIdentifier": bad}),
            )
            .await,
            "versionIdentifier",
        )
        .await;
        for field in ["notes", "deployedBy"] {
            let mut record = json!({"applicationId": application, "versionId": version,
                                    "environmentId": environment,
                                    "deploymentDate": "2026-01-01T00:00:00Z"});
            record[field] = json!(bad);
            expect_422(app.post_json("/api/deployments", record).await, field).await;
        }
        expect_422(
            app.post_json("/api/tokens", json!({"name": bad})).await,
            "name",
        )
        .await;
        // Signing in needs no account: a stranger must not be able to cause a 500.
        let login = TestApp::browser()
            .post(app.url("/api/auth/login"))
            .json(&json!({"username": bad, "password": "whatever-password"}))
            .send()
            .await
            .unwrap();
        expect_422(login, "username").await;
        let encoded: String = form_urlencoded::byte_serialize(bad.as_bytes()).collect();
        for field in ["q", "deployedBy"] {
            expect_422(
                app.get(&format!("/api/deployments?{field}={encoded}"))
                    .await,
                field,
            )
            .await;
        }
    }
    // Line breaks and tabs in notes are fine.
    let kept = app
        .create(
            "/api/deployments",
            json!({"applicationId": application, "versionId": version,
                   "environmentId": environment, "deploymentDate": "2026-01-01T00:00:00Z",
                   "notes": "line 1\r\n\tline 2"}),
        )
        .await;
    assert_eq!(kept["notes"], "line 1\r\n\tline 2");
    // A lone surrogate is not JSON text at all; 100 KB is too long; neither is a 5xx.
    let surrogate = app
        .post_raw("/api/applications", r#"{"name": "\ud800"}"#)
        .await;
    assert_eq!(surrogate.status(), 400);
    expect_422(
        app.post_json("/api/applications", json!({"name": "x".repeat(100_000)}))
            .await,
        "name",
    )
    .await;
    for field in ["q", "deployedBy"] {
        let long = app
            .get(&format!("/api/deployments?{field}={}", "x".repeat(60_000)))
            .await;
        expect_422(long, field).await;
    }
}

async fn bodies_must_be_json_objects(app: TestApp) {
    let (application, _, _) = catalogue(&app).await;
    for body in ["[null,null]", "[]", "null", "42", "\"name\""] {
        let response = app
            .client
            .patch(app.url(&format!("/api/applications/{application}")))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        expect_422(response, "body").await;
    }
}

async fn bad_cursors_are_refused_with_400(app: TestApp) {
    use base64::Engine;
    let encode = |raw: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
    let far_future = encode(&format!(
        "+10000-01-01T00:00:00Z|2026-01-01T00:00:00Z|{}",
        uuid::Uuid::nil()
    ));
    let ancient = encode(&format!(
        "0001-01-01T00:00:00Z|0001-01-01T00:00:00Z|{}",
        uuid::Uuid::nil()
    ));
    for cursor in [
        "%00".to_string(),
        "!!!".to_string(),
        encode("not|a|cursor"),
        far_future,
        ancient,
        // (the http crate refuses URIs of 64 KB and more, so this is as long as a client can send)
        "A".repeat(60_000),
    ] {
        let response = app.get(&format!("/api/deployments?cursor={cursor}")).await;
        assert_eq!(response.status(), 400, "cursor {cursor:.40}");
    }
}

/// Without DEPLOYTRACK_TRUSTED_PROXIES, X-Forwarded-For and X-Forwarded-Proto are a client's
/// own words: they change neither the throttle's idea of the client nor the cookie's Secure flag.
async fn untrusted_forwarded_headers_are_ignored(app: TestApp) {
    let attempt = |forwarded_for: &'static str| {
        TestApp::browser()
            .post(app.url("/api/auth/login"))
            .header("x-forwarded-for", forwarded_for)
            .json(&json!({"username": "admin", "password": "wrong-password"}))
            .send()
    };
    for _ in 0..5 {
        assert_eq!(attempt("203.0.113.1").await.unwrap().status(), 401);
    }
    // A new made-up address does not start a new count.
    let throttled = attempt("203.0.113.2").await.unwrap();
    assert_eq!(throttled.status(), 429);
    let wait: u64 = throttled.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&wait), "Retry-After {wait}");

    let other = app.signed_in_as("plain", "viewer").await;
    drop(other);
    let login = TestApp::browser()
        .post(app.url("/api/auth/login"))
        .header("x-forwarded-proto", "https")
        .json(&json!({"username": "plain", "password": "plain-password-123"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let cookie = login.headers()["set-cookie"].to_str().unwrap();
    assert!(!cookie.contains("Secure"), "{cookie}");
}

/// Behind a trusted proxy, a stranger failing as `admin` is throttled with Retry-After, and the
/// real admin signing in from another address is not: no lock-out. The proxy's
/// X-Forwarded-Proto marks the cookie Secure.
async fn strangers_cannot_lock_out_a_user(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |config| {
        config.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await
    else {
        return;
    };
    let sign_in = |client: &'static str, password: &'static str| {
        TestApp::browser()
            .post(app.url("/api/auth/login"))
            .header("x-forwarded-for", client)
            .header("x-forwarded-proto", "https")
            .json(&json!({"username": "admin", "password": password}))
            .send()
    };
    // Free attempts, then doubling waits: a 429 comes within a few more.
    let mut throttled = None;
    for _ in 0..12 {
        let response = sign_in("203.0.113.66", "wrong-password").await.unwrap();
        if response.status() == 429 {
            throttled = Some(response);
            break;
        }
        assert_eq!(response.status(), 401);
    }
    let throttled = throttled.expect("the stranger is throttled");
    assert!(throttled.headers().contains_key("retry-after"));
    // Even the right password waits from the stranger's address...
    assert_eq!(
        sign_in("203.0.113.66", ADMIN_PASSWORD)
            .await
            .unwrap()
            .status(),
        429
    );
    // ...but the admin at their own desk signs in at once.
    let admin = sign_in("198.51.100.7", ADMIN_PASSWORD).await.unwrap();
    assert_eq!(admin.status(), 200);
    let cookie = admin.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("Secure"), "{cookie}");
}

/// The counts live in the database: another instance on it (and a restart) sees them.
async fn the_throttle_holds_across_instances(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let attempt = |base: String| async move {
        TestApp::browser()
            .post(format!("{base}/api/auth/login"))
            .json(&json!({"username": "admin", "password": "wrong-password"}))
            .send()
            .await
            .unwrap()
            .status()
    };
    for _ in 0..5 {
        assert_eq!(attempt(app.base.clone()).await, 401);
    }
    let second = app.second_server().await;
    assert_eq!(attempt(second).await, 429);
}

/// Clients that request heavy responses and never read them hold only their own sockets: the
/// limiter's permits are released once a body is produced.
async fn slow_readers_do_not_hold_up_others(backend: Backend) {
    // Enough cells (4,800) that a matrix (~2 MB of JSON) or the dashboard (~5 MB) overflows the
    // socket buffers (loopback's 64 KB segments let the kernel buffer over a megabyte).
    let Some(db) = common::seeded_db(backend, 600, 8, 6_000, 2).await else {
        return;
    };
    let app = TestApp::spawn_on(db, |_| {}).await;
    let address = app.base.trim_start_matches("http://").to_string();
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut stalled = vec![];
    for n in 0..cores * 2 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let mut stream = socket.connect(address.parse().unwrap()).await.unwrap();
        let path = if n % 2 == 0 {
            "/api/deployments/current"
        } else {
            "/"
        };
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {address}\r\n\
             Authorization: Bearer {}\r\n\r\n",
            app.admin_token
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        stalled.push(stream); // never read
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    for path in ["/api/deployments/current", "/"] {
        let started = std::time::Instant::now();
        let response = tokio::time::timeout(Duration::from_secs(20), app.get(path))
            .await
            .unwrap_or_else(|_| panic!("{path} hung behind {} stalled readers", stalled.len()));
        assert_eq!(response.status(), 200, "{path}");
        response.bytes().await.unwrap();
        eprintln!("{path} answered in {:?}", started.elapsed());
    }
}

/// A socket that sends nothing, or half a request, is closed after the header timeout.
async fn idle_and_half_sent_sockets_are_closed(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |config| config.header_timeout_seconds = 1).await
    else {
        return;
    };
    let address = app.base.trim_start_matches("http://").to_string();
    for opening in ["", "GET / HTTP/1.1\r\nHost: x\r\n"] {
        let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
        stream.write_all(opening.as_bytes()).await.unwrap();
        let mut buffer = vec![0u8; 1024];
        let closed = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match stream.read(&mut buffer).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => continue, // e.g. a 408 before closing
                }
            }
        })
        .await;
        assert!(closed.is_ok(), "socket opened with {opening:?} still open");
    }
}

/// One user may hold a bounded number of live-update streams; others are unaffected.
async fn live_feeds_are_capped_per_user(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |config| config.live_feeds_per_user = 2).await
    else {
        return;
    };
    let open = |client: reqwest::Client| {
        let url = app.url("/api/events");
        async move { client.get(url).send().await.unwrap() }
    };
    let first = open(app.client.clone()).await;
    let second = open(app.client.clone()).await;
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200)
    );
    let third = open(app.client.clone()).await;
    assert_eq!(third.status(), 429);
    assert!(third.headers().contains_key("retry-after"));
    let viewer = app.signed_in_as("watcher", "viewer").await;
    assert_eq!(
        open(viewer).await.status(),
        200,
        "another user still gets one"
    );
}

async fn the_csp_names_a_fresh_nonce_instead_of_unsafe_inline(app: TestApp) {
    let mut nonces = vec![];
    for _ in 0..2 {
        let response = TestApp::browser()
            .get(app.url("/login"))
            .send()
            .await
            .unwrap();
        let policy = response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        let scripts = policy
            .split(';')
            .find(|d| d.trim().starts_with("script-src"))
            .unwrap()
            .to_string();
        assert!(!scripts.contains("unsafe-inline"), "{scripts}");
        let nonce = scripts
            .split("'nonce-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .unwrap_or_else(|| panic!("no nonce in {scripts}"))
            .to_string();
        let html = response.text().await.unwrap();
        assert!(
            html.contains(&format!("nonce=\"{nonce}\"")),
            "the inline script carries the header's nonce"
        );
        nonces.push(nonce);
    }
    assert_ne!(nonces[0], nonces[1], "a fresh nonce per response");
}

macro_rules! per_backend {
    ($($case:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(super::Backend::Sqlite).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(super::Backend::Postgres).await;
                }
            )+
        }
    };
}

mod own_setup {
    use super::*;
    per_backend!(
        strangers_cannot_lock_out_a_user,
        the_throttle_holds_across_instances,
        slow_readers_do_not_hold_up_others,
        idle_and_half_sent_sockets_are_closed,
        live_feeds_are_capped_per_user,
    );
}

/// Posts a form to a server function and returns the status and the problem document.
async fn call_server_fn(client: &reqwest::Client, url: String, form: &str) -> (u16, Value) {
    let response = client
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// Ordinary refusals are the caller's business, not server errors: the same statuses and problem
/// documents as the REST API.
async fn server_functions_answer_the_status_their_error_means(app: TestApp) {
    let (application, version, environment) = catalogue(&app).await;
    let stranger = TestApp::browser();
    let (status, body) = call_server_fn(
        &stranger,
        app.url(server_fn_path("login")),
        "username=admin&password=wrong-password",
    )
    .await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["status"], 401);
    assert_eq!(body["title"], "Unauthorized");

    let viewer = app.signed_in_as("onlooker", "viewer").await;
    let record = format!(
        "application_id={application}&version_id={version}\
         &environment_id={environment}&deployment_date=2026-01-01T00:00:00Z"
    );
    let (status, body) = call_server_fn(
        &viewer,
        app.url(server_fn_path("record_deployment")),
        &record,
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["status"], 403);

    let editor = app.signed_in_as("typist", "editor").await;
    let future = record.replace("2026-01-01", "2999-01-01");
    let (status, body) = call_server_fn(
        &editor,
        app.url(server_fn_path("record_deployment")),
        &future,
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["field"], "deploymentDate");
}

/// Every server function, fed nonsense by a signed-in admin and a viewer, answers 4xx (or 2xx
/// where the nonsense happens to be harmless), never 5xx.
async fn no_bad_input_to_a_server_function_answers_5xx(app: TestApp) {
    let viewer = app.signed_in_as("prober", "viewer").await;
    let admin = app.signed_in_as("chief", "admin").await;
    let long = format!("name={}", "x".repeat(100_000));
    let inputs = [
        "",
        "garbage",
        "name=%00&id=%00&username=%00&password=%00",
        "id=not-a-uuid&application_id=-1&at=-5000-01-01T00:00:00Z",
        "deployment_date=%2B10000-01-01T00:00:00Z&notes=%00",
        long.as_str(),
    ];
    let mut calls = 0;
    for (path, _method) in leptos::server_fn::axum::server_fn_paths() {
        if path.contains("logout") {
            continue; // would end the sessions this test uses
        }
        for client in [&viewer, &admin] {
            for input in inputs {
                let (status, body) = call_server_fn(client, app.url(path), input).await;
                assert!(
                    status < 500,
                    "{path} with {input:.60} answered {status}: {body}"
                );
                calls += 1;
            }
        }
    }
    assert!(calls > 100, "only {calls} calls");
}

//! Passwords, password hashes and token secrets never reach the logs, on either backend.
//!
//! The capture is process-wide, so each case runs alone: on its own runtime, which is shut down
//! (stopping that server's background work) before the next case starts, and each case reads
//! only what was logged after it began. Otherwise one case's teardown — its PostgreSQL database
//! dropped while its webhook sender still polls — shows up as another case's ERROR.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use common::{Backend, TestApp, ADMIN_PASSWORD};
use serde_json::json;

/// Everything logged by this test binary, at every level.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// What was logged since `from` (a length taken earlier).
    fn since(&self, from: usize) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()[from..]).into_owned()
    }
    fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

fn captured() -> Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Captured::default();
        let writer = logs.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .init();
        logs
    })
    .clone()
}

/// Runs `case` alone on a runtime of its own, handing it where its part of the capture starts.
fn alone<F: std::future::Future<Output = ()>>(case: impl FnOnce(Captured, usize) -> F) {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _turn = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let logs = captured();
    let start = logs.len();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(case(logs, start));
    runtime.shutdown_timeout(std::time::Duration::from_secs(10));
}

async fn secrets_stay_out_of_logs(backend: Backend, logs: Captured, start: usize) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user_password = "logged-user-password-1";
    app.create(
        "/api/users",
        json!({"username": "logcheck", "password": user_password, "role": "editor"}),
    )
    .await;
    let browser = TestApp::browser();
    for password in ["wrong-password-xyz", user_password] {
        browser
            .post(app.url("/api/auth/login"))
            .json(&json!({"username": "logcheck", "password": password}))
            .send()
            .await
            .unwrap();
    }
    let token = app.token_for(&browser, "log-check").await;
    TestApp::bearer_client(&token)
        .get(app.url("/api/me"))
        .send()
        .await
        .unwrap();

    let text = logs.since(start);
    assert!(text.contains("signed in"), "the capture works: {text}");
    for secret in [
        ADMIN_PASSWORD,
        user_password,
        "wrong-password-xyz",
        &token,
        &app.admin_token,
        "$argon2",
    ] {
        assert!(!text.contains(secret), "a secret reached the logs");
    }
}

#[test]
fn sqlite_secrets_stay_out_of_logs() {
    alone(|logs, start| secrets_stay_out_of_logs(Backend::Sqlite, logs, start));
}

#[test]
fn postgres_secrets_stay_out_of_logs() {
    alone(|logs, start| secrets_stay_out_of_logs(Backend::Postgres, logs, start));
}

/// An unknown page for a signed-in user is a 404 page, not an ERROR in the log (the fallback
/// renders the app, whose server calls need the service in context too).
async fn unknown_pages_log_no_errors(backend: Backend, logs: Captured, start: usize) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let browser = app.signed_in_as("wanderer", "viewer").await;
    let marker = format!("/no/such/page/{}", uuid::Uuid::now_v7());
    let response = browser
        .get(app.url(&marker))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert!(response.text().await.unwrap().contains("<html"));
    // The request's own trace line proves the capture saw it; no ERROR line came with it.
    let text = logs.since(start);
    assert!(text.contains(&marker), "the capture works");
    let errors: Vec<&str> = text.lines().filter(|l| l.contains("ERROR")).collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn sqlite_unknown_pages_log_no_errors() {
    alone(|logs, start| unknown_pages_log_no_errors(Backend::Sqlite, logs, start));
}

#[test]
fn postgres_unknown_pages_log_no_errors() {
    alone(|logs, start| unknown_pages_log_no_errors(Backend::Postgres, logs, start));
}

/// A slow request can be attributed from the logs: with debug enabled, the service entry point
/// and each store call it makes close their spans with the time they were busy, named, with the
/// ids they worked on, inside the request's span.
async fn requests_can_be_attributed_to_service_and_store_calls(
    backend: Backend,
    logs: Captured,
    start: usize,
) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let created: serde_json::Value = app
        .create("/api/applications", json!({"name": "traced"}))
        .await;
    let id = created["id"].as_str().unwrap().to_string();
    let response = app
        .client
        .get(app.url(&format!("/api/applications/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = logs.since(start);
    // The store's span closes inside the service's (same name, one per layer), inside the
    // request's, with its busy time and the id.
    let attributed = text.lines().any(|line| {
        line.matches("get_application{").count() == 2
            && line.contains("request{")
            && line.contains(&id)
            && line.contains("time.busy")
    });
    assert!(attributed, "no nested span closed for the read: {text}");
}

#[test]
fn sqlite_requests_can_be_attributed_to_service_and_store_calls() {
    alone(|logs, start| {
        requests_can_be_attributed_to_service_and_store_calls(Backend::Sqlite, logs, start)
    });
}

#[test]
fn postgres_requests_can_be_attributed_to_service_and_store_calls() {
    alone(|logs, start| {
        requests_can_be_attributed_to_service_and_store_calls(Backend::Postgres, logs, start)
    });
}

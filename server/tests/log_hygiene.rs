//! Passwords, password hashes and token secrets never reach the logs, on either backend.

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

fn captured() -> Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Captured::default();
        let writer = logs.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .init();
        logs
    })
    .clone()
}

async fn secrets_stay_out_of_logs(backend: Backend) {
    let logs = captured();
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

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_secrets_stay_out_of_logs() {
    secrets_stay_out_of_logs(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_secrets_stay_out_of_logs() {
    secrets_stay_out_of_logs(Backend::Postgres).await;
}

//! The `deploytrack record` / `deploytrack current` commands, run as a pipeline runs them (the
//! real binary, DEPLOYTRACK_URL and DEPLOYTRACK_TOKEN in the environment) against the real server.

mod common;

use std::time::Duration;

use common::{run_app as run, TestApp};
use serde_json::{json, Value};

struct Outcome {
    status: i32,
    stdout: String,
    stderr: String,
}

/// Runs `deploytrack <args>` against `base` with `token`.
async fn deploytrack(base: &str, token: &str, args: &[&str]) -> Outcome {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_deploytrack"))
        .args(args)
        .env("DEPLOYTRACK_URL", base)
        .env("DEPLOYTRACK_TOKEN", token)
        .env_remove("DATABASE_URL")
        .kill_on_drop(true)
        .output()
        .await
        .expect("run the binary");
    Outcome {
        status: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

async fn catalogue(app: &TestApp) {
    let billing = app
        .create("/api/applications", json!({"name": "Billing"}))
        .await;
    app.create(
        &format!(
            "/api/applications/{}/versions",
            billing["id"].as_str().unwrap()
        ),
        json!({"versionIdentifier": "1.0.0"}),
    )
    .await;
    app.create("/api/environments", json!({"name": "STAGING"}))
        .await;
    app.create("/api/environments", json!({"name": "PROD"}))
        .await;
}

async fn history(app: &TestApp) -> Vec<Value> {
    let page: Value = app.get("/api/deployments").await.json().await.unwrap();
    page["items"].as_array().unwrap().clone()
}

async fn record_prints_the_id_and_the_page(app: TestApp) {
    catalogue(&app).await;
    let out = deploytrack(
        &app.base,
        &app.admin_token,
        &[
            "record",
            "--app",
            "billing",
            "--version",
            "1.1.0",
            "--env",
            "staging",
            "--create-version",
            "--commit-sha",
            "0123abcd",
            "--notes",
            "CHG-1234",
        ],
    )
    .await;
    assert_eq!(out.status, 0, "{}", out.stderr);
    let (id, url) = out.stdout.trim_end().split_once('\t').expect("id<TAB>url");
    assert_eq!(url, format!("{}/deployments/{id}", app.base));
    assert!(
        out.stderr.contains("Recorded Billing 1.1.0 in STAGING"),
        "{}",
        out.stderr
    );
    let recorded = history(&app).await;
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0]["id"], id);
    assert_eq!(recorded[0]["notes"], "CHG-1234");
    assert_eq!(recorded[0]["version"]["versionIdentifier"], "1.1.0");
}

async fn record_refused_exits_1_with_the_servers_reason(app: TestApp) {
    catalogue(&app).await;
    let out = deploytrack(
        &app.base,
        &app.admin_token,
        &[
            "record",
            "--app",
            "Billing",
            "--version",
            "9.9.9",
            "--env",
            "NOPE",
        ],
    )
    .await;
    assert_eq!(out.status, 1);
    assert!(out.stdout.is_empty());
    assert!(out.stderr.contains("422"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("environment: Unknown environment 'NOPE'"),
        "{}",
        out.stderr
    );
    assert!(out
        .stderr
        .contains("Unknown version '9.9.9' of application 'Billing'"));
    assert!(history(&app).await.is_empty());

    let out = deploytrack(
        &app.base,
        "dt_not-a-token",
        &[
            "record",
            "--app",
            "Billing",
            "--version",
            "1.0.0",
            "--env",
            "PROD",
        ],
    )
    .await;
    assert_eq!(out.status, 1);
    assert!(out.stderr.contains("401"), "{}", out.stderr);
}

async fn the_same_key_records_once(app: TestApp) {
    catalogue(&app).await;
    let args = [
        "record",
        "--app",
        "Billing",
        "--version",
        "1.0.0",
        "--env",
        "PROD",
        "--idempotency-key",
        "github-run-981-attempt-1",
        // A re-run must send the same request: the same date, not "now" again.
        "--date",
        "2026-11-30T10:00:00Z",
    ];
    let first = deploytrack(&app.base, &app.admin_token, &args).await;
    let second = deploytrack(&app.base, &app.admin_token, &args).await;
    assert_eq!((first.status, second.status), (0, 0), "{}", second.stderr);
    assert_eq!(first.stdout, second.stdout);
    assert!(
        second.stderr.contains("Already recorded"),
        "{}",
        second.stderr
    );
    assert_eq!(history(&app).await.len(), 1);

    // Without --date, a second run sends another "now": refused, with the reason spelled out.
    let undated = &args[..args.len() - 2];
    let third = deploytrack(&app.base, &app.admin_token, undated).await;
    assert_eq!(third.status, 1, "{}", third.stderr);
    assert!(
        third
            .stderr
            .contains("no --date was given, so this run sent the current time"),
        "{}",
        third.stderr
    );
    assert_eq!(history(&app).await.len(), 1);
}

/// The server is down when the pipeline reports; it comes up during the command's retries, and
/// the deployment is recorded once.
async fn record_retries_until_the_server_answers(app: TestApp) {
    catalogue(&app).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let token = app.admin_token.clone();
    let command = tokio::spawn(async move {
        deploytrack(
            &base,
            &token,
            &[
                "record",
                "--app",
                "Billing",
                "--version",
                "1.0.0",
                "--env",
                "PROD",
                "--retries",
                "6",
            ],
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let config = server::Config::for_database(app.db.url.clone());
    let router = server::build_app(&config).await.unwrap();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("the port is still free");
    tokio::spawn(async move {
        server::serve_on(listener, router, &config, std::future::pending()).await
    });
    let out = command.await.unwrap();
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("cannot reach"),
        "it had to retry: {}",
        out.stderr
    );
    assert!(out.stderr.contains("trying again"), "{}", out.stderr);
    assert_eq!(history(&app).await.len(), 1);
}

async fn record_gives_up_after_its_retries(app: TestApp) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = deploytrack(
        &format!("http://127.0.0.1:{port}"),
        &app.admin_token,
        &[
            "record",
            "--app",
            "Billing",
            "--version",
            "1.0.0",
            "--env",
            "PROD",
            "--retries",
            "1",
        ],
    )
    .await;
    assert_eq!(out.status, 3, "{}", out.stderr);
    assert!(
        out.stderr.contains("gave up after 2 tries"),
        "{}",
        out.stderr
    );
}

async fn current_answers_what_runs_where(app: TestApp) {
    catalogue(&app).await;
    for env in ["STAGING", "PROD"] {
        let out = deploytrack(
            &app.base,
            &app.admin_token,
            &[
                "record",
                "--app",
                "Billing",
                "--version",
                "1.0.0",
                "--env",
                env,
            ],
        )
        .await;
        assert_eq!(out.status, 0, "{}", out.stderr);
    }
    let out = deploytrack(
        &app.base,
        &app.admin_token,
        &[
            "record",
            "--app",
            "Billing",
            "--version",
            "1.2.0",
            "--env",
            "STAGING",
            "--create-version",
        ],
    )
    .await;
    assert_eq!(out.status, 0, "{}", out.stderr);

    let table = deploytrack(&app.base, &app.admin_token, &["current"]).await;
    assert_eq!(table.status, 0, "{}", table.stderr);
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert!(lines[0].starts_with("APPLICATION"), "{}", table.stdout);
    assert_eq!(lines.len(), 3, "{}", table.stdout);
    assert!(table.stdout.contains("STAGING") && table.stdout.contains("1.2.0"));

    let json_out = deploytrack(
        &app.base,
        &app.admin_token,
        &[
            "current", "--app", "billing", "--env", "staging", "--format", "json",
        ],
    )
    .await;
    let states: Value = serde_json::from_str(&json_out.stdout).unwrap();
    assert_eq!(states.as_array().unwrap().len(), 1);
    assert_eq!(states[0]["version"]["versionIdentifier"], "1.2.0");

    let expect = |env: &'static str, version: &'static str| {
        let (base, token) = (app.base.clone(), app.admin_token.clone());
        async move {
            deploytrack(
                &base,
                &token,
                &[
                    "current",
                    "--app",
                    "Billing",
                    "--env",
                    env,
                    "--expect-version",
                    version,
                ],
            )
            .await
            .status
        }
    };
    assert_eq!(expect("STAGING", "1.2.0").await, 0);
    assert_eq!(expect("PROD", "1.2.0").await, 1, "not in PROD yet");
    assert_eq!(expect("PROD", "1.0.0").await, 0);

    let unknown = deploytrack(&app.base, &app.admin_token, &["current", "--env", "PRDO"]).await;
    assert_eq!(unknown.status, 1);
    assert!(
        unknown.stderr.contains("Unknown environment 'PRDO'"),
        "{}",
        unknown.stderr
    );
}

for_both_backends!(run;
    record_prints_the_id_and_the_page,
    record_refused_exits_1_with_the_servers_reason,
    the_same_key_records_once,
    record_retries_until_the_server_answers,
    record_gives_up_after_its_retries,
    current_answers_what_runs_where,
);

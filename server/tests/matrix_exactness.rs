//! The matrix — kept and patched between requests, or computed for a past instant — must always
//! equal what the full history says. Randomized histories (seeded; the seed is printed) of
//! records, back-dated records, retractions, renames and archived environments, written
//! through two servers on one database, are checked after every change against a brute-force
//! computation from the whole history read through the API. Time travel answers from
//! checkpoints three deployments apart here, so they are written, marked stale and written again
//! all along; the state is checked both while the builder is behind and once it caught up.

mod common;

use std::collections::HashMap;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use common::{Backend, TestApp};
use serde_json::{json, Value};

for_both_backends!(run_with_close_checkpoints;
    kept_matrix_and_time_travel_equal_the_history_after_every_change,
    a_change_committed_out_of_counter_order_is_still_shown,
);

/// Live deployments between two checkpoints in these tests.
const CHECKPOINT_EVERY: i64 = 3;

/// Runs a case on a server whose checkpoints are [`CHECKPOINT_EVERY`] deployments apart.
async fn run_with_close_checkpoints<F, Fut>(backend: Backend, case: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let close = |config: &mut server::Config| config.checkpoint_every = Some(CHECKPOINT_EVERY);
    if let Some(app) = TestApp::spawn_with(backend, close).await {
        case(app).await;
    }
}

/// Checkpoints stale or not (rows an UPDATE that changes nothing finds).
async fn checkpoints(app: &TestApp, stale: bool) -> u64 {
    let sql = format!("UPDATE matrix_checkpoint SET position = position WHERE stale = {stale}");
    app.raw_sql(&sql).await.unwrap()
}

/// Waits (at most 10 s) until the builders wrote every stale checkpoint again.
async fn checkpoints_written(app: &TestApp) {
    for _ in 0..200 {
        if checkpoints(app, true).await == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("stale checkpoints were not written again within 10 s");
}

/// Who deployed what runs in each application's DEV cell, by application name.
async fn deployers(app: &TestApp) -> HashMap<String, Value> {
    let cells: Vec<Value> = app
        .get("/api/deployments/current")
        .await
        .json()
        .await
        .unwrap();
    cells
        .iter()
        .map(|c| (text(&c["application"]["name"]), c["deployedBy"].clone()))
        .collect()
}

/// PostgreSQL's writers draw a pair's revision before they commit, so a change can land with a
/// revision no higher than the highest a kept matrix has already seen, and the "pairs above the
/// highest revision" read misses it. Simulated here on both backends by raising an older pair's
/// revision (and changing its cell) with raw SQL to no more than the highest: the kept matrix
/// must still notice, by the stamp's sum, and show the change.
async fn a_change_committed_out_of_counter_order_is_still_shown(app: TestApp) {
    app.create("/api/environments", json!({"name": "DEV"}))
        .await;
    for name in ["Alpha", "Beta"] {
        app.create("/api/applications", json!({"name": name})).await;
    }
    for (application, version, day) in [
        ("Alpha", "1.0.0", 3),
        ("Beta", "2.0.0", 4),
        ("Beta", "2.0.1", 5),
    ] {
        app.create(
            "/api/deployments",
            json!({"application": application, "version": version, "environment": "DEV",
                   "createVersion": true, "deployedBy": "ci",
                   "deploymentDate": format!("2026-11-0{day}T12:00:00Z")}),
        )
        .await;
    }
    assert_eq!(
        deployers(&app).await["Alpha"],
        "ci",
        "the matrix is kept from here on"
    );
    let raised = app
        .raw_sql(
            "UPDATE current_deployment SET deployed_by = 'late writer', revision = revision + 1
              WHERE application_id = (SELECT id FROM application WHERE name = 'Alpha')",
        )
        .await;
    assert_eq!(raised, Ok(1));
    let highest_is_beta = app
        .raw_sql(
            "UPDATE current_deployment SET live_deployments = live_deployments
              WHERE application_id = (SELECT id FROM application WHERE name = 'Beta')
                AND revision >= (SELECT MAX(revision) FROM current_deployment)",
        )
        .await;
    assert_eq!(
        highest_is_beta,
        Ok(1),
        "Alpha's new revision is not above Beta's"
    );
    let shown = deployers(&app).await;
    assert_eq!(shown["Alpha"], "late writer");
    assert_eq!(shown["Beta"], "ci");
}

/// One cell as the brute force and the API both describe it.
#[derive(Debug, PartialEq, Eq, Clone)]
struct Cell {
    application: String,
    environment: String,
    deployment: String,
    version: String,
    is_rollback: bool,
}

/// A live deployment as the history lists it.
#[derive(Debug, Clone)]
struct Record {
    id: String,
    application: String,
    environment: String,
    version: String,
    deployment_date: DateTime<Utc>,
    created_at: DateTime<Utc>,
}

fn text(value: &Value) -> String {
    value.as_str().unwrap().to_string()
}

fn instant(value: &Value) -> DateTime<Utc> {
    text(value).parse().unwrap()
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Every live deployment, newest first (history order), read page by page.
async fn whole_history(app: &TestApp) -> Vec<Record> {
    let mut records = vec![];
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/deployments?limit=500&cursor={c}"),
            None => "/api/deployments?limit=500".into(),
        };
        let page: Value = app.get(&path).await.json().await.unwrap();
        for item in page["items"].as_array().unwrap() {
            records.push(Record {
                id: text(&item["id"]),
                application: text(&item["application"]["id"]),
                environment: text(&item["environment"]["id"]),
                version: text(&item["version"]["versionIdentifier"]),
                deployment_date: instant(&item["deploymentDate"]),
                created_at: instant(&item["createdAt"]),
            });
        }
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    records
}

/// Active rows or columns, in matrix order, as ids.
async fn active(app: &TestApp, path: &str) -> Vec<String> {
    let listed: Vec<Value> = app.get(path).await.json().await.unwrap();
    listed.iter().map(|item| text(&item["id"])).collect()
}

/// The matrix at `at` (None: now) computed from the history alone: per active pair, the latest
/// live deployment dated at or before `at`, a rollback when its version is older than the
/// previous one's (versions are numbered in creation order here).
fn brute_force(
    history: &[Record],
    applications: &[String],
    environments: &[String],
    at: Option<DateTime<Utc>>,
) -> Vec<Cell> {
    let mut sorted: Vec<&Record> = history
        .iter()
        .filter(|r| at.is_none_or(|at| r.deployment_date <= at))
        .collect();
    sorted.sort_by(|a, b| {
        (b.deployment_date, b.created_at, &b.id).cmp(&(a.deployment_date, a.created_at, &a.id))
    });
    let mut per_pair: HashMap<(&str, &str), Vec<&Record>> = HashMap::new();
    for record in sorted {
        per_pair
            .entry((&record.application, &record.environment))
            .or_default()
            .push(record);
    }
    let number = |version: &str| version.trim_start_matches("1.").parse::<u32>().unwrap();
    let mut cells = vec![];
    for application in applications {
        for environment in environments {
            let Some(list) = per_pair.get(&(application.as_str(), environment.as_str())) else {
                continue;
            };
            let current = list[0];
            cells.push(Cell {
                application: application.clone(),
                environment: environment.clone(),
                deployment: current.id.clone(),
                version: current.version.clone(),
                is_rollback: list
                    .get(1)
                    .is_some_and(|previous| number(&current.version) < number(&previous.version)),
            });
        }
    }
    cells
}

async fn matrix_from(client: &reqwest::Client, base: &str, query: &str) -> Vec<Cell> {
    let response = client
        .get(format!("{base}/api/deployments/current{query}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{query}");
    let states: Vec<Value> = response.json().await.unwrap();
    states.iter().map(cell_of).collect()
}

/// A cell of the REST API's current state.
fn cell_of(state: &Value) -> Cell {
    Cell {
        application: text(&state["application"]["id"]),
        environment: text(&state["environment"]["id"]),
        deployment: text(&state["deploymentId"]),
        version: text(&state["version"]["versionIdentifier"]),
        is_rollback: state["isRollback"].as_bool().unwrap(),
    }
}

/// The dashboard's page of the matrix (a server function), as cells.
async fn dashboard_page(app: &TestApp, at: Option<DateTime<Utc>>) -> Vec<Cell> {
    let body = at.map_or(String::new(), |at| {
        format!("at={}", rfc3339(at).replace('+', "%2B"))
    });
    let response = app
        .client
        .post(app.url(common::server_fn_path("dashboard_matrix")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let page: Value = response.json().await.unwrap();
    let ids = |list: &str| -> Vec<String> {
        page["view"][list]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| text(&item["id"]))
            .collect()
    };
    let (rows, columns) = (ids("applications"), ids("environments"));
    page["view"]["cells"]
        .as_array()
        .unwrap()
        .iter()
        // A cell travels as [row, column, version, deployment id, date, deployed by, rollback].
        .map(|cell| Cell {
            application: rows[cell[0].as_u64().unwrap() as usize].clone(),
            environment: columns[cell[1].as_u64().unwrap() as usize].clone(),
            deployment: text(&cell[3]),
            version: text(&cell[2]),
            is_rollback: cell[6].as_bool().unwrap(),
        })
        .collect()
}

async fn kept_matrix_and_time_travel_equal_the_history_after_every_change(app: TestApp) {
    let seed = std::env::var("MATRIX_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    eprintln!("matrix exactness seed: {seed} (MATRIX_SEED={seed} repeats this history)");
    let mut rng = fastrand::Rng::with_seed(seed);
    let second =
        (app.second_server_with(|config| config.checkpoint_every = Some(CHECKPOINT_EVERY))).await;
    let servers = [app.base.clone(), second];

    let mut applications = vec![];
    let mut versions: HashMap<String, Vec<String>> = HashMap::new();
    for name in ["Portal", "billing", "Checkout", "Search"] {
        let created = app
            .create("/api/applications", json!({ "name": name }))
            .await;
        let id = text(&created["id"]);
        for number in 0..4 {
            let version = app
                .create(
                    &format!("/api/applications/{id}/versions"),
                    json!({ "versionIdentifier": format!("1.{number}") }),
                )
                .await;
            versions
                .entry(id.clone())
                .or_default()
                .push(text(&version["id"]));
        }
        applications.push(id);
    }
    let mut environments = vec![];
    for name in ["DEV", "STAGING", "PROD"] {
        let created = app
            .create("/api/environments", json!({ "name": name }))
            .await;
        environments.push(text(&created["id"]));
    }

    let now = Utc::now();
    // A small set of dates, so ties on deploymentDate (broken by createdAt and id) happen.
    let dates: Vec<DateTime<Utc>> = (1..=12).map(|d| now - Duration::days(d * 3)).collect();
    // Live deployments with their dates; the dates of retracted ones stay instants to check.
    let mut live: Vec<(String, DateTime<Utc>)> = vec![];
    let mut retracted_dates: Vec<DateTime<Utc>> = vec![];
    let mut changes = vec![];
    for step in 0..60 {
        // Both servers keep their matrix between changes, so the next read patches it.
        for base in &servers {
            matrix_from(&app.client, base, "").await;
        }
        let server = &servers[rng.usize(..servers.len())];
        let roll = rng.u32(..100);
        let change = if roll < 70 || live.is_empty() {
            let application = &applications[rng.usize(..applications.len())];
            let candidates = &versions[application];
            let version = &candidates[rng.usize(..candidates.len())];
            let environment = &environments[rng.usize(..environments.len())];
            let date = if rng.bool() {
                now - Duration::seconds(step)
            } else {
                dates[rng.usize(..dates.len())]
            };
            let response = app
                .client
                .post(format!("{server}/api/deployments"))
                .json(&json!({
                    "applicationId": application, "versionId": version,
                    "environmentId": environment, "deploymentDate": rfc3339(date),
                }))
                .send()
                .await
                .unwrap();
            let status = response.status();
            let body: Value = response.json().await.unwrap();
            // Recording into an archived environment is refused; nothing changed then.
            assert!(status == 201 || status == 422, "record: {status} {body}");
            if status == 201 {
                live.push((text(&body["id"]), instant(&body["deploymentDate"])));
            }
            format!("record {date} ({status})")
        } else if roll < 90 {
            let (deployment, date) = live.swap_remove(rng.usize(..live.len()));
            retracted_dates.push(date);
            let response = app
                .client
                .delete(format!("{server}/api/deployments/{deployment}"))
                .json(&json!({ "reason": "randomized test" }))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "retract {deployment}");
            format!("retract {deployment}")
        } else if roll < 97 {
            let application = &applications[rng.usize(..applications.len())];
            let name = format!("App {}", rng.u32(..1_000_000));
            let response = app
                .client
                .patch(format!("{server}/api/applications/{application}"))
                .json(&json!({ "name": name }))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "rename {application}");
            format!("rename {application} to {name}")
        } else {
            let environment = &environments[rng.usize(..environments.len())];
            let response = app
                .client
                .post(format!("{server}/api/environments/{environment}/archive"))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "archive {environment}");
            format!("archive {environment}")
        };
        changes.push(change);
        if step % 2 == 0 {
            // Odd steps are checked whatever the builders have done by then.
            checkpoints_written(&app).await;
        }

        let history = whole_history(&app).await;
        let shown_applications = active(&app, "/api/applications").await;
        let shown_environments = active(&app, "/api/environments").await;
        let expected = brute_force(&history, &shown_applications, &shown_environments, None);
        for base in &servers {
            assert_eq!(
                matrix_from(&app.client, base, "").await,
                expected,
                "the matrix of {base} after step {step} (seed {seed}): {changes:#?}"
            );
        }
        assert_eq!(
            dashboard_page(&app, None).await,
            expected,
            "the dashboard after step {step} (seed {seed}): {changes:#?}"
        );

        // Time travel at the instants where answers change (a live deployment's date, a
        // retracted one's), and just before them, on both servers (each keeps its own lists).
        let mut instants: Vec<DateTime<Utc>> =
            (0..3).map(|_| dates[rng.usize(..dates.len())]).collect();
        let live_date = history
            .get(rng.usize(..history.len().max(1)))
            .map(|r| r.deployment_date);
        let retracted_date = retracted_dates.get(rng.usize(..retracted_dates.len().max(1)));
        for date in live_date.iter().chain(retracted_date) {
            instants.push(*date);
            instants.push(*date - Duration::microseconds(1));
        }
        for at in instants {
            let expected =
                brute_force(&history, &shown_applications, &shown_environments, Some(at));
            let query = format!("?at={}", rfc3339(at).replace('+', "%2B"));
            for base in &servers {
                assert_eq!(
                    matrix_from(&app.client, base, &query).await,
                    expected,
                    "time travel to {at} on {base} after step {step} (seed {seed}): {changes:#?}"
                );
            }
            let paged: Vec<Cell> = app
                .follow_pages(&format!("/api/deployments/current{query}&limit=3"))
                .await
                .iter()
                .flatten()
                .map(cell_of)
                .collect();
            assert_eq!(
                paged, expected,
                "paged time travel to {at} after step {step} (seed {seed})"
            );
            assert_eq!(
                dashboard_page(&app, Some(at)).await,
                expected,
                "the dashboard at {at} after step {step} (seed {seed}): {changes:#?}"
            );
        }
    }
    checkpoints_written(&app).await;
    // The builders keep one about every CHECKPOINT_EVERY live deployments (records into an
    // archived environment are refused, so some histories stay short).
    let written = checkpoints(&app, false).await;
    assert!(
        written >= (live.len() as u64 / (2 * CHECKPOINT_EVERY as u64)).max(1),
        "time travel was checked against checkpoints (seed {seed}): {written} written for {} live deployments",
        live.len()
    );
}

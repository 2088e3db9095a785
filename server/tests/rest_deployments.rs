//! The deployment story's backend acceptance criteria, against the real server, once per backend.

mod common;

use std::collections::HashSet;

use chrono::{Duration, Utc};
use common::{run_app as run, server_fn_path, TestApp};
use serde_json::{json, Value};

/// Ids of a small catalogue: two applications with versions, three environments.
struct World {
    portal: String,
    billing: String,
    v: std::collections::HashMap<&'static str, String>,
    billing_v1: String,
    dev: String,
    staging: String,
    prod: String,
}

fn id(value: &Value) -> String {
    value["id"].as_str().unwrap().to_string()
}

async fn world(app: &TestApp) -> World {
    let portal = id(&app
        .create("/api/applications", json!({"name": "Customer Portal"}))
        .await);
    let billing = id(&app
        .create("/api/applications", json!({"name": "Billing"}))
        .await);
    let mut v = std::collections::HashMap::new();
    for identifier in ["1.0.0", "1.1.0", "1.2.0", "2.0.0"] {
        let created = app
            .create(
                &format!("/api/applications/{portal}/versions"),
                json!({"versionIdentifier": identifier}),
            )
            .await;
        v.insert(identifier, id(&created));
    }
    let billing_v1 = id(&app
        .create(
            &format!("/api/applications/{billing}/versions"),
            json!({"versionIdentifier": "1.0.0"}),
        )
        .await);
    let dev = id(&app
        .create("/api/environments", json!({"name": "DEV"}))
        .await);
    let staging = id(&app
        .create("/api/environments", json!({"name": "STAGING"}))
        .await);
    let prod = id(&app
        .create(
            "/api/environments",
            json!({"name": "PROD-EU", "isProduction": true}),
        )
        .await);
    World {
        portal,
        billing,
        v,
        billing_v1,
        dev,
        staging,
        prod,
    }
}

fn ago(days: i64) -> String {
    (Utc::now() - Duration::days(days)).to_rfc3339()
}

async fn record(
    app: &TestApp,
    application: &str,
    version: &str,
    environment: &str,
    date: &str,
) -> Value {
    app.create(
        "/api/deployments",
        json!({"applicationId": application, "versionId": version, "environmentId": environment, "deploymentDate": date}),
    )
    .await
}

/// Retracts a deployment as the admin; the retraction must succeed.
async fn retract(app: &TestApp, deployment: &Value, reason: &str) {
    let response = app
        .client
        .delete(app.url(&format!("/api/deployments/{}", id(deployment))))
        .json(&json!({ "reason": reason }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "retracting {}", id(deployment));
}

async fn current(app: &TestApp, path: &str) -> Vec<Value> {
    let response = app.get(path).await;
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

fn version_in(states: &[Value], environment: &str) -> Option<String> {
    states
        .iter()
        .find(|s| s["environment"]["id"] == environment)
        .map(|s| {
            s["version"]["versionIdentifier"]
                .as_str()
                .unwrap()
                .to_string()
        })
}

/// The registered path of a server function, by name.
/// Sends the request and returns its JSON body.
async fn json_of(request: reqwest::RequestBuilder) -> Value {
    request.send().await.unwrap().json().await.unwrap()
}

async fn history(app: &TestApp, query: &str) -> Vec<Value> {
    let response = app.get(&format!("/api/deployments?{query}")).await;
    assert_eq!(response.status(), 200, "{query}");
    let page: Value = response.json().await.unwrap();
    page["items"].as_array().unwrap().clone()
}

for_both_backends!(run;
    record_valid_deployment,
    the_answer_to_a_record_is_the_record_as_read_back,
    environments_named_in_a_record_are_found_whatever_their_case,
    record_rejects_version_of_other_application,
    record_rejects_future_date,
    record_rejects_unknown_and_archived_ids,
    deployments_cannot_be_edited_through_the_api,
    database_triggers_refuse_changes_from_raw_sql,
    current_state_shows_latest_per_pair_everywhere,
    back_dated_record_does_not_displace_newer_one,
    retraction_recomputes_current_state_and_hides_the_record,
    history_is_complete_and_ordered,
    history_filters_each_narrow_the_list,
    cursor_pages_have_no_gaps_or_duplicates_while_records_arrive,
    time_travel_shows_the_state_at_an_instant,
    rollbacks_are_flagged,
    current_rollback_mark_follows_back_dated_records_and_retractions,
    dashboard_matrix_places_cells_by_row_and_column,
    current_matrix_pages_by_application_follow_the_link_header,
    full_matrix_shows_changes_made_through_another_server,
    csv_export_is_filtered_and_formula_safe,
    concurrent_recorders_keep_every_record_and_the_right_current,
    stats_count_this_week_per_environment_and_per_week,
    dashboard_side_has_the_figures_and_the_last_ten_deployments,
    dashboard_figures_count_changes_made_through_another_server,
    comparison_lists_promotion_candidates_first,
);

async fn record_valid_deployment(app: TestApp) {
    let w = world(&app).await;
    let date = ago(1);
    let response = app
        .post_json(
            "/api/deployments",
            json!({"applicationId": w.portal, "versionId": w.v["1.2.0"], "environmentId": w.prod,
                   "deploymentDate": date, "notes": "  Hotfix for login issue "}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let d: Value = response.json().await.unwrap();
    assert_eq!(location, format!("/api/deployments/{}", id(&d)));
    assert_eq!(
        d["application"],
        json!({"id": w.portal, "name": "Customer Portal"})
    );
    assert_eq!(
        d["version"],
        json!({"id": w.v["1.2.0"], "versionIdentifier": "1.2.0"})
    );
    assert_eq!(d["environment"], json!({"id": w.prod, "name": "PROD-EU"}));
    assert_eq!(
        d["deployedBy"], "admin",
        "defaults to the authenticated user"
    );
    assert_eq!(d["notes"], "Hotfix for login issue");
    assert_eq!(d["isRollback"], false);
    assert!(d.get("deletedAt").is_none());
    let fetched: Value = app.get(&location).await.json().await.unwrap();
    assert_eq!(fetched, d);

    let named = record_with(&app, &w, json!({"deployedBy": "github-actions"})).await;
    assert_eq!(named["deployedBy"], "github-actions");
}

async fn record_with(app: &TestApp, w: &World, extra: Value) -> Value {
    let mut body = json!({"applicationId": w.portal, "versionId": w.v["1.0.0"], "environmentId": w.dev,
                          "deploymentDate": ago(0)});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    app.create("/api/deployments", body).await
}

async fn expect_422(app: &TestApp, body: Value, field: &str) -> String {
    let response = app.post_json("/api/deployments", body).await;
    assert_eq!(response.status(), 422);
    let problem: Value = response.json().await.unwrap();
    let error = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["field"] == field)
        .unwrap_or_else(|| panic!("no error on {field}: {problem}"));
    error["message"].as_str().unwrap().to_string()
}

/// An environment named in a record is found as the database finds it (ASCII case aside,
/// non-ASCII names as written), including one created or archived since the last record: the
/// server's kept list of environments is never the reason for a wrong answer.
async fn environments_named_in_a_record_are_found_whatever_their_case(app: TestApp) {
    let w = world(&app).await;
    let by_name = |environment: &str| {
        json!({"applicationId": w.portal, "versionId": w.v["1.0.0"], "environment": environment,
               "deploymentDate": ago(0)})
    };
    let recorded = app.create("/api/deployments", by_name("staging")).await;
    assert_eq!(recorded["environment"]["id"], w.staging.as_str());
    let recorded = app.create("/api/deployments", by_name(" prod-eu ")).await;
    assert_eq!(recorded["environment"]["id"], w.prod.as_str());
    // Created after the server kept its list.
    let quality = id(&app
        .create("/api/environments", json!({"name": "Qualität"}))
        .await);
    let recorded = app.create("/api/deployments", by_name("Qualität")).await;
    assert_eq!(recorded["environment"]["id"], quality.as_str());
    let recorded = app.create("/api/deployments", by_name("qualität")).await;
    assert_eq!(recorded["environment"]["id"], quality.as_str());
    assert!(expect_422(&app, by_name("Qualitaet"), "environment")
        .await
        .contains("Unknown environment 'Qualitaet'"));
    // Archived after the server kept its list.
    app.post_json(&format!("/api/environments/{}/archive", w.dev), json!({}))
        .await;
    assert!(expect_422(&app, by_name("DEV"), "environment")
        .await
        .contains("archived"));
    let by_id = json!({"applicationId": w.portal, "versionId": w.v["1.0.0"], "environmentId": w.dev,
                       "deploymentDate": ago(0)});
    assert!(expect_422(&app, by_id, "environmentId")
        .await
        .contains("archived"));
}

async fn record_rejects_version_of_other_application(app: TestApp) {
    let w = world(&app).await;
    let message = expect_422(
        &app,
        json!({"applicationId": w.portal, "versionId": w.billing_v1, "environmentId": w.prod, "deploymentDate": ago(0)}),
        "versionId",
    )
    .await;
    assert_eq!(message, "Version does not belong to selected application");
    assert!(history(&app, "").await.is_empty(), "nothing was stored");
}

async fn record_rejects_future_date(app: TestApp) {
    let w = world(&app).await;
    let tomorrow = (Utc::now() + Duration::days(1)).to_rfc3339();
    let message = expect_422(
        &app,
        json!({"applicationId": w.portal, "versionId": w.v["1.0.0"], "environmentId": w.prod, "deploymentDate": tomorrow}),
        "deploymentDate",
    )
    .await;
    assert_eq!(message, "Deployment date cannot be in future");
    let response = app
        .post_json(
            "/api/deployments",
            json!({"applicationId": w.portal, "versionId": w.v["1.0.0"], "environmentId": w.prod, "deploymentDate": tomorrow}),
        )
        .await;
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["detail"], "Deployment date cannot be in future");
    // A clock a little ahead of the server's is tolerated.
    let skewed = (Utc::now() + Duration::seconds(30)).to_rfc3339();
    record(&app, &w.portal, &w.v["1.0.0"], &w.prod, &skewed).await;
}

async fn record_rejects_unknown_and_archived_ids(app: TestApp) {
    let w = world(&app).await;
    let nobody = "0190b7a0-0000-7000-8000-000000000000";
    let base = json!({"applicationId": w.portal, "versionId": w.v["1.0.0"], "environmentId": w.prod, "deploymentDate": ago(0)});
    for field in ["applicationId", "versionId", "environmentId"] {
        let mut body = base.clone();
        body[field] = json!(nobody);
        let message = expect_422(&app, body, field).await;
        assert!(message.contains("no "), "{message}");
    }
    app.post_json(
        &format!("/api/environments/{}/archive", w.staging),
        json!({}),
    )
    .await;
    let mut body = base.clone();
    body["environmentId"] = json!(w.staging);
    assert!(expect_422(&app, body, "environmentId")
        .await
        .contains("archived"));

    let bad_uuid = app
        .post_raw(
            "/api/deployments",
            r#"{"applicationId": "nope", "versionId": "x", "environmentId": "y", "deploymentDate": "2026-01-01T00:00:00Z"}"#,
        )
        .await;
    assert_eq!(bad_uuid.status(), 422);
    let missing = app
        .post_json("/api/deployments", json!({"applicationId": w.portal}))
        .await;
    assert_eq!(missing.status(), 422);
    assert!(history(&app, "").await.is_empty());
}

async fn deployments_cannot_be_edited_through_the_api(app: TestApp) {
    let w = world(&app).await;
    let d = record(&app, &w.portal, &w.v["1.0.0"], &w.prod, &ago(1)).await;
    let path = format!("/api/deployments/{}", id(&d));
    for method in [reqwest::Method::PUT, reqwest::Method::PATCH] {
        let response = app
            .client
            .request(method, app.url(&path))
            .json(&json!({"notes": "changed"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 405);
    }
    let unchanged: Value = app.get(&path).await.json().await.unwrap();
    assert_eq!(unchanged, d);
}

/// Statements that would rewrite a recorded row by inserting over it: SQLite's REPLACE (which
/// deletes without firing DELETE triggers) and PostgreSQL's upsert.
fn replacements(app: &TestApp, deployment_id: &str) -> Vec<String> {
    const COLUMNS: &str =
        "id, application_id, version_id, environment_id, deployment_date, deployed_by, notes, created_at";
    let copy = format!(
        "SELECT id, application_id, version_id, environment_id, deployment_date, 'mallory', \
         'tampered', created_at FROM deployment WHERE id = '{deployment_id}'"
    );
    if app.db.url.starts_with("sqlite:") {
        vec![
            format!("REPLACE INTO deployment ({COLUMNS}) {copy}"),
            format!("INSERT OR REPLACE INTO deployment ({COLUMNS}) {copy}"),
        ]
    } else {
        vec![format!(
            "INSERT INTO deployment ({COLUMNS}) {copy} \
             ON CONFLICT (id) DO UPDATE SET notes = excluded.notes"
        )]
    }
}

async fn database_triggers_refuse_changes_from_raw_sql(app: TestApp) {
    let w = world(&app).await;
    let d = record(&app, &w.portal, &w.v["1.0.0"], &w.prod, &ago(1)).await;
    let target = format!("WHERE id = '{}'", id(&d));
    for sql in [
        format!("UPDATE deployment SET notes = 'tampered' {target}"),
        format!(
            "UPDATE deployment SET version_id = '{}' {target}",
            w.v["2.0.0"]
        ),
        format!("UPDATE deployment SET deleted_at = created_at {target}"),
        format!("DELETE FROM deployment {target}"),
    ]
    .into_iter()
    .chain(replacements(&app, &id(&d)))
    {
        let err = app.raw_sql(&sql).await.expect_err(&sql);
        assert!(err.contains("immutable"), "{sql}: {err}");
    }
    let unchanged: Value = app
        .get(&format!("/api/deployments/{}", id(&d)))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(unchanged, d, "no statement above changed the record");
    // The one permitted change: a complete soft-delete, once.
    let retract = format!(
        "UPDATE deployment SET deleted_at = created_at, deleted_by = 'dba', delete_reason = 'test' {target}"
    );
    assert_eq!(app.raw_sql(&retract).await, Ok(1));
    assert!(app
        .raw_sql(&retract)
        .await
        .unwrap_err()
        .contains("immutable"));
}

async fn current_state_shows_latest_per_pair_everywhere(app: TestApp) {
    let w = world(&app).await;
    record(&app, &w.portal, &w.v["1.0.0"], &w.dev, &ago(10)).await;
    record(&app, &w.portal, &w.v["1.1.0"], &w.dev, &ago(5)).await;
    record(&app, &w.portal, &w.v["1.0.0"], &w.prod, &ago(9)).await;
    record(&app, &w.billing, &w.billing_v1, &w.prod, &ago(3)).await;

    let all = current(&app, "/api/deployments/current").await;
    let cells: Vec<(&str, &str)> = all
        .iter()
        .map(|s| {
            (
                s["application"]["name"].as_str().unwrap(),
                s["environment"]["name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        cells,
        [
            ("Billing", "PROD-EU"),
            ("Customer Portal", "DEV"),
            ("Customer Portal", "PROD-EU")
        ],
        "matrix order: applications by name, environments in pipeline order"
    );
    let first = &all[0];
    assert!(first.get("deploymentDate").is_some() && first.get("deployedBy").is_some());

    let portal = current(
        &app,
        &format!("/api/applications/{}/deployments/current", w.portal),
    )
    .await;
    assert_eq!(portal.len(), 2);
    assert_eq!(version_in(&portal, &w.dev).as_deref(), Some("1.1.0"));
    assert_eq!(version_in(&portal, &w.prod).as_deref(), Some("1.0.0"));
    assert_eq!(version_in(&portal, &w.staging), None);

    let prod = current(
        &app,
        &format!("/api/environments/{}/deployments/current", w.prod),
    )
    .await;
    let names: Vec<&str> = prod
        .iter()
        .map(|s| s["application"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Billing", "Customer Portal"]);

    let one = current(
        &app,
        &format!(
            "/api/deployments/current?applicationId={}&environmentId={}",
            w.portal, w.dev
        ),
    )
    .await;
    assert_eq!(one.len(), 1);
    assert_eq!(one[0]["version"]["versionIdentifier"], "1.1.0");

    // A new record replaces the current one at once.
    record(&app, &w.portal, &w.v["1.2.0"], &w.dev, &ago(0)).await;
    let portal = current(
        &app,
        &format!("/api/applications/{}/deployments/current", w.portal),
    )
    .await;
    assert_eq!(version_in(&portal, &w.dev).as_deref(), Some("1.2.0"));
    let unknown = app
        .get("/api/applications/0190b7a0-0000-7000-8000-000000000000/deployments/current")
        .await;
    assert_eq!(unknown.status(), 404);
}

async fn back_dated_record_does_not_displace_newer_one(app: TestApp) {
    let w = world(&app).await;
    record(&app, &w.portal, &w.v["1.2.0"], &w.prod, &ago(1)).await;
    let late = record(&app, &w.portal, &w.v["1.1.0"], &w.prod, &ago(20)).await;
    let states = current(
        &app,
        &format!("/api/environments/{}/deployments/current", w.prod),
    )
    .await;
    assert_eq!(version_in(&states, &w.prod).as_deref(), Some("1.2.0"));
    // It is in history, in its place by date.
    let items = history(&app, "").await;
    assert_eq!(items.last().unwrap()["id"], late["id"]);
}

async fn retraction_recomputes_current_state_and_hides_the_record(app: TestApp) {
    let w = world(&app).await;
    record(&app, &w.portal, &w.v["1.1.0"], &w.prod, &ago(5)).await;
    let wrong = record(&app, &w.portal, &w.v["1.2.0"], &w.prod, &ago(1)).await;
    let path = format!("/api/deployments/{}", id(&wrong));

    let editor = app.signed_in_as("ed", "editor").await;
    let refused = editor
        .delete(app.url(&path))
        .json(&json!({"reason": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let no_reason = app.client.delete(app.url(&path)).send().await.unwrap();
    assert_eq!(no_reason.status(), 422);

    let retracted = app
        .client
        .delete(app.url(&path))
        .json(&json!({"reason": "recorded against the wrong environment"}))
        .send()
        .await
        .unwrap();
    assert_eq!(retracted.status(), 200);
    let body: Value = retracted.json().await.unwrap();
    assert_eq!(body["deletedBy"], "admin");
    assert_eq!(
        body["deleteReason"],
        "recorded against the wrong environment"
    );

    let states = current(
        &app,
        &format!("/api/environments/{}/deployments/current", w.prod),
    )
    .await;
    assert_eq!(version_in(&states, &w.prod).as_deref(), Some("1.1.0"));
    assert_eq!(history(&app, "").await.len(), 1, "hidden by default");
    let with_deleted = history(&app, "includeDeleted=true").await;
    assert_eq!(with_deleted.len(), 2);
    assert!(with_deleted[0]["deletedAt"].is_string());
    assert_eq!(
        editor
            .get(app.url("/api/deployments?includeDeleted=true"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        editor.get(app.url(&path)).send().await.unwrap().status(),
        404
    );

    let again = app
        .client
        .delete(app.url(&path))
        .json(&json!({"reason": "again"}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409);
}

async fn history_is_complete_and_ordered(app: TestApp) {
    let w = world(&app).await;
    let same_day = ago(2);
    let mut ids = vec![];
    for (version, env, date) in [
        ("1.0.0", &w.dev, ago(30)),
        ("1.1.0", &w.staging, same_day.clone()),
        ("1.2.0", &w.prod, same_day.clone()),
        ("2.0.0", &w.dev, ago(1)),
    ] {
        ids.push(id(&record(&app, &w.portal, &w.v[version], env, &date).await));
    }
    let items = history(&app, "").await;
    let listed: Vec<String> = items.iter().map(id).collect();
    // Newest date first; equal dates: later-created first.
    assert_eq!(
        listed,
        [
            ids[3].clone(),
            ids[2].clone(),
            ids[1].clone(),
            ids[0].clone()
        ]
    );
    let for_app: Value = app
        .get(&format!("/api/applications/{}/deployments", w.portal))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(for_app["items"].as_array().unwrap().len(), 4);
    assert_eq!(for_app["nextCursor"], Value::Null);
}

async fn history_filters_each_narrow_the_list(app: TestApp) {
    let w = world(&app).await;
    record(&app, &w.portal, &w.v["1.0.0"], &w.dev, &ago(40)).await;
    record(&app, &w.portal, &w.v["1.1.0"], &w.prod, &ago(20)).await;
    record(&app, &w.billing, &w.billing_v1, &w.prod, &ago(10)).await;
    app.create(
        "/api/deployments",
        json!({"applicationId": w.portal, "versionId": w.v["1.2.0"], "environmentId": w.staging,
               "deploymentDate": ago(5), "deployedBy": "jenkins", "notes": "Hotfix for login issue (50% faster)"}),
    )
    .await;
    let count = |q: String| {
        let app = &app;
        async move { history(app, &q).await.len() }
    };
    assert_eq!(count(format!("applicationId={}", w.portal)).await, 3);
    assert_eq!(count(format!("environmentId={}", w.prod)).await, 2);
    assert_eq!(count(format!("versionId={}", w.v["1.1.0"])).await, 1);
    let from = (Utc::now() - Duration::days(25)).format("%Y-%m-%dT%H:%M:%SZ");
    let to = (Utc::now() - Duration::days(8)).format("%Y-%m-%dT%H:%M:%SZ");
    assert_eq!(count(format!("dateFrom={from}")).await, 3);
    assert_eq!(count(format!("dateTo={to}")).await, 3);
    assert_eq!(count(format!("dateFrom={from}&dateTo={to}")).await, 2);
    assert_eq!(count("deployedBy=JENKINS".into()).await, 1);
    assert_eq!(count("q=login".into()).await, 1);
    assert_eq!(count("q=50%25".into()).await, 1);
    assert_eq!(
        count("q=1.1".into()).await,
        1,
        "matches the version identifier"
    );
    assert_eq!(count("q=nothing-matches".into()).await, 0);
    assert_eq!(
        app.get(&format!("/api/deployments?dateFrom={to}&dateTo={from}"))
            .await
            .status(),
        422
    );
    assert_eq!(
        app.get("/api/deployments?dateFrom=yesterday")
            .await
            .status(),
        400
    );
    assert_eq!(app.get("/api/deployments?limit=501").await.status(), 422);
    assert_eq!(app.get("/api/deployments?cursor=bogus").await.status(), 400);
}

async fn cursor_pages_have_no_gaps_or_duplicates_while_records_arrive(app: TestApp) {
    let w = world(&app).await;
    let mut recorded = HashSet::new();
    for i in 0..25 {
        let d = record(&app, &w.portal, &w.v["1.0.0"], &w.dev, &ago(30 - i)).await;
        recorded.insert(id(&d));
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/deployments?limit=7&cursor={c}"),
            None => "/api/deployments?limit=7".into(),
        };
        let page: Value = app.get(&path).await.json().await.unwrap();
        seen.extend(page["items"].as_array().unwrap().iter().map(id));
        // New (newer) records arrive between pages; they belong before page one, not in between.
        record(&app, &w.portal, &w.v["1.1.0"], &w.prod, &ago(0)).await;
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    let unique: HashSet<String> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "no duplicates");
    assert_eq!(unique, recorded, "no gaps");
}

async fn time_travel_shows_the_state_at_an_instant(app: TestApp) {
    let w = world(&app).await;
    record(&app, &w.portal, &w.v["1.0.0"], &w.prod, &ago(30)).await;
    record(&app, &w.portal, &w.v["1.1.0"], &w.prod, &ago(10)).await;
    record(&app, &w.portal, &w.v["1.2.0"], &w.dev, &ago(5)).await;
    let at = |days: i64| {
        (Utc::now() - Duration::days(days))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    };
    let then = current(&app, &format!("/api/deployments/current?at={}", at(20))).await;
    assert_eq!(then.len(), 1);
    assert_eq!(version_in(&then, &w.prod).as_deref(), Some("1.0.0"));
    let later = current(
        &app,
        &format!(
            "/api/applications/{}/deployments/current?at={}",
            w.portal,
            at(7)
        ),
    )
    .await;
    assert_eq!(version_in(&later, &w.prod).as_deref(), Some("1.1.0"));
    assert_eq!(version_in(&later, &w.dev), None);
    let env = current(
        &app,
        &format!(
            "/api/environments/{}/deployments/current?at={}",
            w.dev,
            at(1)
        ),
    )
    .await;
    assert_eq!(version_in(&env, &w.dev).as_deref(), Some("1.2.0"));
    let before_everything =
        current(&app, &format!("/api/deployments/current?at={}", at(365))).await;
    assert!(before_everything.is_empty());
}

async fn rollbacks_are_flagged(app: TestApp) {
    let w = world(&app).await;
    let first = record(&app, &w.portal, &w.v["1.2.0"], &w.prod, &ago(3)).await;
    let rollback = record(&app, &w.portal, &w.v["1.1.0"], &w.prod, &ago(2)).await;
    let forward = record(&app, &w.portal, &w.v["2.0.0"], &w.prod, &ago(1)).await;
    assert_eq!(first["isRollback"], false);
    assert_eq!(rollback["isRollback"], true);
    assert_eq!(forward["isRollback"], false);
    let other_env = record(&app, &w.portal, &w.v["1.0.0"], &w.dev, &ago(1)).await;
    assert_eq!(
        other_env["isRollback"], false,
        "other environments do not count"
    );
    let items = history(&app, &format!("environmentId={}", w.prod)).await;
    let flags: Vec<bool> = items
        .iter()
        .map(|d| d["isRollback"].as_bool().unwrap())
        .collect();
    assert_eq!(flags, [false, true, false]);
}

/// The matrix's rollback mark compares the current version with the one that ran just before
/// it, which a back-dated record or a retraction can change without changing what is current.
async fn current_rollback_mark_follows_back_dated_records_and_retractions(app: TestApp) {
    let w = world(&app).await;
    let prod_cell = |states: Vec<Value>| {
        let cell = states
            .into_iter()
            .find(|s| s["environment"]["id"] == w.prod.as_str())
            .expect("a current deployment in prod");
        (
            cell["version"]["versionIdentifier"]
                .as_str()
                .unwrap()
                .to_string(),
            cell["isRollback"].as_bool().unwrap(),
        )
    };
    let now_path = format!("/api/applications/{}/deployments/current", w.portal);
    record(&app, &w.portal, &w.v["1.0.0"], &w.prod, &ago(10)).await;
    record(&app, &w.portal, &w.v["1.1.0"], &w.prod, &ago(2)).await;
    assert_eq!(
        prod_cell(current(&app, &now_path).await),
        ("1.1.0".into(), false)
    );
    // 2.0.0 ran between them: 1.1.0 is now a step back from what ran before it.
    let between = record(&app, &w.portal, &w.v["2.0.0"], &w.prod, &ago(5)).await;
    assert_eq!(
        prod_cell(current(&app, &now_path).await),
        ("1.1.0".into(), true)
    );
    let matrix = current(&app, "/api/deployments/current").await;
    let portal_cells: Vec<Value> = matrix
        .into_iter()
        .filter(|s| s["application"]["id"] == w.portal.as_str())
        .collect();
    assert_eq!(prod_cell(portal_cells), ("1.1.0".into(), true));
    // As it was three days ago: 2.0.0, a step forward from 1.0.0.
    let three_days_ago = (Utc::now() - Duration::days(3))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    assert_eq!(
        prod_cell(current(&app, &format!("{now_path}?at={three_days_ago}")).await),
        ("2.0.0".into(), false)
    );
    assert_eq!(
        prod_cell(
            current(
                &app,
                &format!("{now_path}?at={}", ago(1).replace('+', "%2B"))
            )
            .await
        ),
        ("1.1.0".into(), true)
    );
    retract(&app, &between, "never reached prod").await;
    assert_eq!(
        prod_cell(current(&app, &now_path).await),
        ("1.1.0".into(), false)
    );
}

/// The dashboard's compact matrix (a server function) names each row and column once and
/// points every cell at them.
async fn dashboard_matrix_places_cells_by_row_and_column(app: TestApp) {
    let w = world(&app).await;
    record(&app, &w.portal, &w.v["1.0.0"], &w.prod, &ago(9)).await;
    record(&app, &w.portal, &w.v["1.1.0"], &w.prod, &ago(3)).await;
    let billing = record(&app, &w.billing, &w.billing_v1, &w.dev, &ago(1)).await;
    let path = server_fn_path("dashboard_matrix");
    let call = |body: String| {
        app.client
            .post(app.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let response = call(String::new()).await.unwrap();
    assert_eq!(response.status(), 200);
    let page: Value = response.json().await.unwrap();
    assert_eq!(
        (&page["first"], &page["matching"], &page["total"]),
        (&json!(0), &json!(2), &json!(2))
    );
    let matrix = &page["view"];
    let names = |list: &str| -> Vec<String> {
        matrix[list]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item["name"].as_str().unwrap().to_string())
            .collect()
    };
    let (rows, columns) = (names("applications"), names("environments"));
    assert_eq!(rows, ["Billing", "Customer Portal"]);
    assert_eq!(columns, ["DEV", "STAGING", "PROD-EU"]);
    let mut cells: Vec<(String, String, String, bool)> = matrix["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|cell| {
            (
                // [row, column, version, deployment id, date, deployed by, rollback]
                rows[cell[0].as_u64().unwrap() as usize].clone(),
                columns[cell[1].as_u64().unwrap() as usize].clone(),
                cell[2].as_str().unwrap().to_string(),
                cell[6].as_bool().unwrap(),
            )
        })
        .collect();
    cells.sort();
    let billing_version = billing["version"]["versionIdentifier"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        cells,
        [
            ("Billing".into(), "DEV".into(), billing_version, false),
            (
                "Customer Portal".into(),
                "PROD-EU".into(),
                "1.1.0".into(),
                false
            ),
        ]
    );
    // As it was five days ago: only the portal's 1.0.0.
    let past = call(format!("at={}", ago(5).replace('+', "%2B")))
        .await
        .unwrap();
    assert_eq!(past.status(), 200);
    let past: Value = past.json().await.unwrap();
    let past_cells = past["view"]["cells"].as_array().unwrap();
    assert_eq!(past_cells.len(), 1);
    assert_eq!(past_cells[0][2], "1.0.0");
}

/// Each server reuses its last full matrix while the database's matrix stamp is unchanged; a
/// change made through another server on the same database must show at once, on the REST
/// matrix and on the dashboard's.
async fn full_matrix_shows_changes_made_through_another_server(app: TestApp) {
    let w = world(&app).await;
    let other = app.second_server().await;
    let matrix_path = server_fn_path("dashboard_matrix");
    // What the other server shows: (application, environment, version) per REST cell, and the
    // versions its dashboard matrix holds.
    let seen_by_other = || async {
        let rest = json_of(app.client.get(format!("{other}/api/deployments/current"))).await;
        let dashboard = json_of(
            app.client
                .post(format!("{other}{matrix_path}"))
                .header("content-type", "application/x-www-form-urlencoded"),
        )
        .await;
        let rest: Vec<(String, String, String)> = rest
            .as_array()
            .unwrap()
            .iter()
            .map(|cell| {
                let text = |pointer: &str| cell.pointer(pointer).unwrap().as_str().unwrap().into();
                (
                    text("/application/name"),
                    text("/environment/name"),
                    text("/version/versionIdentifier"),
                )
            })
            .collect();
        let rows: Vec<String> = dashboard["view"]["applications"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap().into())
            .collect();
        let mut versions: Vec<String> = dashboard["view"]["cells"]
            .as_array()
            .unwrap()
            .iter()
            .map(|cell| cell[2].as_str().unwrap().into())
            .collect();
        versions.sort();
        (rest, rows, versions)
    };
    let cell = |app: &str, env: &str, version: &str| (app.into(), env.into(), version.into());

    let first = record(&app, &w.portal, &w.v["1.0.0"], &w.prod, &ago(3)).await;
    let (rest, _, versions) = seen_by_other().await;
    assert_eq!(rest, [cell("Customer Portal", "PROD-EU", "1.0.0")]);
    assert_eq!(versions, ["1.0.0"]);
    // Asked twice, unchanged: the kept matrix answers and must be the same.
    assert_eq!(seen_by_other().await.0, rest);

    let newer = record(&app, &w.portal, &w.v["1.1.0"], &w.prod, &ago(1)).await;
    let (rest, _, versions) = seen_by_other().await;
    assert_eq!(rest, [cell("Customer Portal", "PROD-EU", "1.1.0")]);
    assert_eq!(versions, ["1.1.0"]);

    retract(&app, &newer, "wrong build").await;
    assert_eq!(
        seen_by_other().await.0,
        [cell("Customer Portal", "PROD-EU", "1.0.0")]
    );
    retract(&app, &first, "wrong environment").await;
    let (rest, _, versions) = seen_by_other().await;
    assert!(
        rest.is_empty() && versions.is_empty(),
        "{rest:?} {versions:?}"
    );

    record(&app, &w.portal, &w.v["1.2.0"], &w.dev, &ago(1)).await;
    let renamed = app
        .patch_json(
            &format!("/api/applications/{}", w.portal),
            json!({"name": "Portal"}),
        )
        .await;
    assert_eq!(renamed.status(), 200);
    let (rest, rows, _) = seen_by_other().await;
    assert_eq!(rest, [cell("Portal", "DEV", "1.2.0")]);
    assert_eq!(rows, ["Billing", "Portal"]);
}

async fn csv_export_is_filtered_and_formula_safe(app: TestApp) {
    let w = world(&app).await;
    app.create(
        "/api/deployments",
        json!({"applicationId": w.portal, "versionId": w.v["1.0.0"], "environmentId": w.prod,
               "deploymentDate": ago(1), "notes": "=HYPERLINK(\"http://evil\")", "deployedBy": "@bot"}),
    )
    .await;
    record(&app, &w.billing, &w.billing_v1, &w.dev, &ago(1)).await;
    let response = app
        .get(&format!("/api/deployments.csv?environmentId={}", w.prod))
        .await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = response.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[0], "id");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(&rows[0][1], "Customer Portal");
    assert_eq!(&rows[0][5], "'@bot");
    assert_eq!(&rows[0][6], "'=HYPERLINK(\"http://evil\")");
}

async fn concurrent_recorders_keep_every_record_and_the_right_current(app: TestApp) {
    let w = world(&app).await;
    let base = Utc::now() - Duration::hours(1);
    let mut tasks = Vec::new();
    for i in 0..20 {
        let client = app.client.clone();
        let url = app.url("/api/deployments");
        let version = w.v[["1.0.0", "1.1.0", "1.2.0", "2.0.0"][i % 4]].clone();
        let body = json!({"applicationId": w.portal, "versionId": version, "environmentId": w.prod,
                          "deploymentDate": (base + Duration::minutes((i * 7 % 20) as i64)).to_rfc3339()});
        tasks.push(tokio::spawn(async move {
            let response = client.post(url).json(&body).send().await.unwrap();
            assert_eq!(response.status(), 201);
            response.json::<Value>().await.unwrap()
        }));
    }
    let mut created = Vec::new();
    for task in tasks {
        created.push(task.await.unwrap());
    }
    let items = history(&app, "limit=500").await;
    assert_eq!(items.len(), 20, "every 201 is stored");
    let latest = created
        .iter()
        .max_by(|a, b| {
            (
                a["deploymentDate"].as_str(),
                a["createdAt"].as_str(),
                a["id"].as_str(),
            )
                .cmp(&(
                    b["deploymentDate"].as_str(),
                    b["createdAt"].as_str(),
                    b["id"].as_str(),
                ))
        })
        .unwrap();
    let states = current(
        &app,
        &format!("/api/environments/{}/deployments/current", w.prod),
    )
    .await;
    assert_eq!(states[0]["deploymentId"], latest["id"]);
    assert_eq!(items[0]["id"], latest["id"]);
}

async fn stats_count_this_week_per_environment_and_per_week(app: TestApp) {
    let w = world(&app).await;
    record(&app, &w.portal, &w.v["1.0.0"], &w.prod, &ago(0)).await;
    record(&app, &w.portal, &w.v["1.1.0"], &w.prod, &ago(100)).await;
    record(&app, &w.billing, &w.billing_v1, &w.dev, &ago(0)).await;
    // An archived application is not counted.
    let archived = app
        .create("/api/applications", json!({"name": "Retired"}))
        .await;
    let response = app
        .client
        .post(app.url(&format!("/api/applications/{}/archive", id(&archived))))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let stats: Value = app.get("/api/stats").await.json().await.unwrap();
    assert_eq!(stats["applications"], 2);
    assert_eq!(stats["environments"], 3);
    assert_eq!(stats["deploymentsThisWeek"], 2);
    let per_env = stats["perEnvironment"].as_array().unwrap();
    let prod = per_env
        .iter()
        .find(|e| e["environment"]["id"] == w.prod)
        .unwrap();
    assert_eq!(prod["deployments"], 2);
    let weeks = stats["perWeek"].as_array().unwrap();
    assert_eq!(weeks.len(), 12);
    assert_eq!(weeks[11]["deployments"], 2);

    // Retracted deployments no longer count, down to an environment with none left.
    for deployment in history(&app, "").await {
        retract(&app, &deployment, "test data").await;
        if deployment["environment"]["id"] == w.prod.as_str() {
            break;
        }
    }
    let stats: Value = app.get("/api/stats").await.json().await.unwrap();
    let count_in = |env: &str| {
        stats["perEnvironment"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["environment"]["id"] == env)
            .unwrap()["deployments"]
            .as_i64()
            .unwrap()
    };
    assert_eq!((count_in(&w.prod), count_in(&w.dev)), (1, 0));
}

/// What the dashboard shows beside the matrix, from its one server function.
async fn dashboard_side(app: &TestApp) -> Value {
    let response = app
        .client
        .post(app.url(common::server_fn_path("load_dashboard_side")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn dashboard_side_has_the_figures_and_the_last_ten_deployments(app: TestApp) {
    let w = world(&app).await;
    assert_eq!(dashboard_side(&app).await["recent"], json!([]));
    // Twelve deployments, recorded out of date order: the list is by deployment date.
    let mut recorded = vec![];
    for days in [3, 11, 0, 7, 1, 9, 5, 2, 10, 4, 8, 6] {
        recorded.push((
            days,
            record(&app, &w.portal, &w.v["1.0.0"], &w.dev, &ago(days)).await,
        ));
    }
    let newest = |skip_retracted: &str| -> Vec<String> {
        let mut by_date = recorded.clone();
        by_date.sort_by_key(|(days, _)| *days);
        by_date
            .iter()
            .map(|(_, d)| id(d))
            .filter(|d| d != skip_retracted)
            .take(10)
            .collect()
    };
    let ids = |side: &Value| -> Vec<String> {
        side["recent"].as_array().unwrap().iter().map(id).collect()
    };
    let side = dashboard_side(&app).await;
    assert_eq!(ids(&side), newest(""));
    assert_eq!(side["figures"]["applications"], 2);
    assert_eq!(side["figures"]["environments"], 3);
    assert_eq!(side["figures"]["perWeek"].as_array().unwrap().len(), 12);
    // A retracted deployment leaves the list; the next older one takes its place.
    let today = &recorded.iter().find(|(days, _)| *days == 0).unwrap().1;
    retract(&app, today, "recorded by mistake").await;
    assert_eq!(ids(&dashboard_side(&app).await), newest(&id(today)));
}

/// Each server keeps its dashboard figures while the database's matrix stamp and the week are
/// unchanged; what another server on the same database records (back-dated too), retracts or
/// adds to the catalogue must count on this one at once.
async fn dashboard_figures_count_changes_made_through_another_server(app: TestApp) {
    let w = world(&app).await;
    let other = &app.second_server().await;
    let client = &app.client;
    let through_other = |method: reqwest::Method, path: &str, body: Value| {
        let url = format!("{other}{path}");
        async move {
            let response = client
                .request(method, &url)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert!(response.status().is_success(), "{url}");
            response.json::<Value>().await.unwrap()
        }
    };
    let figures = || async { dashboard_side(&app).await["figures"].clone() };
    let weekly = |figures: &Value| -> Vec<i64> {
        (figures["perWeek"].as_array().unwrap().iter())
            .map(|week| week["deployments"].as_i64().unwrap())
            .collect()
    };
    // The week (index into perWeek) a deployment dated `days` ago counts in.
    let week_of = |figures: &Value, days: i64| -> usize {
        let date = Utc::now() - Duration::days(days);
        (figures["perWeek"].as_array().unwrap().iter())
            .rposition(|week| {
                let start = week["weekStart"].as_str().unwrap();
                chrono::DateTime::parse_from_rfc3339(start).unwrap() <= date
            })
            .unwrap()
    };
    record(&app, &w.portal, &w.v["1.0.0"], &w.prod, &ago(0)).await;
    let first = figures().await;
    assert_eq!(weekly(&first).iter().sum::<i64>(), 1);

    // A back-dated deployment, three weeks ago, recorded through the other server.
    let back_dated = through_other(
        reqwest::Method::POST,
        "/api/deployments",
        json!({"applicationId": w.billing, "versionId": w.billing_v1, "environmentId": w.dev,
               "deploymentDate": ago(21)}),
    )
    .await;
    let mut expected = weekly(&first);
    expected[week_of(&first, 21)] += 1;
    let second = figures().await;
    assert_eq!(weekly(&second), expected, "the back-dated record counts");
    assert_eq!(second["deploymentsThisWeek"], first["deploymentsThisWeek"]);

    // Retracted through the other server: no longer counted.
    through_other(
        reqwest::Method::DELETE,
        &format!("/api/deployments/{}", id(&back_dated)),
        json!({"reason": "recorded by mistake"}),
    )
    .await;
    assert_eq!(
        weekly(&figures().await),
        weekly(&first),
        "the retraction counts"
    );

    // An application and an environment added through the other server.
    for (path, name, figure, count) in [
        ("/api/applications", "Added elsewhere", "applications", 3),
        ("/api/environments", "QA-ELSEWHERE", "environments", 4),
    ] {
        through_other(reqwest::Method::POST, path, json!({ "name": name })).await;
        assert_eq!(figures().await[figure], count, "after POST {path}");
    }
}

async fn comparison_lists_promotion_candidates_first(app: TestApp) {
    let w = world(&app).await;
    app.patch_json(
        &format!("/api/environments/{}", w.prod),
        json!({"isProduction": true}),
    )
    .await;
    record(&app, &w.portal, &w.v["1.2.0"], &w.staging, &ago(4)).await;
    record(&app, &w.portal, &w.v["1.0.0"], &w.prod, &ago(10)).await;
    record(&app, &w.billing, &w.billing_v1, &w.staging, &ago(2)).await;
    record(&app, &w.billing, &w.billing_v1, &w.prod, &ago(1)).await;

    let comparison: Value = app.get("/api/compare").await.json().await.unwrap();
    assert_eq!(
        comparison["from"]["name"], "STAGING",
        "default: last non-production"
    );
    assert_eq!(
        comparison["to"]["name"], "PROD-EU",
        "default: first production"
    );
    let rows = comparison["rows"].as_array().unwrap();
    assert_eq!(rows[0]["application"]["name"], "Customer Portal");
    assert_eq!(rows[0]["status"], "ahead");
    assert_eq!(
        rows[0]["versionsBehind"], 2,
        "1.1.0 and 1.2.0 are not in PROD yet"
    );
    assert_eq!(rows[0]["waitingDays"], 4);
    assert_eq!(rows[1]["status"], "same");

    let reversed: Value = app
        .get(&format!("/api/compare?from={}&to={}", w.prod, w.staging))
        .await
        .json()
        .await
        .unwrap();
    let portal = reversed["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["application"]["name"] == "Customer Portal")
        .unwrap();
    assert_eq!(portal["status"], "behind");
}

/// Every page's cells in order, and how many pages, each page holding at most 3 applications.
async fn follow_pages(app: &TestApp, path: &str) -> (Vec<Value>, usize) {
    let pages = app.follow_pages(path).await;
    let count = pages.len();
    let mut cells = vec![];
    for page in pages {
        let applications: std::collections::BTreeSet<&str> = page
            .iter()
            .map(|c| c["application"]["id"].as_str().unwrap())
            .collect();
        assert!(
            applications.len() <= 3,
            "at most `limit` applications per page"
        );
        cells.extend(page);
    }
    (cells, count)
}

/// `?limit=` pages the whole current matrix by application; following the `Link` headers gives
/// the full matrix, in order, each cell once.
async fn current_matrix_pages_by_application_follow_the_link_header(app: TestApp) {
    let w = world(&app).await;
    let mut names = vec![];
    for i in 0..5 {
        let name = format!("Paged {i}");
        let created = app
            .create("/api/applications", json!({ "name": name }))
            .await;
        let version = app
            .create(
                &format!("/api/applications/{}/versions", id(&created)),
                json!({"versionIdentifier": "1.0.0"}),
            )
            .await;
        record(&app, &id(&created), &id(&version), &w.dev, &ago(2)).await;
        if i % 2 == 0 {
            record(&app, &id(&created), &id(&version), &w.prod, &ago(1)).await;
        }
        names.push(id(&created));
    }
    record(&app, &w.portal, &w.v["1.1.0"], &w.staging, &ago(1)).await;
    let whole = current(&app, "/api/deployments/current").await;

    let (paged, pages) = follow_pages(&app, "/api/deployments/current?limit=2").await;
    // Billing, Customer Portal and the five "Paged" applications: four pages (rows without a
    // deployment count too, so a page may hold fewer cells).
    assert_eq!(pages, 4);
    assert_eq!(
        paged, whole,
        "the pages together are the whole matrix, in order"
    );
    // The same as it was at an instant: the Link headers keep the instant.
    let at = (Utc::now() - Duration::hours(36)).format("%Y-%m-%dT%H:%M:%SZ");
    let whole_then = current(&app, &format!("/api/deployments/current?at={at}")).await;
    let (paged_then, _) =
        follow_pages(&app, &format!("/api/deployments/current?limit=3&at={at}")).await;
    assert_eq!(paged_then, whole_then);
    assert!(
        whole_then.len() < whole.len(),
        "the instant is before some records"
    );

    let app = &app;
    let status = |path: &'static str| async move { app.get(path).await.status().as_u16() };
    assert_eq!(status("/api/deployments/current?limit=0").await, 422);
    assert_eq!(status("/api/deployments/current?limit=501").await, 422);
    assert_eq!(status("/api/deployments/current?limit=-1").await, 422);
    assert_eq!(
        status("/api/deployments/current?limit=2&cursor=%00%ff").await,
        400
    );
    assert_eq!(
        status("/api/deployments/current?cursor=not-a-cursor").await,
        400
    );
    assert_eq!(
        status("/api/deployments/current?limit=2&at=10000-01-01T00:00:00Z").await,
        400
    );
    // A cursor naming an application archived since: start again, said plainly.
    let archived = app
        .client
        .post(app.url(&format!("/api/applications/{}/archive", names[0])))
        .send()
        .await
        .unwrap();
    assert_eq!(archived.status(), 200);
    let response = app
        .get(&format!(
            "/api/deployments/current?limit=2&cursor={}",
            names[0]
        ))
        .await;
    assert_eq!(response.status(), 422);
    let problem: Value = response.json().await.unwrap();
    assert!(problem.to_string().contains("first page"), "{problem}");
}

/// A record's answer is built from what the record was made of (and the version that ran
/// before it, read with the application and version), not read back: it must equal what
/// reading it back gives, rollback mark, policy violations and names included.
async fn the_answer_to_a_record_is_the_record_as_read_back(app: TestApp) {
    let w = world(&app).await;
    let lock = app
        .post_json(
            "/api/locks",
            json!({"environmentId": w.staging, "reason": "release train"}),
        )
        .await;
    assert_eq!(lock.status(), 201);
    let requests = [
        json!({"applicationId": w.portal, "versionId": w.v["2.0.0"], "environmentId": w.prod,
               "deploymentDate": ago(5), "notes": " first ", "deployedBy": "ci-bot"}),
        // Older than what ran before it: a rollback.
        json!({"applicationId": w.portal, "versionId": w.v["1.0.0"], "environmentId": w.prod,
               "deploymentDate": ago(3)}),
        // Back-dated before everything in the pair: nothing ran before it.
        json!({"applicationId": w.portal, "versionId": w.v["1.2.0"], "environmentId": w.prod,
               "deploymentDate": ago(10)}),
        // Between two records: after 2.0.0, so a rollback too.
        json!({"applicationId": w.portal, "versionId": w.v["1.1.0"], "environmentId": w.prod,
               "deploymentDate": ago(4)}),
        // By names, in another case than they were created with.
        json!({"application": "customer PORTAL", "version": "1.2.0", "environment": "prod-eu",
               "deploymentDate": ago(1)}),
        // Blocked by the lock, recorded with the reason.
        json!({"applicationId": w.billing, "versionId": w.billing_v1, "environmentId": w.staging,
               "deploymentDate": ago(0), "overrideReason": "hotfix"}),
        // A new version: registered in the same transaction.
        json!({"application": "Billing", "version": "3.0.0", "createVersion": true,
               "environment": "DEV", "deploymentDate": ago(0)}),
    ];
    let mut rollbacks = vec![];
    for request in requests {
        let answer = app.create("/api/deployments", request.clone()).await;
        let response = app.get(&format!("/api/deployments/{}", id(&answer))).await;
        assert_eq!(response.status(), 200);
        let stored: Value = response.json().await.unwrap();
        assert_eq!(
            answer, stored,
            "answer and stored record differ for {request}"
        );
        rollbacks.push(answer["isRollback"].as_bool().unwrap());
    }
    assert_eq!(rollbacks, [false, true, false, true, false, false, false]);
    let blocked = &history(&app, &format!("environmentId={}", w.staging)).await[0];
    assert_eq!(blocked["overrideReason"], "hotfix");
    assert!(!blocked["policyViolations"].as_array().unwrap().is_empty());
}

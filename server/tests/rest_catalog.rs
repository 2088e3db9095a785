//! REST API for applications, environments and versions, against the real server on port 0,
//! once per backend.

mod common;

use common::{run_app as run, TestApp};
use serde_json::{json, Value};

async fn problem(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json",
        "errors are problem+json"
    );
    (status, response.json().await.unwrap())
}

for_both_backends!(run;
    health_reports_database_reachable,
    create_application_answers_201_with_location,
    duplicate_application_name_is_409_naming_the_field,
    malformed_json_is_400,
    missing_and_too_long_names_are_422,
    unknown_fields_are_422,
    bad_uuid_in_path_is_400,
    unknown_application_is_404,
    update_and_archive_application,
    environments_follow_pipeline_order_and_reorder,
    versions_are_listed_newest_first_semver_aware,
    duplicate_version_is_409,
    unknown_api_route_is_404_problem,
    pages_render_data_on_the_server,
);

async fn health_reports_database_reachable(app: TestApp) {
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["database"]["reachable"], true);
}

async fn create_application_answers_201_with_location(app: TestApp) {
    let response = app
        .post_json(
            "/api/applications",
            json!({"name": "  Customer Portal ", "description": "web"}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["name"], "Customer Portal", "names are trimmed");
    assert_eq!(
        location,
        format!("/api/applications/{}", created["id"].as_str().unwrap())
    );
    let fetched: Value = app.get(&location).await.json().await.unwrap();
    assert_eq!(fetched, created);
    let id = uuid::Uuid::parse_str(created["id"].as_str().unwrap()).unwrap();
    assert_eq!(id.get_version_num(), 7, "ids are UUID v7");
}

async fn duplicate_application_name_is_409_naming_the_field(app: TestApp) {
    app.create("/api/applications", json!({"name": "Billing"}))
        .await;
    let (status, body) = problem(
        app.post_json("/api/applications", json!({"name": "billing"}))
            .await,
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(body["errors"][0]["field"], "name");
    let list: Vec<Value> = app.get("/api/applications").await.json().await.unwrap();
    assert_eq!(list.len(), 1, "nothing was written");
}

async fn malformed_json_is_400(app: TestApp) {
    let (status, body) = problem(app.post_raw("/api/applications", "{\"name\": ").await).await;
    assert_eq!(status, 400);
    assert!(body["detail"].as_str().unwrap().len() > 5);
}

async fn missing_and_too_long_names_are_422(app: TestApp) {
    let (status, body) = problem(app.post_json("/api/applications", json!({})).await).await;
    assert_eq!(status, 422);
    assert_eq!(
        body["errors"][0],
        json!({"field": "name", "message": "is required"})
    );

    let (status, body) = problem(
        app.post_json("/api/applications", json!({"name": "   "}))
            .await,
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(body["errors"][0]["field"], "name");

    let (status, body) = problem(
        app.post_json("/api/environments", json!({"name": "x".repeat(101)}))
            .await,
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(
        body["errors"][0]["message"],
        "must be at most 100 characters"
    );
}

async fn unknown_fields_are_422(app: TestApp) {
    let (status, body) = problem(
        app.post_json("/api/applications", json!({"name": "a", "colour": "red"}))
            .await,
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(body["errors"][0]["field"], "colour");
}

async fn bad_uuid_in_path_is_400(app: TestApp) {
    let (status, _) = problem(app.get("/api/applications/not-a-uuid").await).await;
    assert_eq!(status, 400);
}

async fn unknown_application_is_404(app: TestApp) {
    let (status, body) = problem(
        app.get(&format!("/api/applications/{}", uuid::Uuid::now_v7()))
            .await,
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(body["detail"], "application not found");
}

async fn update_and_archive_application(app: TestApp) {
    let created = app
        .create("/api/applications", json!({"name": "Search"}))
        .await;
    let path = format!("/api/applications/{}", created["id"].as_str().unwrap());
    let updated: Value = app
        .patch_json(&path, json!({"description": "full-text"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(updated["description"], "full-text");
    assert_eq!(updated["name"], "Search");

    let archived: Value = app
        .post_json(&format!("{path}/archive"), json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert!(archived["archivedAt"].is_string());
    let active: Vec<Value> = app.get("/api/applications").await.json().await.unwrap();
    assert!(active.is_empty());
    let all: Vec<Value> = app
        .get("/api/applications?includeArchived=true")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
}

async fn environments_follow_pipeline_order_and_reorder(app: TestApp) {
    let mut ids = vec![];
    for name in ["DEV", "STAGING", "PROD-EU"] {
        let env = app
            .create(
                "/api/environments",
                json!({"name": name, "isProduction": name.starts_with("PROD")}),
            )
            .await;
        ids.push(env["id"].as_str().unwrap().to_string());
    }
    let listed: Vec<Value> = app.get("/api/environments").await.json().await.unwrap();
    let names: Vec<&str> = listed.iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["DEV", "STAGING", "PROD-EU"]);
    assert_eq!(listed[2]["isProduction"], true);

    ids.reverse();
    let response = app
        .post_json("/api/environments/order", json!({"ids": ids}))
        .await;
    assert_eq!(response.status(), 200);
    let reordered: Vec<Value> = response.json().await.unwrap();
    assert_eq!(reordered[0]["name"], "PROD-EU");

    let (status, _) = problem(
        app.post_json("/api/environments/order", json!({"ids": [ids[0]]}))
            .await,
    )
    .await;
    assert_eq!(status, 422, "a partial order is refused");
}

async fn versions_are_listed_newest_first_semver_aware(app: TestApp) {
    let portal = app
        .create("/api/applications", json!({"name": "Portal"}))
        .await;
    let versions = format!(
        "/api/applications/{}/versions",
        portal["id"].as_str().unwrap()
    );
    for identifier in ["1.9.0", "1.10.0", "1.2.0"] {
        let created = app
            .create(&versions, json!({"versionIdentifier": identifier}))
            .await;
        assert_eq!(created["applicationId"], portal["id"]);
    }
    let listed: Vec<Value> = app.get(&versions).await.json().await.unwrap();
    let identifiers: Vec<&str> = listed
        .iter()
        .map(|v| v["versionIdentifier"].as_str().unwrap())
        .collect();
    assert_eq!(identifiers, ["1.10.0", "1.9.0", "1.2.0"]);
}

async fn duplicate_version_is_409(app: TestApp) {
    let portal = app
        .create("/api/applications", json!({"name": "Portal"}))
        .await;
    let versions = format!(
        "/api/applications/{}/versions",
        portal["id"].as_str().unwrap()
    );
    app.create(&versions, json!({"versionIdentifier": "1.0.0"}))
        .await;
    let (status, body) = problem(
        app.post_json(&versions, json!({"versionIdentifier": "1.0.0"}))
            .await,
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(body["errors"][0]["field"], "versionIdentifier");
}

async fn unknown_api_route_is_404_problem(app: TestApp) {
    let (status, _) = problem(app.get("/api/nothing-here").await).await;
    assert_eq!(status, 404);
}

async fn pages_render_data_on_the_server(app: TestApp) {
    app.create("/api/applications", json!({"name": "Inventory <script>"}))
        .await;
    let response = app.get("/applications").await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("Inventory &lt;script&gt;"),
        "escaped name in SSR HTML"
    );
    assert!(!html.contains("Inventory <script>"));
}

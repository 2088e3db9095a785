//! Delivery metrics on a hand-built history whose answers are known: deployment frequency and
//! its band, change failure rate (a rollback and a retraction), time to restore, lead time.

mod common;

use common::{run_app as run, TestApp};
use serde_json::{json, Value};

const RANGE: &str = "from=2026-11-02T00:00:00Z&to=2026-11-16T00:00:00Z";

struct History {
    billing: String,
    ledger: String,
    staging: String,
}

async fn history(app: &TestApp) -> History {
    let env = |name: &'static str, production: bool| async move {
        app.create(
            "/api/environments",
            json!({"name": name, "isProduction": production}),
        )
        .await["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let staging = env("STAGING", false).await;
    env("PROD", true).await;
    env("PROD-EU", true).await;
    let billing = app
        .create("/api/applications", json!({"name": "Billing"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let ledger = app
        .create(
            "/api/applications",
            json!({"name": "Ledger", "repository": null}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.create(
        &format!("/api/applications/{billing}/versions"),
        json!({"versionIdentifier": "1.0.0", "releasedAt": "2026-11-01T00:00:00Z"}),
    )
    .await;
    let record = |application: &'static str,
                  version: &'static str,
                  env: &'static str,
                  date: &'static str| async move {
        app.create(
            "/api/deployments",
            json!({"application": application, "version": version, "environment": env,
                   "createVersion": true, "deploymentDate": date}),
        )
        .await
    };
    record("Billing", "1.0.0", "PROD", "2026-11-03T12:00:00Z").await;
    record("Billing", "1.1.0", "STAGING", "2026-11-04T09:00:00Z").await;
    record("Billing", "1.1.0", "PROD", "2026-11-05T09:00:00Z").await;
    // Rolled back six hours later.
    record("Billing", "1.0.0", "PROD", "2026-11-05T15:00:00Z").await;
    record("Billing", "1.2.0", "PROD-EU", "2026-11-10T10:00:00Z").await;
    let wrong = record("Billing", "1.2.0", "PROD", "2026-11-11T10:00:00Z").await;
    let retracted = app
        .client
        .delete(app.url(&format!(
            "/api/deployments/{}",
            wrong["id"].as_str().unwrap()
        )))
        .json(&json!({"reason": "recorded twice"}))
        .send()
        .await
        .unwrap();
    assert_eq!(retracted.status(), 200);
    record("Ledger", "2.0.0", "PROD", "2026-11-12T08:00:00Z").await;
    // Outside the range: counted nowhere.
    record("Ledger", "2.0.1", "PROD", "2026-11-20T08:00:00Z").await;
    History {
        billing,
        ledger,
        staging,
    }
}

async fn insights(app: &TestApp, query: &str) -> Value {
    let response = app.get(&format!("/api/insights?{query}")).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{query}: {body}");
    body
}

async fn every_metric_on_a_known_history(app: TestApp) {
    let h = history(&app).await;
    let all = insights(&app, RANGE).await;
    let names: Vec<&str> = all["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["PROD", "PROD-EU"], "production by default");
    assert_eq!(all["standIn"], false);
    assert_eq!(all["application"], Value::Null);

    let frequency = &all["deploymentFrequency"];
    assert_eq!(frequency["deployments"], 5, "live ones only");
    assert_eq!(frequency["perWeek"], 2.5);
    assert_eq!(frequency["band"], "high");
    assert_eq!(
        frequency["weeks"],
        json!([{"weekStart": "2026-11-02T00:00:00Z", "deployments": 3},
               {"weekStart": "2026-11-09T00:00:00Z", "deployments": 2}])
    );
    assert_eq!(
        all["changeFailureRate"],
        json!({"deployments": 6, "rolledBack": 1, "retracted": 1, "rate": 0.3333,
               "weeks": [{"weekStart": "2026-11-02T00:00:00Z", "deployments": 1},
                         {"weekStart": "2026-11-09T00:00:00Z", "deployments": 1}]})
    );
    assert_eq!(
        all["timeToRestore"],
        json!({"count": 1, "medianSeconds": 21_600, "meanSeconds": 21_600, "maxSeconds": 21_600})
    );
    // 1.0.0: released Nov 1 00:00, in production Nov 3 12:00 (60 h); 1.1.0: staging Nov 4 09:00,
    // production Nov 5 09:00 (24 h); 1.2.0 and 2.0.0 have neither a release date nor an earlier stage.
    assert_eq!(
        all["leadTime"],
        json!({"count": 2, "medianSeconds": 151_200, "meanSeconds": 151_200, "maxSeconds": 216_000})
    );

    // A range that ends between 1.1.0 and the rollback that undid it: the rollback, dated after
    // the range, still marks 1.1.0 failed and says when it was restored.
    let cut = insights(&app, "from=2026-11-02T00:00:00Z&to=2026-11-05T12:00:00Z").await;
    assert_eq!(
        (
            &cut["changeFailureRate"]["deployments"],
            &cut["changeFailureRate"]["rolledBack"]
        ),
        (&json!(2), &json!(1))
    );
    assert_eq!(cut["timeToRestore"]["medianSeconds"], 21_600);

    let ledger = insights(&app, &format!("{RANGE}&applicationId={}", h.ledger)).await;
    assert_eq!(ledger["application"]["name"], "Ledger");
    assert_eq!(ledger["deploymentFrequency"]["deployments"], 1);
    assert_eq!(ledger["changeFailureRate"]["rate"], 0.0);

    let billing = insights(&app, &format!("{RANGE}&applicationId={}", h.billing)).await;
    assert_eq!(billing["changeFailureRate"]["deployments"], 5);

    let staging = insights(&app, &format!("{RANGE}&environmentId={}", h.staging)).await;
    assert_eq!(staging["standIn"], false, "chosen, not standing in");
    assert_eq!(staging["deploymentFrequency"]["deployments"], 1);
    assert_eq!(staging["deploymentFrequency"]["band"], "medium");

    // The defaults: the last 90 days up to now; Ledger's 2.0.1 on Nov 20 is inside them.
    let recent = insights(&app, "").await;
    assert_eq!(recent["deploymentFrequency"]["deployments"], 6);
}

async fn anyone_signed_in_reads_them_and_bad_queries_are_explained(app: TestApp) {
    let viewer = app.signed_in_as("vera", "viewer").await;
    let read = viewer.get(app.url("/api/insights")).send().await.unwrap();
    assert_eq!(read.status(), 200);
    let stranger = reqwest::get(app.url("/api/insights")).await.unwrap();
    assert_eq!(stranger.status(), 401);
    for (query, status) in [
        ("from=2026-11-10T00:00:00Z&to=2026-11-01T00:00:00Z", 422),
        ("from=2020-01-01T00:00:00Z&to=2026-11-01T00:00:00Z", 422),
        ("from=-5000-01-01T00:00:00Z", 422),
        ("to=99999-01-01T00:00:00Z", 400),
        ("applicationId=0190a0a0-0000-7000-8000-000000000000", 422),
        ("environmentId=0190a0a0-0000-7000-8000-000000000000", 422),
        ("applicationId=billing", 400),
        ("from=%00", 400),
        ("limit=3", 400),
    ] {
        let response = app.get(&format!("/api/insights?{query}")).await;
        assert_eq!(response.status(), status, "{query}");
    }
}

/// Nothing marked production: the pipeline's last environment stands in, and says so.
async fn without_production_the_last_stage_stands_in(app: TestApp) {
    for name in ["DEV", "QA"] {
        app.create("/api/environments", json!({"name": name})).await;
    }
    app.create("/api/applications", json!({"name": "Billing"}))
        .await;
    app.create(
        "/api/deployments",
        json!({"application": "Billing", "version": "1.0.0", "environment": "QA",
               "createVersion": true, "deploymentDate": "2026-11-03T12:00:00Z"}),
    )
    .await;
    let measured = insights(&app, RANGE).await;
    assert_eq!(measured["environments"][0]["name"], "QA");
    assert_eq!(measured["standIn"], true);
    assert_eq!(measured["deploymentFrequency"]["deployments"], 1);
}

/// More applications than insights read at a time (at most 100):
/// every one is counted, each with its own rollback.
async fn every_application_counts_however_many_there_are(app: TestApp) {
    app.create(
        "/api/environments",
        json!({"name": "PROD", "isProduction": true}),
    )
    .await;
    const APPLICATIONS: usize = 110;
    for i in 0..APPLICATIONS {
        let name = format!("app-{i:02}");
        app.create("/api/applications", json!({"name": name})).await;
        for (version, date) in [
            ("1.0.0", "2026-11-03T12:00:00Z"),
            ("1.1.0", "2026-11-04T12:00:00Z"),
            ("1.0.0", "2026-11-05T12:00:00Z"),
        ] {
            app.create(
                "/api/deployments",
                json!({"application": name, "version": version, "environment": "PROD",
                       "createVersion": true, "deploymentDate": date}),
            )
            .await;
        }
    }
    let measured = insights(&app, RANGE).await;
    assert_eq!(
        measured["deploymentFrequency"]["deployments"],
        3 * APPLICATIONS
    );
    assert_eq!(measured["changeFailureRate"]["rolledBack"], APPLICATIONS);
    assert_eq!(measured["timeToRestore"]["count"], APPLICATIONS);
}

for_both_backends!(run;
    every_application_counts_however_many_there_are,
    without_production_the_last_stage_stands_in,
    every_metric_on_a_known_history,
    anyone_signed_in_reads_them_and_bad_queries_are_explained,
);

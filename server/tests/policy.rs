//! The deploy policy (issue 35) over the REST API, on both backends: freezes across
//! daylight-saving changes (instants computed by hand), the check at each boundary, promotion
//! soaks, rollbacks and retractions, one lock per scope under concurrency, recording through a
//! freeze by API, form and CLI, and hostile input.

mod common;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use common::{run_app, server_fn_path, TestApp};
use serde_json::{json, Value};

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// STAGING, PROD (production) and the application Billing; their ids.
async fn catalogue(app: &TestApp) -> (String, String, String) {
    let id = |v: Value| v["id"].as_str().unwrap().to_string();
    let staging = id(app
        .create("/api/environments", json!({"name": "STAGING"}))
        .await);
    let prod = id(app
        .create(
            "/api/environments",
            json!({"name": "PROD", "isProduction": true}),
        )
        .await);
    let billing = id(app
        .create("/api/applications", json!({"name": "Billing"}))
        .await);
    (staging, prod, billing)
}

async fn record(app: &TestApp, version: &str, env: &str, at: DateTime<Utc>) -> Value {
    app.create(
        "/api/deployments",
        json!({"application": "Billing", "version": version, "environment": env,
               "createVersion": true, "deploymentDate": rfc3339(at)}),
    )
    .await
}

async fn check(app: &TestApp, version: &str, env: &str, at: DateTime<Utc>) -> Value {
    let response = app
        .client
        .get(app.url("/api/deploy-check"))
        .query(&[
            ("application", "Billing"),
            ("version", version),
            ("environment", env),
            ("at", &rfc3339(at)),
        ])
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

fn instant(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

/// A Friday 16:00 freeze stays 16:00 local across both daylight-saving changes of 2026, in
/// Berlin (29 March, 25 October) and New York (8 March, 1 November); its nominal two days end
/// it at Monday 08:00 local even over a change.
async fn weekly_freezes_keep_local_time_across_daylight_saving(app: TestApp) {
    catalogue(&app).await;
    // Environment ids must be listed (1 or more) or left out (every production environment).
    let bad = app
        .post_json(
            "/api/freezes",
            json!({"name": "x", "rrule": "FREQ=WEEKLY", "duration": "PT1H", "environmentIds": []}),
        )
        .await;
    assert_eq!(bad.status(), 422);
    async fn starts(app: &TestApp, zone: &str, from: &str, to: &str) -> Vec<(String, String)> {
        let freeze = app
            .create(
                "/api/freezes",
                json!({"name": format!("Fridays in {zone}"), "rrule": "FREQ=WEEKLY;BYDAY=FR;BYHOUR=16",
                       "duration": "P2DT16H", "timeZone": zone, "startsAt": "2026-01-01T00:00:00Z"}),
            )
            .await;
        let id = freeze["id"].as_str().unwrap();
        let listed: Value = app
            .client
            .get(app.url("/api/freezes"))
            .query(&[("from", from), ("to", to)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        listed
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == id)
            .expect("listed in the range")["occurrences"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                (
                    o["startsAt"].as_str().unwrap().to_string(),
                    o["endsAt"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }
    let pair = |s: &str, e: &str| (s.to_string(), e.to_string());
    // Berlin: CET (UTC+1) until 29 March 02:00, CEST (UTC+2) until 25 October 03:00.
    assert_eq!(
        starts(
            &app,
            "Europe/Berlin",
            "2026-03-20T00:00:00Z",
            "2026-04-04T00:00:00Z"
        )
        .await,
        [
            pair("2026-03-20T15:00:00Z", "2026-03-23T07:00:00Z"),
            pair("2026-03-27T15:00:00Z", "2026-03-30T06:00:00Z"),
            pair("2026-04-03T14:00:00Z", "2026-04-06T06:00:00Z"),
        ]
    );
    assert_eq!(
        starts(
            &app,
            "Europe/Berlin",
            "2026-10-22T00:00:00Z",
            "2026-10-31T00:00:00Z"
        )
        .await,
        [
            pair("2026-10-23T14:00:00Z", "2026-10-26T07:00:00Z"),
            pair("2026-10-30T15:00:00Z", "2026-11-02T07:00:00Z"),
        ]
    );
    // New York: EST (UTC−5) until 8 March, EDT (UTC−4) until 1 November.
    assert_eq!(
        starts(
            &app,
            "America/New_York",
            "2026-03-05T00:00:00Z",
            "2026-03-14T00:00:00Z"
        )
        .await,
        [
            pair("2026-03-06T21:00:00Z", "2026-03-09T12:00:00Z"),
            pair("2026-03-13T20:00:00Z", "2026-03-16T12:00:00Z"),
        ]
    );
    assert_eq!(
        starts(
            &app,
            "America/New_York",
            "2026-10-29T00:00:00Z",
            "2026-11-07T00:00:00Z"
        )
        .await,
        [
            pair("2026-10-30T20:00:00Z", "2026-11-02T13:00:00Z"),
            pair("2026-11-06T21:00:00Z", "2026-11-09T13:00:00Z"),
        ]
    );
}

/// Runs the `deploytrack` command against the test server with the admin's token.
async fn deploytrack(app: &TestApp, args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_deploytrack"))
        .args(args)
        .env("DEPLOYTRACK_URL", &app.base)
        .env("DEPLOYTRACK_TOKEN", &app.admin_token)
        .env_remove("DATABASE_URL")
        .output()
        .await
        .unwrap()
}

/// Start inclusive, end exclusive; a soak exactly met and one second short; a rollback and a
/// retraction in the required environment each block promotion.
async fn the_check_holds_at_each_boundary(app: TestApp) {
    let (staging, prod, _) = catalogue(&app).await;
    let start = instant("2026-06-01T10:00:00Z");
    let end = instant("2026-06-01T12:00:00Z");
    app.create(
        "/api/freezes",
        json!({"name": "Maintenance", "reason": "DB upgrade", "startsAt": rfc3339(start), "endsAt": rfc3339(end)}),
    )
    .await;
    record(&app, "0.9.0", "STAGING", instant("2026-05-01T00:00:00Z")).await;
    let before = check(&app, "0.9.0", "STAGING", start - Duration::microseconds(1)).await;
    assert_eq!(
        before["allowed"], true,
        "STAGING is not production: {before}"
    );
    let at_start = check(&app, "0.9.0", "PROD", start).await;
    assert_eq!(at_start["allowed"], false);
    assert_eq!(at_start["blockers"][0]["type"], "freeze");
    assert_eq!(at_start["blockers"][0]["until"], "2026-06-01T12:00:00Z");
    assert_eq!(at_start["nextAllowedAt"], "2026-06-01T12:00:00Z");
    let message = at_start["blockers"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("PROD is frozen until") && message.contains("Maintenance: DB upgrade"),
        "{message}"
    );
    assert_eq!(
        check(&app, "0.9.0", "PROD", start - Duration::microseconds(1)).await["allowed"],
        true
    );
    assert_eq!(
        check(&app, "0.9.0", "PROD", end - Duration::microseconds(1)).await["allowed"],
        false
    );
    assert_eq!(check(&app, "0.9.0", "PROD", end).await["allowed"], true);

    // Promotion: PROD takes only what ran in STAGING for a day.
    let rule = app
        .client
        .put(app.url(&format!("/api/environments/{prod}/promotion-rule")))
        .json(&json!({"requires": [{"environmentId": staging, "minSoak": "PT24H"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(rule.status(), 200, "{}", rule.text().await.unwrap());
    let deployed = instant("2026-07-01T08:00:00Z");
    record(&app, "1.0.0", "STAGING", deployed).await;
    let met = check(&app, "1.0.0", "PROD", deployed + Duration::hours(24)).await;
    assert_eq!(met["allowed"], true, "{met}");
    let short = check(
        &app,
        "1.0.0",
        "PROD",
        deployed + Duration::hours(24) - Duration::seconds(1),
    )
    .await;
    assert_eq!(short["allowed"], false);
    assert_eq!(short["blockers"][0]["type"], "promotion");
    assert_eq!(short["blockers"][0]["id"], staging.as_str());
    assert_eq!(short["nextAllowedAt"], "2026-07-02T08:00:00Z");
    assert!(
        short["blockers"][0]["message"]
            .as_str()
            .unwrap()
            .contains("23 h 59 min 59 s"),
        "{short}"
    );
    // Never deployed there.
    let unseen = app
        .client
        .get(app.url("/api/deploy-check"))
        .query(&[
            ("application", "Billing"),
            ("version", "9.9.9"),
            ("environment", "PROD"),
            ("createVersion", "true"),
        ])
        .send()
        .await
        .unwrap();
    let unseen: Value = unseen.json().await.unwrap();
    assert_eq!(unseen["allowed"], false, "{unseen}");
    assert!(unseen["blockers"][0]["message"]
        .as_str()
        .unwrap()
        .contains("has not run there"));

    // Rolled back in STAGING an hour after it arrived: it never held there.
    record(&app, "2.0.0", "STAGING", instant("2026-08-01T08:00:00Z")).await;
    record(&app, "1.0.0", "STAGING", instant("2026-08-01T09:00:00Z")).await;
    let rolled_back = check(&app, "2.0.0", "PROD", instant("2026-08-05T00:00:00Z")).await;
    assert_eq!(rolled_back["allowed"], false);
    assert!(
        rolled_back["blockers"][0]["message"]
            .as_str()
            .unwrap()
            .contains("rolled back"),
        "{rolled_back}"
    );
    assert!(rolled_back.get("nextAllowedAt").is_none());

    // Retracted in STAGING.
    let retracted = record(&app, "3.0.0", "STAGING", instant("2026-09-01T08:00:00Z")).await;
    let gone = app
        .client
        .delete(app.url(&format!(
            "/api/deployments/{}",
            retracted["id"].as_str().unwrap()
        )))
        .json(&json!({"reason": "wrong build"}))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 200);
    let blocked = check(&app, "3.0.0", "PROD", instant("2026-09-05T00:00:00Z")).await;
    assert_eq!(blocked["allowed"], false);
    assert!(
        blocked["blockers"][0]["message"]
            .as_str()
            .unwrap()
            .contains("retracted"),
        "{blocked}"
    );

    // Removing the rule lifts it; removing it twice is 404.
    let removed = app
        .client
        .delete(app.url(&format!("/api/environments/{prod}/promotion-rule")))
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 204);
    assert_eq!(
        check(&app, "3.0.0", "PROD", instant("2026-09-05T00:00:00Z")).await["allowed"],
        true
    );
    let again = app
        .client
        .delete(app.url(&format!("/api/environments/{prod}/promotion-rule")))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404);
    // Every policy change is in the audit trail.
    let audit: Value = app.get("/api/audit?limit=100").await.json().await.unwrap();
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in [
        "freeze.created",
        "promotion_rule.updated",
        "promotion_rule.deleted",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
}

/// Two concurrent locks on one scope: one 201, one 409 naming the holder. A lock blocks the
/// check; only its creator or an admin releases it.
async fn one_open_lock_per_scope(app: TestApp) {
    let (staging, _, billing) = catalogue(&app).await;
    let alice = app.signed_in_as("alice", "editor").await;
    let bob = app.signed_in_as("bob", "editor").await;
    let take = |client: &reqwest::Client, app_id: Option<&str>| {
        client
            .post(app.url("/api/locks"))
            .json(
                &json!({"environmentId": staging, "applicationId": app_id, "reason": "load test"}),
            )
            .send()
    };
    let (a, b) = tokio::join!(take(&alice, None), take(&bob, None));
    let mut statuses = [a.unwrap(), b.unwrap()];
    statuses.sort_by_key(|r| r.status());
    let [won, lost] = statuses;
    assert_eq!(won.status(), 201);
    assert_eq!(lost.status(), 409);
    let lock: Value = won.json().await.unwrap();
    let problem: Value = lost.json().await.unwrap();
    let holder = lock["createdByName"].as_str().unwrap();
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains(&format!("already locked by {holder}")),
        "{problem}"
    );
    // Another scope (one application in STAGING) is free.
    assert_eq!(take(&alice, Some(&billing)).await.unwrap().status(), 201);

    let now = Utc::now() + Duration::seconds(1);
    record(&app, "1.0.0", "PROD", now - Duration::days(1)).await;
    let blocked = check(&app, "1.0.0", "STAGING", now).await;
    assert_eq!(blocked["allowed"], false);
    assert_eq!(
        blocked["blockers"].as_array().unwrap().len(),
        2,
        "{blocked}"
    );
    assert!(
        blocked.get("nextAllowedAt").is_none(),
        "a lock has no known end"
    );

    let id = lock["id"].as_str().unwrap();
    let other = if holder == "alice" { &bob } else { &alice };
    let refused = other
        .delete(app.url(&format!("/api/locks/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let released = app
        .client
        .delete(app.url(&format!("/api/locks/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(released.status(), 204);
    let twice = app
        .client
        .delete(app.url(&format!("/api/locks/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(twice.status(), 404);
    let open: Value = app.get("/api/locks").await.json().await.unwrap();
    assert_eq!(open.as_array().unwrap().len(), 1);
    // A viewer may look but not lock.
    let viewer = app.signed_in_as("vera", "viewer").await;
    assert_eq!(take(&viewer, None).await.unwrap().status(), 403);
    assert_eq!(
        viewer
            .get(app.url("/api/locks"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

/// A deployment recorded through a freeze — by API, by the record form's server function and
/// by `deploytrack record` — is stored with what blocked it, can be found by
/// `?violations=true`, and is in the audit trail.
async fn recording_through_a_freeze_keeps_the_violation(app: TestApp) {
    catalogue(&app).await;
    let now = Utc::now();
    let freeze = app
        .create(
            "/api/freezes",
            json!({"name": "Christmas freeze", "startsAt": rfc3339(now - Duration::hours(1)),
                   "endsAt": rfc3339(now + Duration::hours(1))}),
        )
        .await;
    let by_api = app
        .create(
            "/api/deployments",
            json!({"application": "Billing", "version": "1.0.0", "environment": "PROD",
                   "createVersion": true, "deploymentDate": rfc3339(now),
                   "overrideReason": "hotfix for the outage"}),
        )
        .await;
    assert_eq!(by_api["policyViolations"][0]["type"], "freeze");
    assert_eq!(by_api["policyViolations"][0]["id"], freeze["id"]);
    assert_eq!(by_api["overrideReason"], "hotfix for the outage");
    // Fixed at record time: the database itself refuses to change or drop it.
    let id = by_api["id"].as_str().unwrap();
    for sql in [
        format!(
            "UPDATE deployment_policy SET override_reason = 'later' WHERE deployment_id = '{id}'"
        ),
        format!("DELETE FROM deployment_policy WHERE deployment_id = '{id}'"),
    ] {
        let refused = app.raw_sql(&sql).await.unwrap_err();
        assert!(refused.contains("immutable"), "{refused}");
    }

    let form = app
        .client
        .post(app.url(server_fn_path("record_deployment")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "application=Billing&version=1.0.0&environment=PROD&deployment_date={}&override_reason=form",
            rfc3339(now).replace(':', "%3A").replace('+', "%2B")
        ))
        .send()
        .await
        .unwrap();
    let status = form.status();
    let by_form: Value = form.json().await.unwrap();
    assert_eq!(status, 200, "{by_form}");
    assert_eq!(by_form["policyViolations"][0]["type"], "freeze");
    assert_eq!(by_form["overrideReason"], "form");

    let cli = deploytrack(
        &app,
        &[
            "record",
            "--app",
            "Billing",
            "--version",
            "1.0.0",
            "--env",
            "PROD",
            "--override-reason",
            "cli",
        ],
    )
    .await;
    assert!(
        cli.status.success(),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    // The check says so too, and `deploytrack check` exits 2 with the blocker on stdout.
    let checked = deploytrack(
        &app,
        &[
            "check",
            "--app",
            "Billing",
            "--version",
            "1.0.0",
            "--env",
            "PROD",
        ],
    )
    .await;
    assert_eq!(checked.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&checked.stdout);
    assert!(
        stdout.starts_with("freeze\tPROD is frozen until"),
        "{stdout}"
    );
    let allowed = deploytrack(
        &app,
        &[
            "check",
            "--app",
            "Billing",
            "--version",
            "1.0.0",
            "--env",
            "STAGING",
        ],
    )
    .await;
    assert_eq!(allowed.status.code(), Some(0));
    let unknown = deploytrack(
        &app,
        &[
            "check",
            "--app",
            "Nope",
            "--version",
            "1.0.0",
            "--env",
            "STAGING",
        ],
    )
    .await;
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("Unknown application 'Nope'"));

    let violating: Value = app
        .get("/api/deployments?violations=true")
        .await
        .json()
        .await
        .unwrap();
    let reasons: Vec<&str> = violating["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["overrideReason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons.len(), 3, "{violating}");
    for reason in ["hotfix for the outage", "form", "cli"] {
        assert!(reasons.contains(&reason), "{reasons:?}");
    }
    // Outside the freeze's scope nothing is marked.
    let staging = record(&app, "1.0.0", "STAGING", now).await;
    assert!(staging.get("policyViolations").is_none(), "{staging}");
    let audit: Value = app
        .get(&format!(
            "/api/audit?targetId={}",
            by_api["id"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"deployment.policy_violated"),
        "{actions:?}"
    );
    // Ending the freeze lifts it, once.
    let end = app
        .post_json(
            &format!("/api/freezes/{}/end", freeze["id"].as_str().unwrap()),
            json!({"reason": "outage over"}),
        )
        .await;
    assert_eq!(end.status(), 200);
    let ended: Value = end.json().await.unwrap();
    assert_eq!(ended["occurrences"][0]["endReason"], "outage over");
    assert_eq!(
        check(&app, "1.0.0", "PROD", Utc::now() + Duration::seconds(1)).await["allowed"],
        true
    );
    let twice = app
        .post_json(
            &format!("/api/freezes/{}/end", freeze["id"].as_str().unwrap()),
            json!({"reason": "again"}),
        )
        .await;
    assert_eq!(twice.status(), 409);
}

/// Hostile input is a 422 naming the field, never a 5xx.
async fn hostile_policy_input_is_refused(app: TestApp) {
    let (staging, _, _) = catalogue(&app).await;
    let huge = "x".repeat(100_000);
    let window = json!({"startsAt": "2026-12-20T00:00:00Z", "endsAt": "2026-12-27T00:00:00Z"});
    let with = |extra: Value| {
        let mut body = json!({"name": "Freeze"});
        for source in [&window, &extra] {
            for (k, v) in source.as_object().unwrap() {
                body[k] = v.clone();
            }
        }
        body
    };
    let recurring = |rrule: &str, duration: &str, zone: &str| json!({"name": "Freeze", "rrule": rrule, "duration": duration, "timeZone": zone});
    for (body, field) in [
        (recurring("FREQ=SECONDLY", "PT1H", "UTC"), "rrule"),
        (
            recurring("FREQ=DAILY;COUNT=10000000", "PT1H", "UTC"),
            "rrule",
        ),
        (
            recurring(
                "FREQ=WEEKLY;BYDAY=FR;BYHOUR=16",
                "PT1H",
                "Mars/Olympus_Mons",
            ),
            "timeZone",
        ),
        (recurring("FREQ=WEEKLY", "P999Y", "UTC"), "duration"),
        (recurring("FREQ=WEEKLY", "-PT1H", "UTC"), "duration"),
        (recurring("FREQ=WEEKLY", "P400D", "UTC"), "duration"),
        (recurring("FREQ=WEEKLY\u{0}", "PT1H", "UTC"), "rrule"),
        (with(json!({"name": "Fr\u{0}eeze"})), "name"),
        (with(json!({"reason": huge})), "reason"),
        (with(json!({"endsAt": "2026-12-19T00:00:00Z"})), "endsAt"),
        (with(json!({"endsAt": "+275760-09-13T00:00:00Z"})), "body"),
        (
            with(json!({"startsAt": "2026-01-01T00:00:00Z", "endsAt": "2028-01-01T00:00:00Z"})),
            "endsAt",
        ),
        (
            with(json!({"environmentIds": ["00000000-0000-0000-0000-000000000001"]})),
            "environmentIds",
        ),
        (json!({"name": "Freeze"}), "startsAt"),
    ] {
        let response = app.post_json("/api/freezes", body.clone()).await;
        let status = response.status().as_u16();
        let problem: Value = response.json().await.unwrap_or(Value::Null);
        assert!(matches!(status, 400 | 422), "{body}: {status} {problem}");
        if status == 422 {
            assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem}");
        }
    }
    for query in [
        "from=1990-01-01T00:00:00Z&to=2040-01-01T00:00:00Z",
        "from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z",
        "from=2026-01-01T00:00:00Z",
        "activeAt=12000-01-01T00:00:00Z",
        "activeAt=yesterday",
        "cursor=%00",
    ] {
        let status = app
            .get(&format!("/api/freezes?{query}"))
            .await
            .status()
            .as_u16();
        assert!(matches!(status, 400 | 422), "{query}: {status}");
    }
    let lock = app
        .post_json(
            "/api/locks",
            json!({"environmentId": staging, "reason": huge}),
        )
        .await;
    assert_eq!(lock.status(), 422);
    let soak = app
        .client
        .put(app.url(&format!("/api/environments/{staging}/promotion-rule")))
        .json(&json!({"requires": [{"environmentId": staging, "minSoak": "P999Y"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(soak.status(), 422);
    // The check names unknown things as recording does.
    let unknown: Value = app
        .client
        .get(app.url("/api/deploy-check"))
        .query(&[
            ("application", "Nope"),
            ("version", "1.0.0"),
            ("environment", "STAGING"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(unknown["status"], 422);
    assert_eq!(
        unknown["errors"][0]["message"],
        "Unknown application 'Nope'"
    );
    let missing = app.get("/api/deploy-check?application=Billing").await;
    assert_eq!(missing.status(), 400);
}

/// A server keeps what checks read between checks; a change made past it (here straight in the
/// database, as another instance or an operator would) reaches its very next check, and the
/// webhooks a record notifies are read the same way.
async fn a_change_made_elsewhere_reaches_the_next_check(app: TestApp) {
    let (staging, prod, _) = catalogue(&app).await;
    let now = Utc::now();
    record(&app, "1.0.0", "STAGING", now - Duration::days(1)).await;
    app.create(
        "/api/freezes",
        json!({"name": "Release freeze", "startsAt": rfc3339(now - Duration::hours(1)),
               "endsAt": rfc3339(now + Duration::days(1))}),
    )
    .await;
    app.create(
        "/api/locks",
        json!({"environmentId": staging, "reason": "load test"}),
    )
    .await;
    let rule = app
        .client
        .put(app.url(&format!("/api/environments/{prod}/promotion-rule")))
        .json(&json!({"requires": [{"environmentId": staging, "minSoak": "P30D"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(rule.status(), 200);
    let kinds = |check: &Value| -> Vec<String> {
        let mut kinds: Vec<String> = check["blockers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["type"].as_str().unwrap().to_string())
            .collect();
        kinds.sort();
        kinds
    };
    let at = now + Duration::seconds(1);
    assert_eq!(kinds(&check(&app, "1.0.0", "STAGING", at).await), ["lock"]);
    assert_eq!(
        kinds(&check(&app, "1.0.0", "PROD", at).await),
        ["freeze", "promotion"]
    );

    let none: &[&str] = &[];
    for (change, environment, left, what) in [
        (
            "UPDATE deploy_lock SET released_at = created_at, released_by = 'dba'",
            "STAGING",
            none,
            "a lock released elsewhere",
        ),
        (
            "DELETE FROM promotion_requirement",
            "PROD",
            &["freeze"],
            "a promotion rule removed elsewhere",
        ),
        (
            "UPDATE environment SET is_production = false",
            "PROD",
            none,
            "no longer production, so outside the freeze",
        ),
        (
            "UPDATE environment SET is_production = true WHERE name = 'PROD'",
            "PROD",
            &["freeze"],
            "production again",
        ),
        (
            "DELETE FROM freeze_window",
            "PROD",
            none,
            "a freeze deleted elsewhere",
        ),
    ] {
        app.raw_sql(change).await.unwrap();
        assert_eq!(
            kinds(&check(&app, "1.0.0", environment, at).await),
            left,
            "{what}"
        );
    }

    // A webhook added elsewhere is notified of the next record (its outbox row, queued with
    // the record, is in its delivery log).
    let webhook = app
        .create(
            "/api/webhooks",
            json!({"url": "https://hooks.example.com/deploytrack", "events": ["deployment.recorded"]}),
        )
        .await;
    let id = webhook["id"].as_str().unwrap();
    for (events, version, queued) in [
        ("deployment.retracted", "1.0.1", 0),
        ("deployment.recorded", "1.0.2", 1),
    ] {
        app.raw_sql(&format!("UPDATE webhook SET events = '{events}'"))
            .await
            .unwrap();
        record(&app, version, "STAGING", now).await;
        let log: Value = app
            .get(&format!("/api/webhooks/{id}/deliveries"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            log.as_array().map(Vec::len),
            Some(queued),
            "{events}: {log}"
        );
    }
}

for_both_backends!(run_app;
    weekly_freezes_keep_local_time_across_daylight_saving,
    the_check_holds_at_each_boundary,
    one_open_lock_per_scope,
    recording_through_a_freeze_keeps_the_violation,
    hostile_policy_input_is_refused,
    a_change_made_elsewhere_reaches_the_next_check,
);

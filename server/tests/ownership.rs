//! Teams, saved views and status badges (issue 38): the matrix comes to the people who own the
//! applications. On both backends. Teams: admin-only writes, members, applications by team.
//! Badges:
//! `GET /badges/{application}/{environment}.svg?key=`, each answer rendered by a real SVG
//! renderer (Debian's `rsvg-convert`), for present, missing, archived and retracted pairs, scoped
//! and revoked keys, and hostile input. Saved views: kept per person, shared by admins.

mod common;

use chrono::{Duration, Utc};
use common::{run_app, TestApp};
use serde_json::{json, Value};

/// Renders `svg` with rsvg-convert (to PNG): it must be well-formed SVG.
fn renders(svg: &str) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("badge.svg");
    std::fs::write(&input, svg).unwrap();
    let output = std::process::Command::new("rsvg-convert")
        .args(["-f", "png", "-o"])
        .arg(dir.path().join("badge.png"))
        .arg(&input)
        .output()
        .expect("rsvg-convert runs (scripts/setup.sh --browser installs librsvg2-bin)");
    assert!(
        output.status.success(),
        "{}\n{svg}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        std::fs::metadata(dir.path().join("badge.png"))
            .unwrap()
            .len()
            > 100
    );
}

/// The badge's status, its spoken text (the SVG's title), and the response.
async fn badge(app: &TestApp, path: &str) -> (u16, String, reqwest::Response) {
    let response = TestApp::browser().get(app.url(path)).send().await.unwrap();
    let status = response.status().as_u16();
    assert_eq!(
        response.headers()["content-type"],
        "image/svg+xml; charset=utf-8",
        "{path}"
    );
    let svg = TestApp::browser()
        .get(app.url(path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    renders(&svg);
    let title = svg
        .split("<title>")
        .nth(1)
        .and_then(|rest| rest.split("</title>").next())
        .unwrap_or_default()
        .to_string();
    (status, title, response)
}

async fn record(
    app: &TestApp,
    application: &str,
    environment: &str,
    version: &str,
    days_ago: i64,
) -> Value {
    app.create(
        "/api/deployments",
        json!({"application": application, "environment": environment, "version": version,
               "createVersion": true, "deploymentDate": Utc::now() - Duration::days(days_ago)}),
    )
    .await
}

async fn new_key(app: &TestApp, body: Value) -> (String, String) {
    let created = app.create("/api/badge-keys", body).await;
    (
        created["key"].as_str().unwrap().to_string(),
        created["id"].as_str().unwrap().to_string(),
    )
}

async fn badges_show_what_runs_where(app: TestApp) {
    for name in ["billing", "payroll", "legacy"] {
        app.create("/api/applications", json!({"name": name})).await;
    }
    for name in ["staging", "production"] {
        app.create("/api/environments", json!({"name": name})).await;
    }
    record(&app, "billing", "production", "1.4.1", 100).await;
    record(&app, "billing", "production", "1.4.2", 3).await;
    let retracted = record(&app, "billing", "staging", "1.5.0", 1).await;
    record(&app, "payroll", "production", "2.0.0", 45).await;
    let (key, key_id) = new_key(&app, json!({"name": "README badges"})).await;
    assert!(key.starts_with("dtb_"));

    // Present: the version, coloured by age like the matrix; cached a minute; an ETag.
    let (status, title, response) =
        badge(&app, &format!("/badges/billing/production.svg?key={key}")).await;
    assert_eq!((status, title.as_str()), (200, "production: 1.4.2"));
    assert_eq!(response.headers()["cache-control"], "max-age=60");
    let etag = response.headers()["etag"].to_str().unwrap().to_string();
    let svg = response.text().await.unwrap();
    assert!(svg.contains("#2e7d32"), "fresh is green: {svg}");
    let again = TestApp::browser()
        .get(app.url(&format!("/badges/billing/production.svg?key={key}")))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    let (_, _, older) = badge(&app, &format!("/badges/Payroll/PRODUCTION.svg?key={key}")).await;
    assert!(
        older.text().await.unwrap().contains("#8a5a00"),
        "30–90 days is yellow"
    );

    // Missing, retracted and archived pairs still say something.
    let (status, title, _) = badge(&app, &format!("/badges/payroll/staging.svg?key={key}")).await;
    assert_eq!((status, title.as_str()), (200, "staging: not deployed"));
    let (_, title, _) = badge(&app, &format!("/badges/billing/staging.svg?key={key}")).await;
    assert_eq!(title, "staging: 1.5.0");
    let response = app
        .client
        .delete(app.url(&format!(
            "/api/deployments/{}",
            retracted["id"].as_str().unwrap()
        )))
        .json(&json!({"reason": "recorded against the wrong environment"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (_, title, _) = badge(&app, &format!("/badges/billing/staging.svg?key={key}")).await;
    assert_eq!(title, "staging: not deployed");
    let legacy: Vec<Value> = app.get("/api/applications").await.json().await.unwrap();
    let legacy = legacy.iter().find(|a| a["name"] == "legacy").unwrap();
    app.post_json(
        &format!(
            "/api/applications/{}/archive",
            legacy["id"].as_str().unwrap()
        ),
        json!({}),
    )
    .await;
    let (status, title, _) = badge(&app, &format!("/badges/legacy/production.svg?key={key}")).await;
    assert_eq!((status, title.as_str()), (200, "production: archived"));

    // Refusals are badges with words: no key, a wrong one, another application's, a revoked one,
    // unknown names.
    let (scoped, _) = new_key(
        &app,
        json!({"name": "payroll only", "application": "payroll"}),
    )
    .await;
    let refusals = [
        (
            "/badges/billing/production.svg".to_string(),
            401,
            "production: badge key needed",
        ),
        (
            "/badges/billing/production.svg?key=dtb_wrong".to_string(),
            401,
            "production: invalid badge key",
        ),
        (
            format!("/badges/billing/production.svg?key={scoped}"),
            403,
            "production: key not for this application",
        ),
        (
            format!("/badges/nothing/production.svg?key={key}"),
            404,
            "production: unknown application",
        ),
        (
            format!("/badges/billing/nowhere.svg?key={key}"),
            404,
            "nowhere: unknown environment",
        ),
        (
            format!("/badges/billing/production.png?key={key}"),
            404,
            "deploytrack: badges end in .svg",
        ),
    ];
    for (path, expected_status, expected_title) in refusals {
        let (status, title, response) = badge(&app, &path).await;
        assert_eq!(
            (status, title.as_str()),
            (expected_status, expected_title),
            "{path}"
        );
        assert_eq!(response.headers()["cache-control"], "no-store");
    }
    let (status, title, _) = badge(
        &app,
        &format!("/badges/payroll/production.svg?key={scoped}"),
    )
    .await;
    assert_eq!((status, title.as_str()), (200, "production: 2.0.0"));
    let revoked = app
        .client
        .delete(app.url(&format!("/api/badge-keys/{key_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    let (status, title, _) =
        badge(&app, &format!("/badges/billing/production.svg?key={key}")).await;
    assert_eq!(
        (status, title.as_str()),
        (401, "production: badge key revoked")
    );

    // Hostile input: 4xx, never 5xx, always a rendered badge.
    let long = "x".repeat(5_000);
    for path in [
        format!("/badges/{long}/production.svg?key={scoped}"),
        format!("/badges/billing/{long}.svg?key={scoped}"),
        format!("/badges/billing/production.svg?key={long}"),
        "/badges/bill%00ing/prod%00uction.svg?key=%00".to_string(),
        "/badges/%3Cscript%3E/%22%3E%3Cx%3E.svg?key=a".to_string(),
        format!("/badges/billing/production.svg?key[]=1&key={scoped}"),
    ] {
        let (status, _, response) = badge(&app, &path).await;
        assert!((400..500).contains(&status), "{path:.60}: {status}");
        assert!(!response.text().await.unwrap().contains("<script>"));
    }

    // Keys are for admins to hand out; their secrets are never listed; both acts are audited.
    let viewer = app.signed_in_as("vera", "viewer").await;
    let response = viewer
        .post(app.url("/api/badge-keys"))
        .json(&json!({"name": "mine"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let listed = app.get("/api/badge-keys").await.text().await.unwrap();
    assert!(!listed.contains(&key) && listed.contains("README badges"));
    let refused = app
        .post_json(
            "/api/badge-keys",
            json!({"name": "x", "application": "nothing"}),
        )
        .await;
    assert_eq!(refused.status(), 422);
    let audit: Value = app.get("/api/audit?limit=500").await.json().await.unwrap();
    let actions = audit.to_string();
    assert!(actions.contains("badge_key.created") && actions.contains("badge_key.revoked"));
}

async fn saved_views_are_kept_per_person_and_shared_by_admins(app: TestApp) {
    let vera = app.signed_in_as("vera", "viewer").await;
    let save = |client: &reqwest::Client, body: Value| {
        let request = client.post(app.url("/api/views")).json(&body);
        async move { request.send().await.unwrap() }
    };
    let response = save(
        &vera,
        json!({"name": "Prod lag", "path": "/compare", "query": "?from=staging&to=production"}),
    )
    .await;
    assert_eq!(response.status(), 201);
    let mine: Value = response.json().await.unwrap();
    assert_eq!(mine["query"], "from=staging&to=production");
    // Only admins share.
    let response = save(
        &vera,
        json!({"name": "Everyone", "path": "/", "shared": true}),
    )
    .await;
    assert_eq!(response.status(), 403);
    let shared = app
        .create(
            "/api/views",
            json!({"name": "Team dashboard", "path": "/", "query": "", "shared": true}),
        )
        .await;
    app.create(
        "/api/views",
        json!({"name": "Admin's own", "path": "/insights"}),
    )
    .await;

    // Vera sees the shared view first, then her own; not the admin's own.
    let listed: Vec<Value> = vera
        .get(app.url("/api/views"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = listed.iter().map(|v| v["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Team dashboard", "Prod lag"]);
    // The view opens by its URL (what the header menu links to).
    let page = vera
        .get(app.url("/compare?from=staging&to=production"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);

    // She may delete hers, not the shared one; the admin may delete any; audited.
    let delete = |client: &reqwest::Client, id: &str| {
        let request = client.delete(app.url(&format!("/api/views/{id}")));
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(delete(&vera, shared["id"].as_str().unwrap()).await, 404);
    assert_eq!(delete(&vera, mine["id"].as_str().unwrap()).await, 204);
    assert_eq!(delete(&vera, mine["id"].as_str().unwrap()).await, 404);
    assert_eq!(
        delete(&app.client, shared["id"].as_str().unwrap()).await,
        204
    );
    let audit = app.get("/api/audit?limit=500").await.text().await.unwrap();
    assert_eq!(audit.matches("\"view.created\"").count(), 3);
    assert_eq!(audit.matches("\"view.deleted\"").count(), 2);

    // Hostile input: 4xx with the reason, never 5xx, nothing kept.
    let long = "x".repeat(100_000);
    for body in [
        json!({"name": "x", "path": "https://evil.example/"}),
        json!({"name": "x", "path": "//evil.example"}),
        json!({"name": "x", "path": "/api/deployments"}),
        json!({"name": "x", "path": "/compare?x=1"}),
        json!({"name": "x", "path": "/\\evil"}),
        json!({"name": "x", "path": "/", "query": "a=1#frag"}),
        json!({"name": "x", "path": "/", "query": "a=\u{0}"}),
        json!({"name": "x", "path": "/", "query": long}),
        json!({"name": long, "path": "/"}),
        json!({"name": "", "path": "/"}),
        json!({"name": "x\u{0}", "path": "/"}),
        json!({"name": "x", "path": format!("/{long}")}),
        json!({"name": "x", "path": "/", "unknown": 1}),
        json!({"name": "x"}),
    ] {
        let response = save(&vera, body.clone()).await;
        assert_eq!(response.status(), 422, "{:.80}", body.to_string());
    }
    let listed: Vec<Value> = vera
        .get(app.url("/api/views"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(listed.is_empty());
    assert_eq!(delete(&vera, "not-a-uuid").await, 400);
}

async fn teams_own_applications(app: TestApp) {
    let payments = app
        .create(
            "/api/teams",
            json!({"name": "Payments", "slackChannel": "#payments-releases"}),
        )
        .await;
    let platform = app.create("/api/teams", json!({"name": "Platform"})).await;
    let payments_id = payments["id"].as_str().unwrap();
    assert_eq!(payments["slackChannel"], "#payments-releases");
    // Names are unique ignoring case.
    assert_eq!(
        app.post_json("/api/teams", json!({"name": "PAYMENTS"}))
            .await
            .status(),
        409
    );

    // Applications name their team by name or id; `?team=` lists a team's.
    app.create(
        "/api/applications",
        json!({"name": "billing", "team": "payments"}),
    )
    .await;
    app.create(
        "/api/applications",
        json!({"name": "ledger", "team": payments_id}),
    )
    .await;
    let search = app
        .create("/api/applications", json!({"name": "search"}))
        .await;
    assert_eq!(
        app.post_json("/api/applications", json!({"name": "x", "team": "nobody"}))
            .await
            .status(),
        422
    );
    let names = |list: Vec<Value>| {
        list.iter()
            .map(|a| a["name"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let of = |team: &str| {
        let path = format!("/api/applications?team={team}");
        let app = &app;
        async move { names(app.get(&path).await.json().await.unwrap()) }
    };
    assert_eq!(of("Payments").await, ["billing", "ledger"]);
    assert_eq!(of(payments_id).await, ["billing", "ledger"]);
    let path = format!("/api/applications/{}", search["id"].as_str().unwrap());
    let moved: Value = app
        .patch_json(&path, json!({"team": "platform"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(moved["teamId"], platform["id"]);
    assert_eq!(of("platform").await, ["search"]);
    let cleared: Value = app
        .patch_json(&path, json!({"team": ""}))
        .await
        .json()
        .await
        .unwrap();
    assert!(cleared.get("teamId").is_none());
    assert_eq!(app.get("/api/applications?team=nobody").await.status(), 422);

    // Members: admins set them; a person sees their own teams.
    let vera = app.signed_in_as("vera", "viewer").await;
    let me: Value = vera
        .get(app.url("/api/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let members_path = app.url(&format!("/api/teams/{payments_id}/members"));
    let response = app
        .client
        .put(&members_path)
        .json(&json!({"userIds": [me["id"], me["id"]]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let members: Vec<Value> = response.json().await.unwrap();
    assert_eq!(members.len(), 1);
    let mine: Vec<Value> = vera
        .get(app.url("/api/teams/mine"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(names(mine), ["Payments"]);
    let unknown = app
        .client
        .put(&members_path)
        .json(&json!({"userIds": [uuid::Uuid::nil()]}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 422);

    // Viewers read teams but change nothing.
    assert_eq!(
        vera.get(app.url("/api/teams"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        vera.post(app.url("/api/teams"))
            .json(&json!({"name": "Mine"}))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        vera.put(&members_path)
            .json(&json!({"userIds": []}))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );

    // Deleting a team keeps its applications, without a team.
    let response = app
        .client
        .delete(app.url(&format!("/api/teams/{payments_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let all: Vec<Value> = app.get("/api/applications").await.json().await.unwrap();
    assert_eq!(all.len(), 3);
    assert!(all
        .iter()
        .filter(|a| a["name"] != "search")
        .all(|a| a.get("teamId").is_none()));

    // Hostile input: 4xx with the reason.
    let long = "x".repeat(100_000);
    for body in [
        json!({"name": ""}),
        json!({"name": long}),
        json!({"name": "a\u{0}b"}),
        json!({"name": "ok", "slackChannel": "not a channel!"}),
        json!({"name": "ok", "slackChannel": format!("#{long}")}),
        json!({"name": "ok", "extra": true}),
    ] {
        assert_eq!(
            app.post_json("/api/teams", body.clone()).await.status(),
            422,
            "{:.60}",
            body.to_string()
        );
    }
    assert_eq!(
        app.get(&format!("/api/applications?team={}", "y".repeat(5_000)))
            .await
            .status(),
        422
    );
    assert_eq!(
        app.client
            .delete(app.url("/api/teams/not-a-uuid"))
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    let audit = app.get("/api/audit?limit=500").await.text().await.unwrap();
    for action in ["team.created", "team.members_changed", "team.deleted"] {
        assert!(audit.contains(action), "{action}");
    }
}

/// `?team=` (a team's name or id, or `mine`) narrows every listing the same way: applications,
/// history and its CSV, compare, insights, the dashboard's matrix (with its drift marks), and
/// drift; a team cannot be called "mine"; hostile values are refused with the reason.
async fn team_views_narrow_every_listing(app: TestApp) {
    let pam = app.signed_in_as("pam", "viewer").await;
    let users: Vec<Value> = app.get("/api/users").await.json().await.unwrap();
    let pam_id = users.iter().find(|u| u["username"] == "pam").unwrap()["id"].clone();
    let payments = app.create("/api/teams", json!({"name": "payments"})).await;
    app.create("/api/teams", json!({"name": "ops"})).await;
    let members = app
        .client
        .put(app.url(&format!(
            "/api/teams/{}/members",
            payments["id"].as_str().unwrap()
        )))
        .json(&json!({"userIds": [pam_id]}))
        .send()
        .await
        .unwrap();
    assert_eq!(members.status(), 200);
    for (name, team) in [
        ("billing", "payments"),
        ("ledger", "payments"),
        ("infra", "ops"),
        ("misc", ""),
    ] {
        app.create("/api/applications", json!({"name": name, "team": team}))
            .await;
    }
    let staging = app
        .create("/api/environments", json!({"name": "staging"}))
        .await;
    let production = app
        .create(
            "/api/environments",
            json!({"name": "production", "isProduction": true}),
        )
        .await;
    for name in ["billing", "ledger", "infra", "misc"] {
        record(&app, name, "production", "1.0.0", 30).await;
        record(&app, name, "staging", "1.1.0", 20).await;
    }
    let names = |items: &[Value], pointer: &str| -> Vec<String> {
        let mut names: Vec<String> = items
            .iter()
            .map(|item| item.pointer(pointer).unwrap().as_str().unwrap().to_string())
            .collect();
        names.sort();
        names.dedup();
        names
    };
    let listed = |path: String| {
        let app = &app;
        async move {
            let response = app.get(&path).await;
            assert_eq!(response.status(), 200, "{path}");
            response.json::<Value>().await.unwrap()
        }
    };

    let applications = listed("/api/applications?team=payments".into()).await;
    assert_eq!(
        names(applications.as_array().unwrap(), "/name"),
        ["billing", "ledger"]
    );
    let history = listed("/api/deployments?team=PAYMENTS".into()).await;
    assert_eq!(
        names(history["items"].as_array().unwrap(), "/application/name"),
        ["billing", "ledger"]
    );
    let by_id = listed(format!(
        "/api/deployments?team={}",
        payments["id"].as_str().unwrap()
    ))
    .await;
    assert_eq!(by_id["items"].as_array().unwrap().len(), 4);
    let csv = app
        .get("/api/deployments.csv?team=ops")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(csv.lines().count(), 3, "a header and infra's two: {csv}");
    assert!(
        csv.lines().skip(1).all(|line| line.contains(",infra,")),
        "{csv}"
    );
    let compare = listed(format!(
        "/api/compare?from={}&to={}&team=ops",
        staging["id"].as_str().unwrap(),
        production["id"].as_str().unwrap()
    ))
    .await;
    assert_eq!(
        names(compare["rows"].as_array().unwrap(), "/application/name"),
        ["infra"]
    );
    let insights = listed("/api/insights?team=payments".into()).await;
    assert_eq!(insights["deploymentFrequency"]["deployments"], 2);
    // An application named beside a team counts only when the team owns it.
    let billing = applications[0]["id"].as_str().unwrap();
    let owned = listed(format!(
        "/api/insights?team=payments&applicationId={billing}"
    ))
    .await;
    assert_eq!(owned["deploymentFrequency"]["deployments"], 1);
    let not_owned = listed(format!("/api/insights?team=ops&applicationId={billing}")).await;
    assert_eq!(not_owned["deploymentFrequency"]["deployments"], 0);

    // `mine`: pam's teams; the admin belongs to none, so sees nothing.
    let pam_token = app.token_for(&pam, "pam").await;
    let as_pam = TestApp::bearer_client(&pam_token);
    let mine: Vec<Value> = as_pam
        .get(app.url("/api/deployments?team=mine"))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["items"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(names(&mine, "/application/name"), ["billing", "ledger"]);
    let none = listed("/api/deployments?team=mine".into()).await;
    assert!(none["items"].as_array().unwrap().is_empty());

    // The dashboard's matrix by team, with drift marks and their count.
    let policy = app
        .client
        .put(app.url(&format!(
            "/api/environments/{}/drift-policy",
            production["id"].as_str().unwrap()
        )))
        .json(&json!({"comparedTo": "staging", "maxLag": "P7D"}))
        .send()
        .await
        .unwrap();
    assert_eq!(policy.status(), 200);
    let matrix = |team: &str| {
        let body = if team.is_empty() {
            String::new()
        } else {
            format!("team={team}")
        };
        let request = app
            .client
            .post(app.url(common::server_fn_path("dashboard_matrix")))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200);
            response.json::<Value>().await.unwrap()
        }
    };
    let everything = matrix("").await;
    assert_eq!(everything["driftCount"], 4);
    assert_eq!(everything["teams"].as_array().unwrap().len(), 2);
    let page = matrix("payments").await;
    assert_eq!(
        names(page["view"]["applications"].as_array().unwrap(), "/name"),
        ["billing", "ledger"]
    );
    assert_eq!(
        (page["total"].as_u64(), page["matching"].as_u64()),
        (Some(4), Some(2))
    );
    assert_eq!(page["driftCount"], 2);
    let marks = page["drift"].as_array().unwrap();
    assert_eq!(marks.len(), 2);
    assert!(
        marks
            .iter()
            .all(|m| m["column"] == 1 && m["comparedTo"] == "staging" && m["versionsBehind"] == 1),
        "{marks:?}"
    );
    // A change of team shows at once.
    let infra = listed("/api/applications?team=ops".into()).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let moved = app
        .patch_json(
            &format!("/api/applications/{infra}"),
            json!({"team": "payments"}),
        )
        .await;
    assert_eq!(moved.status(), 200);
    let page = matrix("payments").await;
    assert_eq!(
        names(page["view"]["applications"].as_array().unwrap(), "/name"),
        ["billing", "infra", "ledger"]
    );

    // "mine" is a view, not a team's name; hostile values get the reason, never a 5xx.
    let refused = app.post_json("/api/teams", json!({"name": "Mine"})).await;
    assert_eq!(refused.status(), 422);
    // Long enough to be no name (a URL cannot carry 100 KB; bodies are tested elsewhere).
    let huge = "t".repeat(5_000);
    for path in [
        "/api/deployments?team=nobody".to_string(),
        "/api/deployments?team=%00".to_string(),
        format!("/api/deployments?team={huge}"),
        "/api/deployments.csv?team=nobody".to_string(),
        "/api/insights?team=nobody".to_string(),
        format!("/api/compare?team={huge}"),
        "/api/applications?team=%01x".to_string(),
    ] {
        let status = app.get(&path).await.status().as_u16();
        assert!(
            matches!(status, 414 | 422 | 431),
            "{status} for {}",
            &path[..path.len().min(60)]
        );
    }
}

for_both_backends!(run_app;
    badges_show_what_runs_where,
    saved_views_are_kept_per_person_and_shared_by_admins,
    teams_own_applications,
    team_views_narrow_every_listing,
);

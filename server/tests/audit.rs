//! The audit trail: every state change and security event has its entry (actor, token, client
//! address, target, changes), written in the change's own transaction, readable by admins only,
//! and unalterable even from raw SQL.

mod common;

use common::{run_app as run, TestApp, ADMIN_PASSWORD};
use serde_json::{json, Value};

/// Every entry of the trail, newest first, following the cursors (small pages on purpose).
async fn trail(app: &TestApp, query: &str) -> Vec<Value> {
    let mut entries = vec![];
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/audit?limit=7{query}");
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let response = app.get(&path).await;
        assert_eq!(response.status(), 200, "{path}");
        let page: Value = response.json().await.unwrap();
        entries.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return entries,
        }
    }
}

/// The newest entry with this action (and target, when given).
fn find<'a>(entries: &'a [Value], action: &str, target: Option<&Value>) -> &'a Value {
    entries
        .iter()
        .find(|e| e["action"] == action && target.is_none_or(|t| &e["targetId"] == t))
        .unwrap_or_else(|| panic!("no {action} entry for {target:?} in {entries:#?}"))
}

async fn every_change_and_security_event_has_its_entry(app: TestApp) {
    // Security events: a failed sign-in (an existing account), a sign-in, a sign-out.
    let browser = TestApp::browser();
    let failed = browser
        .post(app.url("/api/auth/login"))
        .json(&json!({"username": "admin", "password": "wrong password!"}))
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status(), 401);
    let login = browser
        .post(app.url("/api/auth/login"))
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);

    // The catalogue, through the admin's token named "tests".
    let billing = app
        .create("/api/applications", json!({"name": "Billing"}))
        .await;
    let billing_id = &billing["id"];
    let path = |prefix: &str, id: &Value| format!("{prefix}/{}", id.as_str().unwrap());
    let renamed = app
        .patch_json(
            &path("/api/applications", billing_id),
            json!({"name": "Billing API", "description": "invoices"}),
        )
        .await;
    assert_eq!(renamed.status(), 200);
    let staging = app
        .create("/api/environments", json!({"name": "STAGING"}))
        .await;
    let prod = app
        .create("/api/environments", json!({"name": "PROD"}))
        .await;
    let edited = app
        .patch_json(
            &path("/api/environments", &prod["id"]),
            json!({"isProduction": true}),
        )
        .await;
    assert_eq!(edited.status(), 200);
    let reordered = app
        .post_json(
            "/api/environments/order",
            json!({"ids": [prod["id"], staging["id"]]}),
        )
        .await;
    assert_eq!(reordered.status(), 200);
    let version = app
        .create(
            &format!("{}/versions", path("/api/applications", billing_id)),
            json!({"versionIdentifier": "1.0.0"}),
        )
        .await;
    let noted = app
        .patch_json(
            &path("/api/versions", &version["id"]),
            json!({"notes": "first"}),
        )
        .await;
    assert_eq!(noted.status(), 200);

    // Deployments: one by ids, one that registers its version, then a retraction.
    let first = app
        .create(
            "/api/deployments",
            json!({"applicationId": billing_id, "versionId": version["id"],
                   "environmentId": staging["id"], "deploymentDate": "2026-11-01T10:00:00Z"}),
        )
        .await;
    let second = app
        .create(
            "/api/deployments",
            json!({"application": "billing api", "version": "1.1.0", "environment": "prod",
                   "createVersion": true, "deploymentDate": "2026-11-02T10:00:00Z"}),
        )
        .await;
    let retracted = app
        .client
        .delete(app.url(&path("/api/deployments", &first["id"])))
        .json(&json!({"reason": "recorded against the wrong environment"}))
        .send()
        .await
        .unwrap();
    assert_eq!(retracted.status(), 200);

    // Users, tokens, hooks; archiving.
    let user = app
        .create(
            "/api/users",
            json!({"username": "erin", "password": "erin-password-1", "role": "viewer"}),
        )
        .await;
    for patch in [
        json!({"role": "editor"}),
        json!({"disabled": true}),
        json!({"password": "another-password-2"}),
    ] {
        let changed = app
            .patch_json(&path("/api/users", &user["id"]), patch)
            .await;
        assert_eq!(changed.status(), 200);
    }
    let token = app
        .create("/api/tokens", json!({"name": "deploy-bot"}))
        .await;
    let revoked = app
        .client
        .delete(app.url(&path("/api/tokens", &token["id"])))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    let hook = app
        .create("/api/hooks", json!({"provider": "github", "name": "acme"}))
        .await;
    let deleted = app
        .client
        .delete(app.url(&path("/api/hooks", &hook["id"])))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    for archive in [
        path("/api/versions", &version["id"]),
        path("/api/applications", billing_id),
        path("/api/environments", &staging["id"]),
    ] {
        let archived = app
            .post_json(&format!("{archive}/archive"), json!({}))
            .await;
        assert_eq!(archived.status(), 200, "{archive}");
    }
    let logout = browser
        .post(app.url("/api/auth/logout"))
        .header("origin", &app.base)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);

    let entries = trail(&app, "").await;
    // Newest first, each entry's shape.
    let times: Vec<&str> = entries.iter().map(|e| e["at"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    let admin = find(&entries, "auth.logout", None)["actor"].clone();
    assert_eq!(admin["username"], "admin");
    // The first admin was made by the server at start-up: no actor, no client.
    let (startup, requests): (Vec<&Value>, Vec<&Value>) = entries
        .iter()
        .partition(|e| e["actor"].is_null() && e["action"] == "user.created");
    assert_eq!(startup.len(), 1);
    assert_eq!(startup[0]["targetId"], admin["id"]);
    for entry in requests {
        assert_eq!(entry["clientAddress"], "127.0.0.1", "{entry}");
    }

    let failed = find(&entries, "auth.login_failed", None);
    assert_eq!(failed["actor"], Value::Null);
    assert_eq!(failed["targetId"], admin["id"], "the account tried");
    find(&entries, "auth.login", Some(&admin["id"]));

    // Changes through the token name it.
    let created = find(&entries, "application.created", Some(billing_id));
    assert_eq!(created["actor"], admin);
    assert_eq!(created["tokenName"], "tests");
    let updated = find(&entries, "application.updated", Some(billing_id));
    assert_eq!(
        updated["changes"],
        json!({"name": {"before": "Billing", "after": "Billing API"},
               "description": {"before": null, "after": "invoices"}})
    );
    let env_edit = find(&entries, "environment.updated", Some(&prod["id"]));
    assert_eq!(
        env_edit["changes"]["isProduction"],
        json!({"before": false, "after": true})
    );
    let order = find(&entries, "environment.reordered", None);
    assert_eq!(
        order["changes"]["order"]["after"],
        json!([prod["id"], staging["id"]])
    );
    assert_eq!(
        order["changes"]["order"]["before"],
        json!([staging["id"], prod["id"]])
    );
    find(&entries, "version.created", Some(&version["id"]));
    let version_edit = find(&entries, "version.updated", Some(&version["id"]));
    assert_eq!(version_edit["changes"]["notes"]["after"], "first");

    let recorded = find(&entries, "deployment.recorded", Some(&first["id"]));
    assert_eq!(recorded["tokenName"], "tests");
    find(&entries, "deployment.recorded", Some(&second["id"]));
    find(&entries, "version.created", Some(&second["version"]["id"]));
    let retraction = find(&entries, "deployment.retracted", Some(&first["id"]));
    assert_eq!(
        retraction["changes"]["reason"]["after"],
        "recorded against the wrong environment"
    );

    assert_eq!(
        find(&entries, "user.created", Some(&user["id"]))["changes"]["role"]["after"],
        "viewer"
    );
    assert_eq!(
        find(&entries, "user.role_changed", Some(&user["id"]))["changes"]["role"],
        json!({"before": "viewer", "after": "editor"})
    );
    let disabled = find(&entries, "user.disabled", Some(&user["id"]));
    assert_eq!(disabled["changes"]["disabledAt"]["before"], Value::Null);
    find(&entries, "user.password_changed", Some(&user["id"]));
    find(&entries, "token.created", Some(&token["id"]));
    find(&entries, "token.revoked", Some(&token["id"]));
    find(&entries, "hook.created", Some(&hook["id"]));
    find(&entries, "hook.deleted", Some(&hook["id"]));
    find(&entries, "version.archived", Some(&version["id"]));
    find(&entries, "application.archived", Some(billing_id));
    find(&entries, "environment.archived", Some(&staging["id"]));

    // Secrets are never in it: the token's and the hook's, the passwords.
    let all = serde_json::to_string(&entries).unwrap();
    for secret in [
        token["token"].as_str().unwrap(),
        hook["secret"].as_str().unwrap(),
        &app.admin_token,
        ADMIN_PASSWORD,
        "erin-password-1",
        "another-password-2",
        "wrong password!",
    ] {
        assert!(!all.contains(secret), "a secret leaked into the trail");
    }

    // A change that changes nothing, and a refused one, leave no entry.
    let before = entries.len();
    let same = app
        .patch_json(
            &path("/api/environments", &prod["id"]),
            json!({"isProduction": true}),
        )
        .await;
    assert_eq!(same.status(), 200);
    let duplicate = app
        .post_json("/api/applications", json!({"name": "BILLING API"}))
        .await;
    assert_eq!(duplicate.status(), 409);
    assert_eq!(trail(&app, "").await.len(), before);
}

async fn only_admins_read_it_with_filters_paging_and_csv(app: TestApp) {
    let editor = app.signed_in_as("ed", "editor").await;
    let editor_token = app.token_for(&editor, "ed-ci").await;
    let ed = TestApp::bearer_client(&editor_token);
    let refused = ed.get(app.url("/api/audit")).send().await.unwrap();
    assert_eq!(refused.status(), 403);
    let refused = ed.get(app.url("/api/audit.csv")).send().await.unwrap();
    assert_eq!(refused.status(), 403);
    let stranger = reqwest::get(app.url("/api/audit")).await.unwrap();
    assert_eq!(stranger.status(), 401);

    for n in 0..12 {
        ed.post(app.url("/api/applications"))
            .json(&json!({"name": format!("app-{n:02}")}))
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap();
    }
    let everything = trail(&app, "").await;
    let ids: std::collections::HashSet<&str> = everything
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), everything.len(), "pages overlap");

    // By action and by actor: the editor's twelve applications, through the editor's token.
    let created = trail(&app, "&action=application.created").await;
    assert_eq!(created.len(), 12);
    let ed_id = created[0]["actor"]["id"].as_str().unwrap().to_string();
    assert!(created.iter().all(|e| e["tokenName"] == "ed-ci"));
    let by_ed = trail(&app, &format!("&actorId={ed_id}")).await;
    assert!(by_ed.len() >= 13, "sign-in, token and applications");
    assert!(by_ed.iter().all(|e| e["actor"]["id"] == ed_id.as_str()));
    // By target.
    let one = created[3]["targetId"].as_str().unwrap();
    let about_one = trail(&app, &format!("&targetId={one}")).await;
    assert_eq!(about_one.len(), 1);
    // By time: nothing before the trail began, everything up to now.
    let oldest = everything.last().unwrap()["at"]
        .as_str()
        .unwrap()
        .to_string();
    let early = trail(&app, "&dateTo=2000-01-01T00:00:00Z").await;
    assert!(early.is_empty());
    let since = trail(&app, &format!("&dateFrom={}", oldest.replace('+', "%2B"))).await;
    assert_eq!(since.len(), everything.len());

    // Hostile queries are refused with a reason, never a 5xx.
    for (query, status) in [
        ("limit=0", 422),
        ("limit=501", 422),
        ("limit=-3", 422),
        ("cursor=not-a-cursor", 400),
        ("cursor=%00", 400),
        ("actorId=nope", 400),
        ("action=%00", 422),
        ("dateFrom=-5000-01-01T00:00:00Z", 422),
        ("dateTo=9999999-01-01T00:00:00Z", 400),
        ("unknown=1", 400),
    ] {
        let response = app.get(&format!("/api/audit?{query}")).await;
        assert_eq!(response.status(), status, "{query}");
    }
    let long = "a".repeat(60_000); // the http crate refuses URIs of 64 KB and more
    let response = app.get(&format!("/api/audit?action={long}")).await;
    assert!(response.status().is_client_error(), "{}", response.status());

    // The CSV export: a header and one row per entry, filters applied.
    let csv = app.get("/api/audit.csv?action=application.created").await;
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    let header = rows.headers().unwrap().clone();
    assert_eq!(&header[6], "action");
    let records: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 12);
    assert!(records
        .iter()
        .all(|r| &r[6] == "application.created" && &r[3] == "ed"));
}

async fn entries_cannot_be_changed_or_removed(app: TestApp) {
    app.create("/api/applications", json!({"name": "Billing"}))
        .await;
    for sql in [
        "UPDATE audit_entry SET action = 'nothing.happened'",
        "UPDATE audit_entry SET actor_username = NULL",
        "DELETE FROM audit_entry",
    ] {
        let refused = app.raw_sql(sql).await;
        assert!(
            refused.as_ref().is_err_and(|e| e.contains("append-only")),
            "{sql}: {refused:?}"
        );
    }
    if app.db.url.starts_with("sqlite:") {
        let replace = app
            .raw_sql("REPLACE INTO audit_entry SELECT * FROM audit_entry")
            .await;
        assert!(replace.is_err_and(|e| e.contains("append-only")));
    } else {
        let truncate = app.raw_sql("TRUNCATE audit_entry").await;
        assert!(truncate.is_err_and(|e| e.contains("append-only")));
    }
    let entries = trail(&app, "&action=application.created").await;
    assert_eq!(entries.len(), 1);
}

/// When the entry cannot be written, the change does not happen either.
async fn a_change_and_its_entry_are_one_transaction(app: TestApp) {
    let staging = app
        .create("/api/environments", json!({"name": "STAGING"}))
        .await;
    let billing = app
        .create("/api/applications", json!({"name": "Billing"}))
        .await;
    let version = app
        .create(
            &format!(
                "/api/applications/{}/versions",
                billing["id"].as_str().unwrap()
            ),
            json!({"versionIdentifier": "1.0.0"}),
        )
        .await;
    // Break the trail from outside: every insert into it fails.
    let broken = if app.db.url.starts_with("sqlite:") {
        app.raw_sql(
            "CREATE TRIGGER audit_down BEFORE INSERT ON audit_entry
             BEGIN SELECT RAISE(ABORT, 'audit trail unavailable'); END",
        )
        .await
    } else {
        app.raw_sql(
            "CREATE FUNCTION audit_down() RETURNS trigger LANGUAGE plpgsql AS
             $$ BEGIN RAISE EXCEPTION 'audit trail unavailable'; END; $$",
        )
        .await
        .unwrap();
        app.raw_sql(
            "CREATE TRIGGER audit_down BEFORE INSERT ON audit_entry
             FOR EACH ROW EXECUTE FUNCTION audit_down()",
        )
        .await
    };
    broken.unwrap();

    let created = app
        .post_json("/api/applications", json!({"name": "Payments"}))
        .await;
    assert_eq!(created.status(), 500);
    let renamed = app
        .patch_json(
            &format!("/api/applications/{}", billing["id"].as_str().unwrap()),
            json!({"name": "Invoicing"}),
        )
        .await;
    assert_eq!(renamed.status(), 500);
    let recorded = app
        .post_json(
            "/api/deployments",
            json!({"applicationId": billing["id"], "versionId": version["id"],
                   "environmentId": staging["id"], "deploymentDate": "2026-11-01T10:00:00Z"}),
        )
        .await;
    assert_eq!(recorded.status(), 500);

    let applications: Value = app.get("/api/applications").await.json().await.unwrap();
    let names: Vec<&str> = applications
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Billing"], "neither created nor renamed");
    let history: Value = app.get("/api/deployments").await.json().await.unwrap();
    assert_eq!(history["items"], json!([]), "nothing recorded");
    let current: Value = app
        .get("/api/deployments/current")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(current, json!([]));
}

for_both_backends!(run;
    every_change_and_security_event_has_its_entry,
    only_admins_read_it_with_filters_paging_and_csv,
    entries_cannot_be_changed_or_removed,
    a_change_and_its_entry_are_one_transaction,
);

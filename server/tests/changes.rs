//! What changed between two deployed versions (issue 36), on both backends, with a real git
//! repository made by the test: `deploytrack record --commits-from-git` (the real binary) sends
//! exactly what `git log` lists between the deployed commit and the new one, through tags, a
//! merge, a rollback and a rebase that rewrites history; the changes between environments,
//! versions and deployments equal the lists git itself gives; paging, release notes and hostile
//! input.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{run_backend, Backend, TestApp};
use serde_json::{json, Value};

/// A git repository in a temporary directory, with fixed identities and dates so that runs
/// are reproducible.
struct Repository {
    _dir: tempfile::TempDir,
    path: PathBuf,
    clock: std::cell::Cell<i64>,
}

impl Repository {
    fn new() -> Repository {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        let repository = Repository {
            _dir: dir,
            path,
            clock: std::cell::Cell::new(1_767_225_600), // 2026-01-01T00:00:00Z
        };
        repository.git(&["init", "-q", "-b", "main"]);
        repository
    }

    fn git(&self, args: &[&str]) -> String {
        let at = self.clock.get();
        self.clock.set(at + 3_600);
        let date = format!("@{at} +0000");
        let output = Command::new("git")
            .arg("-C")
            .arg(&self.path)
            .args(args)
            .env("GIT_AUTHOR_NAME", "Ada Lovelace")
            .env("GIT_AUTHOR_EMAIL", "ada@example.com")
            .env("GIT_COMMITTER_NAME", "Ada Lovelace")
            .env("GIT_COMMITTER_EMAIL", "ada@example.com")
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", &self.path)
            .output()
            .expect("git runs");
        assert!(
            output.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }

    /// A commit with this subject (and a file of its own); its hash.
    fn commit(&self, title: &str) -> String {
        let file = format!("f{}", self.clock.get());
        std::fs::write(self.path.join(&file), title).unwrap();
        self.git(&["add", &file]);
        self.git(&["commit", "-q", "-m", title]);
        self.git(&["rev-parse", "HEAD"])
    }

    /// What `git log` lists for `range`, hashes newest first.
    fn log(&self, range: &str) -> Vec<String> {
        self.git(&["log", "--format=%H", range])
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

/// Runs `deploytrack record --commits-from-git` in the repository, deploying `revision`.
async fn record(app: &TestApp, repository: &Repository, version: &str, env: &str) -> Value {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_deploytrack"))
        .args([
            "record",
            "--app",
            "billing",
            "--version",
            version,
            "--env",
            env,
            "--create-version",
            "--commits-from-git",
            "--git-dir",
        ])
        .arg(repository.path())
        .env("DEPLOYTRACK_URL", &app.base)
        .env("DEPLOYTRACK_TOKEN", &app.admin_token)
        .env_remove("DATABASE_URL")
        .kill_on_drop(true)
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let id = stdout.split('\t').next().unwrap().trim().to_string();
    let deployment: Value = app
        .get(&format!("/api/deployments/{id}"))
        .await
        .json()
        .await
        .unwrap();
    json!({"deployment": deployment, "stderr": stderr})
}

async fn changes(app: &TestApp, query: &str) -> Value {
    let response = app.get(&format!("/api/changes?{query}")).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{query}: {body}");
    body
}

fn shas(changes: &Value) -> Vec<String> {
    changes["commits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["sha"].as_str().unwrap().to_string())
        .collect()
}

fn keys(changes: &Value) -> Vec<&str> {
    changes["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["key"].as_str().unwrap())
        .collect()
}

async fn version_id(app: &TestApp, identifier: &str) -> String {
    let applications: Value = app.get("/api/applications").await.json().await.unwrap();
    let billing = applications[0]["id"].as_str().unwrap();
    let versions: Value = app
        .get(&format!("/api/applications/{billing}/versions"))
        .await
        .json()
        .await
        .unwrap();
    versions
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["versionIdentifier"] == identifier)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn spawn(backend: Backend) -> Option<TestApp> {
    let app = TestApp::spawn_with(backend, |config| {
        config.ticket_url = Some("https://jira.example.com/browse/{key}".into());
    })
    .await?;
    app.create(
        "/api/applications",
        json!({"name": "Billing", "repository": "acme/billing"}),
    )
    .await;
    app.create("/api/environments", json!({"name": "STAGING"}))
        .await;
    app.create(
        "/api/environments",
        json!({"name": "PROD", "isProduction": true}),
    )
    .await;
    Some(app)
}

/// Tags, a merge, promotion to production, a rollback, and changes between environments,
/// versions and deployments, each equal to what git lists.
async fn the_cli_sends_git_log_and_changes_follow_it(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let repo = Repository::new();
    repo.commit("Initial commit");
    let v1_0 = repo.commit("BILL-1 invoices");
    repo.git(&["tag", "v1.0"]);
    // Nothing runs in STAGING yet: the whole history up to the commit goes.
    let first = record(&app, &repo, "1.0", "STAGING").await;
    assert!(
        first["stderr"]
            .as_str()
            .unwrap()
            .contains("Sending 2 commits"),
        "{first}"
    );
    let own: Value = app
        .get(&format!(
            "/api/versions/{}/commits",
            version_id(&app, "1.0").await
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shas(&own), repo.log("v1.0"));
    assert_eq!(own["source"], "recorded", "{own}");
    record(&app, &repo, "1.0", "PROD").await;

    // A feature branch merged, then more on main.
    repo.commit("BILL-2 refunds");
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.commit("BILL-3 partial refunds");
    repo.git(&["checkout", "-q", "main"]);
    repo.commit("Fix a typo (no ticket)");
    repo.git(&[
        "merge",
        "-q",
        "--no-ff",
        "feature",
        "-m",
        "Merge BILL-3 into main",
    ]);
    let v1_1 = repo.git(&["rev-parse", "HEAD"]);
    repo.git(&["tag", "v1.1"]);
    let recorded = record(&app, &repo, "1.1", "STAGING").await;
    assert!(
        recorded["stderr"]
            .as_str()
            .unwrap()
            .contains(&format!("Sending 4 commits since {}", &v1_0[..12])),
        "{recorded}"
    );
    // Exactly git log between the deployed commit and the new one.
    let own: Value = app
        .get(&format!(
            "/api/versions/{}/commits",
            version_id(&app, "1.1").await
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shas(&own), repo.log("v1.0..v1.1"));

    // What is in STAGING that is not in PROD yet, and the other way round.
    let ahead = changes(
        &app,
        "application=Billing&fromEnvironment=PROD&toEnvironment=STAGING",
    )
    .await;
    assert_eq!(ahead["direction"], "ahead");
    assert_eq!(ahead["source"], "recorded");
    assert_eq!(shas(&ahead), repo.log("v1.0..v1.1"));
    assert_eq!(ahead["totalCommits"], 4);
    assert_eq!(keys(&ahead), ["BILL-3", "BILL-2"]);
    assert_eq!(
        ahead["tickets"][0]["url"],
        "https://jira.example.com/browse/BILL-3"
    );
    assert_eq!(
        ahead["compareUrl"],
        format!("https://github.com/acme/billing/compare/{v1_0}...{v1_1}")
    );
    assert_eq!(ahead["versions"][0]["versionIdentifier"], "1.1");
    let behind = changes(
        &app,
        "application=billing&fromEnvironment=staging&toEnvironment=prod",
    )
    .await;
    assert_eq!(behind["direction"], "behind");
    assert_eq!(shas(&behind), repo.log("v1.0..v1.1"));
    let same = changes(
        &app,
        "application=Billing&fromEnvironment=PROD&toEnvironment=PROD",
    )
    .await;
    assert_eq!(same["direction"], "same");
    assert!(shas(&same).is_empty());

    // Two more releases; between versions, the walk goes through every list sent.
    repo.commit("BILL-4 statements");
    repo.git(&["tag", "v1.2"]);
    record(&app, &repo, "1.2", "STAGING").await;
    let between = changes(&app, "application=Billing&fromVersion=1.0&toVersion=1.2").await;
    assert_eq!(between["source"], "recorded");
    assert_eq!(shas(&between), repo.log("v1.0..v1.2"));
    assert_eq!(keys(&between), ["BILL-4", "BILL-3", "BILL-2"]);
    // PROD jumps from 1.0 to 1.2: the CLI sends v1.0..v1.2 for 1.2 too; nothing is listed twice.
    let promoted = record(&app, &repo, "1.2", "PROD").await;
    let brought: Value = app
        .get(&format!(
            "/api/deployments/{}/changes",
            promoted["deployment"]["id"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(brought["direction"], "ahead");
    assert_eq!(shas(&brought), repo.log("v1.0..v1.2"));
    assert_eq!(brought["source"], "recorded");

    // A rollback of PROD to 1.1 shows what it took away.
    repo.git(&["checkout", "-q", "v1.1"]);
    let rollback = record(&app, &repo, "1.1", "PROD").await;
    let id = rollback["deployment"]["id"].as_str().unwrap();
    let removed: Value = app
        .get(&format!("/api/deployments/{id}/changes"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(removed["direction"], "behind", "{removed}");
    assert_eq!(shas(&removed), repo.log("v1.1..v1.2"));
    assert_eq!(removed["source"], "recorded");
    // The same as release notes, by path and by Accept.
    let notes = app
        .get(&format!("/api/deployments/{id}/changes.md"))
        .await
        .text()
        .await
        .unwrap();
    assert!(notes.starts_with("# Billing: 1\\.2 → 1\\.1"), "{notes}");
    assert!(notes.contains("A step back: 1 commit removed."), "{notes}");
    assert!(
        notes.contains("- [BILL\\-4](https://jira.example.com/browse/BILL-4)"),
        "{notes}"
    );
    let removed_sha = &repo.log("v1.1..v1.2")[0];
    let day = repo.git(&["log", "-1", "--format=%as", removed_sha]);
    // Commits sent without a link get GitHub's (the application's repository, the default forge).
    let line = format!(
        "- [`{}`](https://github.com/acme/billing/commit/{removed_sha}) BILL\\-4 statements (Ada Lovelace, {day})",
        &removed_sha[..7]
    );
    assert!(notes.contains(&line), "{line} in {notes}");
    let by_accept = app
        .client
        .get(app.url("/api/changes?application=Billing&fromVersion=1.0&toVersion=1.2"))
        .header("accept", "text/markdown")
        .send()
        .await
        .unwrap();
    assert_eq!(
        by_accept.headers()["content-type"],
        "text/markdown; charset=utf-8"
    );
    let text = by_accept.text().await.unwrap();
    assert!(text.contains("5 commits added."), "{text}");
    assert!(text.contains("Merge BILL\\-3 into main"), "{text}");
}

/// A rebase rewrites the release branch: the CLI sends what the new commit has that the
/// deployed one had not (git log old..new), which is then what changed between the two.
async fn a_rebase_that_rewrites_history(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let repo = Repository::new();
    repo.commit("Initial commit");
    repo.git(&["tag", "v1.0"]);
    record(&app, &repo, "1.0", "STAGING").await;
    repo.git(&["checkout", "-q", "-b", "release"]);
    repo.commit("BILL-5 exports");
    repo.git(&["tag", "rc1"]);
    record(&app, &repo, "2.0-rc1", "STAGING").await;
    // main moves on; the release branch is rebased onto it (its commit gets a new hash).
    repo.git(&["checkout", "-q", "main"]);
    repo.commit("BILL-6 hotfix");
    repo.git(&["checkout", "-q", "release"]);
    repo.git(&["rebase", "-q", "main"]);
    repo.git(&["tag", "rc2"]);
    let sent = record(&app, &repo, "2.0-rc2", "STAGING").await;
    assert!(
        sent["stderr"]
            .as_str()
            .unwrap()
            .contains("Sending 2 commits"),
        "{sent}"
    );
    let expected = repo.log("rc1..rc2");
    assert_eq!(expected.len(), 2, "the rebased commit and the hotfix");
    let own: Value = app
        .get(&format!(
            "/api/versions/{}/commits",
            version_id(&app, "2.0-rc2").await
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shas(&own), expected);
    let forward = changes(
        &app,
        "application=Billing&fromVersion=2.0-rc1&toVersion=2.0-rc2",
    )
    .await;
    assert_eq!(forward["direction"], "ahead");
    assert_eq!(shas(&forward), expected);
    assert_eq!(forward["source"], "recorded");
    assert_eq!(keys(&forward), ["BILL-5", "BILL-6"]);
    let backward = changes(
        &app,
        "application=Billing&fromVersion=2.0-rc2&toVersion=2.0-rc1",
    )
    .await;
    assert_eq!(backward["direction"], "behind");
    assert_eq!(shas(&backward), expected);
    // Across the rewrite the lists do not meet: what is known is given, marked partial.
    let across = changes(
        &app,
        "application=Billing&fromVersion=1.0&toVersion=2.0-rc2",
    )
    .await;
    assert_eq!(across["source"], "partial", "{across}");
}

/// A shallow checkout (the CI default) lacks the deployed commit: the CLI says what to do and
/// records the deployment without commits rather than failing the pipeline.
async fn a_shallow_checkout_records_without_commits(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let repo = Repository::new();
    repo.commit("Initial commit");
    repo.commit("BILL-7 first");
    record(&app, &repo, "1.0", "STAGING").await;
    repo.commit("BILL-8 second");
    let dir = tempfile::tempdir().unwrap();
    let shallow = Repository {
        path: dir.path().join("checkout"),
        _dir: dir,
        clock: std::cell::Cell::new(0),
    };
    let source = format!("file://{}", repo.path().display());
    let cloned = Command::new("git")
        .args(["clone", "-q", "--depth", "1", &source])
        .arg(&shallow.path)
        .output()
        .unwrap();
    assert!(
        cloned.status.success(),
        "{}",
        String::from_utf8_lossy(&cloned.stderr)
    );
    let recorded = record(&app, &shallow, "1.1", "STAGING").await;
    let stderr = recorded["stderr"].as_str().unwrap();
    assert!(
        stderr.contains("is not in this checkout (a shallow clone?"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Recorded Billing 1.1 in STAGING"),
        "{stderr}"
    );
    let own: Value = app
        .get(&format!(
            "/api/versions/{}/commits",
            version_id(&app, "1.1").await
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(own["source"], "unavailable", "{own}");
}

/// Versions recorded without commits: `unavailable`, with a compare link from the version
/// identifiers; an environment that runs nothing against one that does.
async fn without_commits_the_answer_says_so(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    for version in ["3.0", "3.1"] {
        app.create(
            "/api/deployments",
            json!({"application": "Billing", "version": version, "environment": "STAGING",
                   "createVersion": true, "deploymentDate": "2026-03-01T10:00:00Z"}),
        )
        .await;
    }
    let answer = changes(&app, "application=Billing&fromVersion=3.0&toVersion=3.1").await;
    assert_eq!(answer["source"], "unavailable");
    assert_eq!(answer["direction"], "ahead");
    assert!(shas(&answer).is_empty());
    assert_eq!(
        answer["compareUrl"],
        "https://github.com/acme/billing/compare/3.0...3.1"
    );
    let empty = changes(
        &app,
        "application=Billing&fromEnvironment=PROD&toEnvironment=STAGING",
    )
    .await;
    assert!(empty.get("from").is_none(), "{empty}");
    assert_eq!(empty["to"]["versionIdentifier"], "3.1");
    assert_eq!(empty["direction"], "ahead");
    assert_eq!(empty["source"], "unavailable");
}

fn fake_commit(n: usize) -> Value {
    json!({"sha": format!("{n:040x}"), "title": format!("OPS-{n} change {n}"),
           "author": "Grace Hopper", "authoredAt": "2026-02-01T12:00:00Z"})
}

/// 10,000 commits over two lists, paged 700 at a time: every commit once, in order.
async fn ten_thousand_commits_page_without_overlap(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let applications: Value = app.get("/api/applications").await.json().await.unwrap();
    let billing = applications[0]["id"].as_str().unwrap().to_string();
    let mut ids = vec![];
    for (identifier, sha) in [("0", 0usize), ("1", 5_000), ("2", 10_000)] {
        let version = app
            .create(
                &format!("/api/applications/{billing}/versions"),
                json!({"versionIdentifier": identifier, "commitSha": format!("{sha:040x}")}),
            )
            .await;
        ids.push(version["id"].as_str().unwrap().to_string());
    }
    // Version 1 holds commits 5000..=1 (newest first), version 2 holds 10000..=5001.
    for (index, top) in [(1usize, 5_000usize), (2, 10_000)] {
        let commits: Vec<Value> = (top - 4_999..=top).rev().map(fake_commit).collect();
        let since = format!("{:040x}", top - 5_000);
        let response = app
            .post_json(
                &format!("/api/versions/{}/commits", ids[index]),
                json!({"since": since, "commits": commits}),
            )
            .await;
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["commits"], 5_000);
        assert_eq!(body["baseVersionId"], ids[index - 1].as_str());
        assert_eq!(body["stored"], true);
    }
    let mut seen = vec![];
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut query = "application=Billing&fromVersion=0&toVersion=2&limit=700".to_string();
        if let Some(cursor) = &cursor {
            query.push_str(&format!("&cursor={cursor}"));
        }
        let page = changes(&app, &query).await;
        assert_eq!(page["totalCommits"], 10_000);
        assert_eq!(page["source"], "recorded");
        seen.extend(shas(&page));
        pages += 1;
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(pages, 15);
    let expected: Vec<String> = (1..=10_000).rev().map(|n| format!("{n:040x}")).collect();
    assert_eq!(seen, expected);
    // The same list again stores nothing more.
    let again = app
        .post_json(
            &format!("/api/versions/{}/commits", ids[1]),
            json!({"since": format!("{:040x}", 0), "commits": [fake_commit(1)]}),
        )
        .await;
    let body: Value = again.json().await.unwrap();
    assert_eq!(body["stored"], false, "{body}");
    // Each list kept is in the audit trail, once; the repeat left no entry.
    let audit: Value = app
        .get("/api/audit?action=version.commits_added")
        .await
        .json()
        .await
        .unwrap();
    let entries = audit["items"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{audit}");
    assert_eq!(entries[0]["changes"]["commits"], 5_000);
}

/// The walk between two versions goes at most 200 releases: 200 apart is exact, 201 apart is
/// what the walk found, marked partial.
async fn the_walk_is_bounded(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let applications: Value = app.get("/api/applications").await.json().await.unwrap();
    let billing = applications[0]["id"].as_str().unwrap().to_string();
    for n in 0..=201usize {
        let version = app
            .create(
                &format!("/api/applications/{billing}/versions"),
                json!({"versionIdentifier": format!("v{n}"), "commitSha": format!("{n:040x}")}),
            )
            .await;
        let mut list = json!({"commits": [fake_commit(n)]});
        if n > 0 {
            list["since"] = json!(format!("{:040x}", n - 1));
        }
        let response = app
            .post_json(
                &format!("/api/versions/{}/commits", version["id"].as_str().unwrap()),
                list,
            )
            .await;
        assert_eq!(response.status(), 200);
    }
    let exact = changes(
        &app,
        "application=Billing&fromVersion=v1&toVersion=v201&limit=1000",
    )
    .await;
    assert_eq!(exact["source"], "recorded");
    assert_eq!(exact["totalCommits"], 200);
    let far = changes(
        &app,
        "application=Billing&fromVersion=v0&toVersion=v201&limit=1000",
    )
    .await;
    assert_eq!(far["source"], "partial", "{}", far["source"]);
    assert_eq!(far["direction"], "ahead");
}

/// Bad shas, huge and NUL-laden titles, too many commits, bad patterns and cursors: 4xx with
/// the reason, never 5xx, and nothing stored.
async fn hostile_input_is_refused(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let applications: Value = app.get("/api/applications").await.json().await.unwrap();
    let billing = applications[0]["id"].as_str().unwrap().to_string();
    let version = app
        .create(
            &format!("/api/applications/{billing}/versions"),
            json!({"versionIdentifier": "1.0"}),
        )
        .await;
    let path = format!("/api/versions/{}/commits", version["id"].as_str().unwrap());
    let huge_title = "x".repeat(1 << 20);
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"commits": [{"sha": "zz", "title": "t", "author": "a", "authoredAt": "2026-01-01T00:00:00Z"}]}),
            "40 (SHA-1) or 64 (SHA-256) hex digits",
        ),
        (
            json!({"commits": [{"sha": "abc1234", "title": "t", "author": "a", "authoredAt": "2026-01-01T00:00:00Z"}]}),
            "full commit hash",
        ),
        (
            json!({"commits": [{"sha": format!("{:040x}", 1), "title": huge_title, "author": "a", "authoredAt": "2026-01-01T00:00:00Z"}]}),
            "at most 1000 characters",
        ),
        (
            json!({"commits": [{"sha": format!("{:040x}", 1), "title": "a\u{0}b", "author": "a", "authoredAt": "2026-01-01T00:00:00Z"}]}),
            "control characters",
        ),
        (
            json!({"commits": [{"sha": format!("{:040x}", 1), "title": "t", "author": "a", "authoredAt": "+20000-01-01T00:00:00Z"}]}),
            "authoredAt",
        ),
        (json!({"since": "not-a-sha", "commits": []}), "since"),
        (
            json!({"commits": [fake_commit(1), fake_commit(1)]}),
            "listed twice",
        ),
        (
            json!({"commits": [{"sha": format!("{:040x}", 1), "title": "t", "author": "a", "authoredAt": "2026-01-01T00:00:00Z", "url": "javascript:alert(1)"}]}),
            "http(s) URL",
        ),
    ];
    for (body, expected) in cases {
        let response = app.post_json(&path, body).await;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        assert!(
            (400..500).contains(&status) && text.contains(expected),
            "{status} {}",
            &text[..text.len().min(300)]
        );
    }
    // 100,000 commits in one request: refused with the limit named, whether sent alone or with
    // a deployment.
    let many: Vec<Value> = (0..100_000usize)
        .map(|n| json!({"sha": format!("{n:040x}"), "title": "t", "author": "a", "authoredAt": "2026-01-01T00:00:00Z"}))
        .collect();
    let response = app.post_json(&path, json!({"commits": many})).await;
    assert_eq!(response.status(), 422);
    let text = response.text().await.unwrap();
    assert!(
        text.contains("holds 100000 commits; at most 5000"),
        "{text}"
    );
    let response = app
        .post_json(
            "/api/deployments",
            json!({"application": "Billing", "version": "1.0", "environment": "STAGING",
                   "deploymentDate": "2026-03-01T10:00:00Z", "commits": {"commits": many}}),
        )
        .await;
    assert_eq!(response.status(), 422);
    let history: Value = app.get("/api/deployments").await.json().await.unwrap();
    assert!(
        history["items"].as_array().unwrap().is_empty(),
        "nothing recorded"
    );
    let stored: Value = app.get(&path).await.json().await.unwrap();
    assert!(shas(&stored).is_empty(), "nothing stored");

    for (query, status) in [
        ("application=Billing&fromVersion=1.0&toVersion=1.0&ticketPattern=(", 422),
        ("application=Billing&fromVersion=1.0&toVersion=1.0&ticketPattern=a%7B99999%7D%7B99999%7D", 422),
        ("application=Billing&fromVersion=1.0&toVersion=1.0&cursor=%%%", 400),
        ("application=Billing&fromVersion=1.0&toVersion=1.0&cursor=bm90fGF8Y3Vyc29y", 400),
        ("application=Billing&fromVersion=1.0&toVersion=1.0&limit=0", 422),
        ("application=Billing&fromVersion=1.0&toVersion=1.0&limit=-5", 400),
        ("application=Billing&fromVersion=1.0&fromEnvironment=PROD&toVersion=1.0", 422),
        ("application=Billing&toVersion=1.0", 422),
        ("application=Nope&fromVersion=1.0&toVersion=1.0", 422),
        ("application=Bil%00ling&fromVersion=1.0&toVersion=1.0", 422),
        ("application=Billing&fromVersion=9.9&toVersion=1.0", 422),
        ("application=Billing&fromEnvironment=Nowhere&toVersion=1.0", 422),
        ("fromVersion=1.0&toVersion=1.0", 400),
    ] {
        let response = app.get(&format!("/api/changes?{query}")).await;
        assert_eq!(response.status().as_u16(), status, "{query}");
    }
    let long = "a".repeat(10_000);
    let response = app
        .get(&format!(
            "/api/changes?application={long}&fromVersion=1&toVersion=2"
        ))
        .await;
    assert!(response.status().is_client_error(), "{}", response.status());
    for path in [
        "/api/deployments/00000000-0000-0000-0000-000000000000/changes",
        "/api/deployments/not-an-id/changes.md",
        "/api/versions/00000000-0000-0000-0000-000000000000/commits",
    ] {
        let response = app.get(path).await;
        assert!(response.status().is_client_error(), "{path}");
    }
    // Viewers read changes; only editors send commits.
    let viewer = app.signed_in_as("vera", "viewer").await;
    let token = app.token_for(&viewer, "vera's").await;
    let as_viewer = TestApp::bearer_client(&token);
    let read = as_viewer
        .get(app.url("/api/changes?application=Billing&fromVersion=1.0&toVersion=1.0"))
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    let write = as_viewer
        .post(app.url(&path))
        .json(&json!({"commits": [fake_commit(1)]}))
        .send()
        .await
        .unwrap();
    assert_eq!(write.status(), 403);
    let anonymous = reqwest::Client::new()
        .get(app.url("/api/changes?application=Billing&fromVersion=1.0&toVersion=1.0"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

/// Insights measure lead time from each commit's authoring once commits are sent (DORA), and
/// say so; a version recorded without commits still counts from its release.
async fn lead_time_is_measured_from_commits(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let commit = |n: usize, authored: &str| {
        json!({"sha": format!("{n:040x}"), "title": format!("change {n}"), "author": "Ada",
               "authoredAt": authored})
    };
    let recorded = app
        .post_json(
            "/api/deployments",
            json!({"application": "Billing", "version": "5.0", "environment": "PROD",
                   "createVersion": true, "commitSha": format!("{:040x}", 1),
                   "deploymentDate": "2026-03-10T12:00:00Z",
                   "commits": {"commits": [commit(1, "2026-03-09T12:00:00Z"), commit(2, "2026-03-07T12:00:00Z")]}}),
        )
        .await;
    assert_eq!(recorded.status(), 201, "{}", recorded.text().await.unwrap());
    app.create(
        "/api/deployments",
        json!({"application": "Billing", "version": "5.1", "environment": "PROD",
               "createVersion": true, "releasedAt": "2026-03-11T12:00:00Z",
               "deploymentDate": "2026-03-12T12:00:00Z"}),
    )
    .await;
    let insights: Value = app
        .get("/api/insights?from=2026-03-01T00:00:00Z&to=2026-03-31T00:00:00Z")
        .await
        .json()
        .await
        .unwrap();
    let lead = &insights["leadTime"];
    assert_eq!(lead["count"], 3, "{insights}");
    assert_eq!(lead["medianSeconds"], 86_400, "1 day, 1 day, 3 days");
    assert_eq!(lead["maxSeconds"], 3 * 86_400);
    assert_eq!(
        insights["leadTimeBasis"],
        json!({"versionsFromCommits": 1, "versionsFromReleases": 1, "commits": 2})
    );
}

for_both_backends!(run_backend;
    lead_time_is_measured_from_commits,
    the_cli_sends_git_log_and_changes_follow_it,
    a_rebase_that_rewrites_history,
    a_shallow_checkout_records_without_commits,
    without_commits_the_answer_says_so,
    ten_thousand_commits_page_without_overlap,
    the_walk_is_bounded,
    hostile_input_is_refused,
);

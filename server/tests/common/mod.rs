//! Test harness: a fresh database per test on either backend, and the real app on 127.0.0.1:0.
//!
//! PostgreSQL comes from `TEST_DATABASE_URL` (a server the test command starts). Without it the
//! PostgreSQL half is skipped with a loud message — unless `CI` is set, where that is a failure.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};

use app::ssr::Store;
use sqlx::Connection;
use uuid::Uuid;

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database that exists for one test and is removed afterwards.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>, // (admin url, database name)
}

fn postgres_admin_url() -> Option<String> {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!("CI is set but TEST_DATABASE_URL is not: PostgreSQL must be tested in CI")
        }
        _ => {
            eprintln!("SKIPPING PostgreSQL half: TEST_DATABASE_URL is not set (make test sets it)");
            None
        }
    }
}

/// Replaces the database name (the last path segment) of a PostgreSQL URL.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let root = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{root}/{name}?{q}"),
        None => format!("{root}/{name}"),
    }
}

impl TestDb {
    /// `None` only when PostgreSQL is not configured outside CI.
    pub async fn new(backend: Backend) -> Option<TestDb> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}/test.db", dir.path().display());
                Some(TestDb {
                    url,
                    _dir: Some(dir),
                    postgres: None,
                })
            }
            Backend::Postgres => {
                let admin = postgres_admin_url()?;
                let name = format!("dt_test_{}", Uuid::now_v7().simple());
                let mut conn = sqlx::PgConnection::connect(&admin)
                    .await
                    .expect("connect to TEST_DATABASE_URL");
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .expect("create test database");
                Some(TestDb {
                    url: with_database(&admin, &name),
                    _dir: None,
                    postgres: Some((admin, name)),
                })
            }
        }
    }

    pub async fn store(&self) -> Arc<dyn Store> {
        server::store::connect(&self.url)
            .await
            .expect("connect store")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.postgres.take() {
            // Drop runs outside any runtime we may block, so use a thread with its own.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                runtime.block_on(async move {
                    if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                        let _ =
                            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                                .execute(&mut conn)
                                .await;
                    }
                });
            })
            .join();
        }
    }
}

pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";

/// A request that takes this long has hung: fail the test rather than the whole CI run.
const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// The real application, served on an ephemeral port for one test.
/// `client` sends the admin's API token with every request.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub admin_token: String,
    pub db: TestDb,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        Self::spawn_with(backend, |_| {}).await
    }

    /// As `spawn`, after `adjust` has changed the settings.
    pub async fn spawn_with(
        backend: Backend,
        adjust: impl FnOnce(&mut server::Config),
    ) -> Option<TestApp> {
        let db = TestDb::new(backend).await?;
        Some(Self::spawn_on(db, adjust).await)
    }

    /// As `spawn_with`, on a database prepared beforehand (e.g. seeded).
    pub async fn spawn_on(db: TestDb, adjust: impl FnOnce(&mut server::Config)) -> TestApp {
        let mut config = server::Config::for_database(db.url.clone());
        config.admin_password = Some(ADMIN_PASSWORD.into());
        adjust(&mut config);
        let base = Self::serve(&config).await;
        let admin_token = Self::admin_token(&base, "tests").await;
        TestApp {
            client: Self::bearer_client(&admin_token),
            admin_token,
            base,
            db,
        }
    }

    /// Runs one statement directly against the test database, bypassing the application.
    pub async fn raw_sql(&self, sql: &str) -> Result<u64, String> {
        use sqlx::Connection;
        if self.db.url.starts_with("sqlite:") {
            let mut conn = sqlx::SqliteConnection::connect(&self.db.url).await.unwrap();
            sqlx::query(sql)
                .execute(&mut conn)
                .await
                .map(|r| r.rows_affected())
                .map_err(|e| e.to_string())
        } else {
            let mut conn = sqlx::PgConnection::connect(&self.db.url).await.unwrap();
            sqlx::query(sql)
                .execute(&mut conn)
                .await
                .map(|r| r.rows_affected())
                .map_err(|e| e.to_string())
        }
    }

    /// Builds the app for `config` and serves it on 127.0.0.1:0; returns its base URL.
    async fn serve(config: &server::Config) -> String {
        let app = server::build_app(config).await.expect("build app");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind port 0");
        let addr = listener.local_addr().unwrap();
        let config = config.clone();
        tokio::spawn(async move {
            server::serve_on(listener, app, &config, std::future::pending()).await
        });
        format!("http://{addr}")
    }

    /// A second server on this app's database (as when several instances share one
    /// PostgreSQL); returns its base URL. The admin's token works on it too.
    pub async fn second_server(&self) -> String {
        self.second_server_with(|_| {}).await
    }

    /// As `second_server`, after `adjust` has changed its settings.
    pub async fn second_server_with(&self, adjust: impl FnOnce(&mut server::Config)) -> String {
        let mut config = server::Config::for_database(self.db.url.clone());
        adjust(&mut config);
        Self::serve(&config).await
    }

    /// A client that keeps cookies, like a browser.
    pub fn browser() -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(REQUEST_TIMEOUT)
            .build()
            .unwrap()
    }

    /// A client that sends `Authorization: Bearer <token>`.
    pub fn bearer_client(token: &str) -> reqwest::Client {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {token}").parse().unwrap(),
        );
        reqwest::Client::builder()
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(REQUEST_TIMEOUT)
            .build()
            .unwrap()
    }

    /// Signs in at `base` as the test admin and returns a new API token named `name`.
    pub async fn admin_token(base: &str, name: &str) -> String {
        let browser = Self::browser();
        let login = browser
            .post(format!("{base}/api/auth/login"))
            .json(&serde_json::json!({"username": "admin", "password": ADMIN_PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(login.status(), 200, "admin login");
        Self::token_via(&browser, base, name).await
    }

    async fn token_via(client: &reqwest::Client, base: &str, name: &str) -> String {
        let response = client
            .post(format!("{base}/api/tokens"))
            .json(&serde_json::json!({ "name": name }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "token creation");
        let body: serde_json::Value = response.json().await.unwrap();
        body["token"].as_str().unwrap().to_string()
    }

    /// Creates a user with `role` (as admin) and returns a browser signed in as them.
    pub async fn signed_in_as(&self, username: &str, role: &str) -> reqwest::Client {
        let password = format!("{username}-password-123");
        self.create(
            "/api/users",
            serde_json::json!({"username": username, "password": password, "role": role}),
        )
        .await;
        let browser = Self::browser();
        let response = browser
            .post(self.url("/api/auth/login"))
            .json(&serde_json::json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "login as {username}");
        browser
    }

    /// A new API token of the user `browser` is signed in as.
    pub async fn token_for(&self, browser: &reqwest::Client, name: &str) -> String {
        Self::token_via(browser, &self.base, name).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Follows `Link: <…>; rel="next"` headers from `path` (each answer 200): every page's
    /// JSON array, in order.
    pub async fn follow_pages(&self, path: &str) -> Vec<Vec<serde_json::Value>> {
        let mut pages = vec![];
        let mut next = Some(path.to_string());
        while let Some(path) = next.take() {
            let response = self.get(&path).await;
            assert_eq!(response.status(), 200, "{path}");
            next = response.headers().get("link").map(|link| {
                let link = link.to_str().unwrap();
                assert!(link.ends_with(r#">; rel="next""#), "{link}");
                link[1..link.find('>').unwrap()].to_string()
            });
            pages.push(response.json().await.unwrap());
        }
        pages
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn post_json(&self, path: &str, body: serde_json::Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .expect("POST")
    }

    pub async fn patch_json(&self, path: &str, body: serde_json::Value) -> reqwest::Response {
        self.client
            .patch(self.url(path))
            .json(&body)
            .send()
            .await
            .expect("PATCH")
    }

    pub async fn post_raw(&self, path: &str, body: &'static str) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("POST")
    }

    /// POSTs and asserts 201, returning the created object.
    pub async fn create(&self, path: &str, body: serde_json::Value) -> serde_json::Value {
        let response = self.post_json(path, body).await;
        let status = response.status();
        let text = response.text().await.unwrap();
        assert_eq!(status, 201, "creating via {path} failed: {text}");
        serde_json::from_str(&text).unwrap()
    }
}

/// A fresh database filled by `server seed` (the bulk path, one year of history), with the test
/// admin; `None` when the backend is not available outside CI.
pub async fn seeded_db(
    backend: Backend,
    applications: usize,
    environments: usize,
    deployments: usize,
    versions: usize,
) -> Option<TestDb> {
    let db = TestDb::new(backend).await?;
    let mut config = server::Config::for_database(db.url.clone());
    config.admin_password = Some(ADMIN_PASSWORD.into());
    let args = server::seed::SeedArgs {
        applications,
        environments,
        deployments,
        versions,
        years: 1,
    };
    server::seed(&config, &args).await.expect("seed");
    Some(db)
}

/// The `/rpc/…` path of the server function whose name contains `name`.
pub fn server_fn_path(name: &str) -> &'static str {
    leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path)
        .find(|path| path.contains(name))
        .unwrap_or_else(|| panic!("the {name} server function is registered"))
}

/// Runs one REST case against a freshly spawned app (skipped when the backend is unavailable).
pub async fn run_app<F, Fut>(backend: Backend, case: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    if let Some(app) = TestApp::spawn(backend).await {
        case(app).await;
    }
}

/// For cases that set up their own server (settings, several instances): hands them the backend.
pub async fn run_backend<F, Fut>(backend: Backend, case: F)
where
    F: FnOnce(Backend) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    case(backend).await
}

/// The release server as a separate process, like an operator runs it.
pub struct ServerProcess {
    child: std::process::Child,
    pub base: String,
}

impl ServerProcess {
    pub async fn start(database_url: &str) -> ServerProcess {
        Self::start_with(database_url, &[]).await
    }

    /// As `start`, with more environment variables (settings) for the server.
    pub async fn start_with(database_url: &str, settings: &[(&str, &str)]) -> ServerProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_deploytrack"))
            .env("DATABASE_URL", database_url)
            .env("DEPLOYTRACK_ADDR", format!("127.0.0.1:{port}"))
            .env("DEPLOYTRACK_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .envs(settings.iter().copied())
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .expect("start the server binary");
        // Owned at once, so that every path below (even a panic) kills and reaps it.
        let server = ServerProcess {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let client = reqwest::Client::new();
        for _ in 0..240 {
            if let Ok(response) = client.get(format!("{}/healthz", server.base)).send().await {
                if response.status() == 200 {
                    return server;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
        panic!("the server did not become healthy within 60 s");
    }

    /// The server's process id (to read what the kernel says about it).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn kill_9(mut self) {
        self.child.kill().expect("SIGKILL"); // Child::kill sends SIGKILL on Unix
        self.child.wait().unwrap();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs each listed case once per backend, as separately named tests:
/// `sqlite::case` and `postgres::case`. Cases listed after `postgres only:` exist only as
/// `postgres::case` (they test what SQLite does not have), so no SQLite run counts them as passed.
#[macro_export]
macro_rules! for_both_backends {
    ($runner:ident; $($case:ident),+ $(,)? $(; postgres only: $($postgres_case:ident),+ $(,)?)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$runner($crate::common::Backend::Sqlite, super::$case).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$runner($crate::common::Backend::Postgres, super::$case).await;
                }
            )+
            $($(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $postgres_case() {
                    super::$runner($crate::common::Backend::Postgres, super::$postgres_case).await;
                }
            )+)?
        }
    };
}

/// A webhook receiver on 127.0.0.1 that keeps what it is sent; the first `failures` requests
/// get a 500.
#[derive(Clone, Default)]
pub struct Receiver {
    pub received: Arc<Mutex<Vec<(HeaderMap, String)>>>,
    pub failures: Arc<Mutex<usize>>,
}

impl Receiver {
    /// Serves on `listener` (127.0.0.1) until the test ends.
    pub fn serve(&self, listener: tokio::net::TcpListener) {
        let me = self.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let me = me.clone();
                async move {
                    me.received.lock().unwrap().push((headers, body));
                    let mut failures = me.failures.lock().unwrap();
                    if *failures > 0 {
                        *failures -= 1;
                        StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        StatusCode::NO_CONTENT
                    }
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
    }

    pub async fn start() -> (Receiver, String) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let receiver = Receiver::default();
        receiver.serve(listener);
        (receiver, url)
    }

    /// Waits (at most 20 s) until `n` requests arrived; returns them.
    pub async fn wait_for(&self, n: usize) -> Vec<(HeaderMap, String)> {
        for _ in 0..200 {
            if self.received.lock().unwrap().len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let received = self.received.lock().unwrap().clone();
        assert!(
            received.len() >= n,
            "{} of {n} requests arrived",
            received.len()
        );
        received
    }
}

/// The events of every delivery a receiver got, sorted.
pub fn events_received(receiver: &Receiver) -> Vec<String> {
    let mut events: Vec<String> = receiver
        .received
        .lock()
        .unwrap()
        .iter()
        .map(|(headers, _)| headers["x-deploytrack-event"].to_str().unwrap().to_string())
        .collect();
    events.sort();
    events
}

/// The `text` of every body a receiver got (Slack-format notifications), in arrival order.
pub fn texts_received(receiver: &Receiver) -> Vec<String> {
    receiver
        .received
        .lock()
        .unwrap()
        .iter()
        .map(|(_, body)| {
            serde_json::from_str::<serde_json::Value>(body).unwrap()["text"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

//! What the browser receives: compressed pages and API answers (never the live feed), `no-store`
//! on everything per user, and the built assets under a content-named path, precompressed and
//! cached for a year.

mod common;

use common::{run_app as run, run_backend, Backend, TestApp};

/// A site folder as `cargo leptos build --release --precompress` leaves it: the WASM's JS with
/// a brotli sibling, the CSS.
fn built_site() -> tempfile::TempDir {
    let site = tempfile::tempdir().unwrap();
    let pkg = site.path().join("pkg");
    std::fs::create_dir(&pkg).unwrap();
    std::fs::write(
        pkg.join("deploytrack.js"),
        "export default function init() {}\n".repeat(50),
    )
    .unwrap();
    std::fs::write(pkg.join("deploytrack.js.br"), b"(brotli bytes)").unwrap();
    std::fs::write(pkg.join("deploytrack.css"), "body { margin: 0 }").unwrap();
    site
}

async fn spawn_with_site(backend: Backend, site: &tempfile::TempDir) -> Option<TestApp> {
    let root = site.path().to_str().unwrap().to_string();
    TestApp::spawn_with(backend, move |config| config.site_root = root).await
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .map_or("", |value| value.to_str().unwrap())
}

/// The `/pkg/<version>` a page names its scripts and styles under.
fn asset_folder(html: &str) -> String {
    let start = html.find("/pkg/").expect("the page names its assets");
    html[start..start + "/pkg/".len() + 16].to_string()
}

async fn pages_name_assets_by_content_and_they_are_kept_a_year(backend: Backend) {
    let site = built_site();
    let Some(app) = spawn_with_site(backend, &site).await else {
        return;
    };
    let login = TestApp::browser()
        .get(app.url("/login"))
        .send()
        .await
        .unwrap();
    let html = login.text().await.unwrap();
    let folder = asset_folder(&html);
    assert!(
        folder[5..].chars().all(|c| c.is_ascii_hexdigit()),
        "{folder}"
    );
    assert!(
        html.contains(&format!("{folder}/deploytrack.css")),
        "stylesheet"
    );
    assert!(html.contains(&format!("{folder}/deploytrack.js")), "script");

    let client = reqwest::Client::new();
    let get = |path: String, encoding: Option<&'static str>| {
        let mut request = client.get(app.url(&path));
        if let Some(encoding) = encoding {
            request = request.header("accept-encoding", encoding);
        }
        request.send()
    };
    // Precompressed when the browser takes brotli, as is otherwise; immutable either way.
    let compressed = get(format!("{folder}/deploytrack.js"), Some("gzip, br"))
        .await
        .unwrap();
    assert_eq!(compressed.status(), 200);
    assert_eq!(header(&compressed, "content-encoding"), "br");
    assert_eq!(
        header(&compressed, "cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert!(header(&compressed, "vary").contains("accept-encoding"));
    assert_eq!(
        compressed.bytes().await.unwrap().as_ref(),
        b"(brotli bytes)"
    );
    let plain = get(format!("{folder}/deploytrack.js"), None).await.unwrap();
    assert_eq!(header(&plain, "content-encoding"), "");
    assert!(plain.text().await.unwrap().starts_with("export default"));

    // Another build's folder, an unknown file, a way out of the folder (escaped, as a client
    // would not normalise it): 404, never cached.
    for path in [
        "/pkg/0123456789abcdef/deploytrack.js".to_string(),
        format!("{folder}/missing.wasm"),
        format!("{folder}/..%2f..%2f..%2fCargo.toml"),
    ] {
        let response = get(path.clone(), None).await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
        assert_ne!(
            header(&response, "cache-control"),
            "public, max-age=31536000, immutable",
            "{path}"
        );
    }

    // New content, new folder: a page never mixes two builds.
    std::fs::write(
        site.path().join("pkg/deploytrack.css"),
        "body { margin: 1px }",
    )
    .unwrap();
    let rebuilt = TestApp::spawn_on(common::TestDb::new(backend).await.unwrap(), |config| {
        config.site_root = site.path().to_str().unwrap().to_string()
    })
    .await;
    let html = TestApp::browser()
        .get(rebuilt.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_ne!(asset_folder(&html), folder);
}

async fn answers_are_compressed_and_never_stored(app: TestApp) {
    app.create(
        "/api/applications",
        serde_json::json!({"name": "Compressible ".repeat(7)}),
    )
    .await;
    // What Chromium sends gets zstd; gzip for clients without it; brotli (too costly per
    // request) and deflate are never produced on the fly.
    for (path, accepted, encoding) in [
        ("/api/applications", "gzip, deflate, br, zstd", "zstd"),
        ("/", "gzip, deflate, br, zstd", "zstd"),
        ("/api/applications", "gzip, deflate, br", "gzip"),
        ("/api/applications", "gzip", "gzip"),
        ("/api/applications", "br", ""),
    ] {
        let response = app
            .client
            .get(app.url(path))
            .header("accept-encoding", accepted)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(
            header(&response, "content-encoding"),
            encoding,
            "{path} {accepted}"
        );
        assert_eq!(header(&response, "cache-control"), "no-store", "{path}");
    }
    // The CSV export streams page by page; compressed, it must still end cleanly (a compressor
    // polls the stream once more after its end).
    for accepted in ["gzip", "zstd"] {
        let export = app
            .client
            .get(app.url("/api/deployments.csv?includeDeleted=true&limit=1"))
            .header("accept-encoding", accepted)
            .send()
            .await
            .unwrap();
        assert_eq!(export.status(), 200);
        assert_eq!(header(&export, "content-encoding"), accepted);
        assert!(!export.bytes().await.unwrap().is_empty());
    }
    // Without Accept-Encoding: as is (scripts and curl read it directly).
    let plain = app.get("/api/applications").await;
    assert_eq!(header(&plain, "content-encoding"), "");
    assert!(plain.json::<serde_json::Value>().await.unwrap().is_array());
    // The live feed is never compressed: a compressor would hold events back.
    let feed = app
        .client
        .get(app.url("/api/events"))
        .header("accept-encoding", "gzip, br")
        .send()
        .await
        .unwrap();
    assert_eq!(feed.status(), 200);
    assert_eq!(header(&feed, "content-encoding"), "");
    // A failed sign-in and the health check are not kept either.
    let refused = app
        .client
        .post(app.url("/api/auth/login"))
        .json(&serde_json::json!({"username": "admin", "password": "wrong"}))
        .send()
        .await
        .unwrap();
    assert_eq!(header(&refused, "cache-control"), "no-store");
}

mod by_backend {
    use super::*;
    for_both_backends!(run_backend;
        pages_name_assets_by_content_and_they_are_kept_a_year,
        the_whole_matrix_streamed_in_chunks_is_the_paged_one,
    );
}

for_both_backends!(run;
    answers_are_compressed_and_never_stored,
    pages_finish_while_another_server_starts_in_the_process,
);

/// Building a server walks the app once to list its routes, and Leptos holds back every
/// resource first polled anywhere in the process meanwhile — for good (a process-wide flag,
/// leptos#4773). Pages rendered while another server starts (tests run servers side by side)
/// must still finish: each of these has 20 s, and one normally takes milliseconds.
async fn pages_finish_while_another_server_starts_in_the_process(app: TestApp) {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let started = Arc::new(AtomicBool::new(false));
    let (base, token) = (app.url(""), app.admin_token.clone());
    let rendering = tokio::spawn({
        let started = started.clone();
        async move {
            let client = reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(20))
                .build()
                .unwrap();
            let mut rendered = 0;
            while !started.load(Ordering::Relaxed) {
                for path in ["/", "/applications", "/deployments"] {
                    let page = client
                        .get(format!("{base}{path}"))
                        .bearer_auth(&token)
                        .send()
                        .await
                        .and_then(|response| response.error_for_status());
                    let body = match page {
                        Ok(page) => page.text().await,
                        Err(err) => Err(err),
                    };
                    let body =
                        body.unwrap_or_else(|err| panic!("{path} after {rendered} pages: {err}"));
                    assert!(body.contains("</html>"), "{path}: the page ends");
                    rendered += 1;
                }
            }
            rendered
        }
    });
    // Built here, not spawned: a server under construction is not `Send`.
    let config = server::Config::for_database(app.db.url.clone());
    for _ in 0..30 {
        let _router = server::build_app(&config).await.expect("build app");
    }
    started.store(true, Ordering::Relaxed);
    assert!(rendering.await.unwrap() > 0);
}

/// The whole matrix is written row by row as it streams, in 64 KB chunks (about 1,000 cells
/// here, several chunks), now and as it was at an instant (from time travel's lists): joined,
/// each is one valid JSON array, equal to the pages put together (a page is written whole, by
/// other code) and with no cell cut or comma lost at a chunk's edge.
async fn the_whole_matrix_streamed_in_chunks_is_the_paged_one(backend: Backend) {
    let Some(db) = common::seeded_db(backend, 100, 10, 3_000, 2).await else {
        return;
    };
    let app = TestApp::spawn_on(db, |_| {}).await;
    let half_a_year_ago = (chrono::Utc::now() - chrono::Duration::days(182))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    for query in [String::new(), format!("at={half_a_year_ago}")] {
        let response = app.get(&format!("/api/deployments/current?{query}")).await;
        assert_eq!(response.status(), 200);
        let body = response.bytes().await.unwrap();
        assert!(
            body.len() > 3 * 64 * 1024,
            "several chunks ({query}): {} bytes",
            body.len()
        );
        let whole: Vec<serde_json::Value> = serde_json::from_slice(&body).unwrap();
        let paged: Vec<serde_json::Value> = app
            .follow_pages(&format!("/api/deployments/current?limit=7&{query}"))
            .await
            .into_iter()
            .flatten()
            .collect();
        assert_eq!(whole.len(), paged.len(), "{query}");
        assert!(
            whole == paged,
            "the streamed matrix differs from the pages ({query})"
        );
    }
}

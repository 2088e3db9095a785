//! The built site's WASM, JS and CSS under a path named for their content: `/pkg/<version>/…`,
//! where the version is a digest of the files themselves, computed at start-up. A new build gets
//! a new path, so browsers keep each one for a year without asking again (`immutable`), and a
//! page never loads half of one build and half of another. Files are sent precompressed when the
//! build left `.br` / `.gz` siblings (`cargo leptos build --release --precompress`).

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::extract::Path as UrlPath;
use axum::http::{header, HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use leptos::prelude::ArcStoredValue;
use leptos::WasmSplitManifest;
use sha2::{Digest, Sha256};
use tower::ServiceExt;
use tower_http::services::ServeDir;

/// Long enough to mean "forever"; the path changes whenever the content does.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

pub struct Assets {
    version: String,
    dir: PathBuf,
    split_manifest: Option<WasmSplitManifest>,
}

/// What cargo-leptos `--split` writes beside the files: the WASM chunks each lazy page needs.
const SPLIT_MANIFEST: &str = "__wasm_split_manifest.json";
/// The split build's loader (its name when files are not renamed for their hash).
const SPLIT_LOADER: &str = "__wasm_split.______________________.js";

impl Assets {
    /// Digests the files in `<site_root>/pkg` (their names and bytes; precompressed copies
    /// follow from the originals). An absent folder (tests without a front-end build) is a
    /// version like any other.
    pub fn load(site_root: &str) -> Assets {
        let dir = Path::new(site_root).join("pkg");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .filter_map(|entry| entry.ok().map(|e| e.path()))
                    .filter(|path| path.is_file() && !is_precompressed(path))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        let mut digest = Sha256::new();
        for path in &files {
            digest.update(path.file_name().unwrap_or_default().as_encoded_bytes());
            digest.update(std::fs::read(path).unwrap_or_default());
        }
        let version = hex::encode(&digest.finalize()[..8]);
        let split_manifest = std::fs::read_to_string(dir.join(SPLIT_MANIFEST))
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .map(|chunks| {
                WasmSplitManifest(ArcStoredValue::new((
                    format!("/pkg/{version}"),
                    chunks,
                    SPLIT_LOADER.to_string(),
                )))
            });
        Assets {
            version,
            dir,
            split_manifest,
        }
    }

    /// The chunks each lazy page needs, for the page to name as preloads (so the browser fetches
    /// them beside the main module instead of after it). Leptos looks for the manifest under
    /// `site_pkg_dir`, which here names the virtual `/pkg/<version>/` folder, so the server reads
    /// it itself; None for a build that was not split.
    pub fn split_manifest(&self) -> Option<WasmSplitManifest> {
        self.split_manifest.clone()
    }

    /// The folder pages name their assets under, relative to the site root.
    pub fn pkg_dir(&self) -> String {
        format!("pkg/{}", self.version)
    }

    /// `GET /pkg/{version}/{*file}`: the file, if `version` is this build's.
    pub async fn serve(
        &self,
        UrlPath((version, file)): UrlPath<(String, String)>,
        request: Request<Body>,
    ) -> Response {
        if version != self.version {
            // A page from another build: its assets are gone; reloading it fetches this build's.
            return (
                StatusCode::NOT_FOUND,
                [(header::CACHE_CONTROL, "no-store")],
                "not an asset of this build; reload the page",
            )
                .into_response();
        }
        let mut inner = Request::builder().uri(format!("/{file}"));
        if let Some(accepted) = request.headers().get(header::ACCEPT_ENCODING) {
            inner = inner.header(header::ACCEPT_ENCODING, accepted);
        }
        let Ok(inner) = inner.body(Body::empty()) else {
            return StatusCode::BAD_REQUEST.into_response();
        };
        let served = ServeDir::new(&self.dir)
            .precompressed_br()
            .precompressed_gzip()
            .oneshot(inner)
            .await;
        let mut response = match served {
            Ok(response) => response.map(Body::new),
            Err(never) => match never {},
        };
        if response.status() == StatusCode::OK {
            let headers = response.headers_mut();
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
            headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        }
        response
    }
}

fn is_precompressed(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("br" | "gz" | "zst")
    )
}

#[cfg(test)]
mod tests {
    use super::Assets;

    #[test]
    fn the_version_follows_the_content() {
        let site = tempfile::tempdir().unwrap();
        let pkg = site.path().join("pkg");
        std::fs::create_dir(&pkg).unwrap();
        std::fs::write(pkg.join("deploytrack.js"), "one").unwrap();
        let root = site.path().to_str().unwrap();
        let first = Assets::load(root).pkg_dir();
        assert_eq!(Assets::load(root).pkg_dir(), first, "stable");
        std::fs::write(pkg.join("deploytrack.js.br"), "compressed").unwrap();
        assert_eq!(
            Assets::load(root).pkg_dir(),
            first,
            "precompressed copies do not count"
        );
        std::fs::write(pkg.join("deploytrack.js"), "two").unwrap();
        assert_ne!(Assets::load(root).pkg_dir(), first, "new content, new path");
        assert!(first.starts_with("pkg/") && first.len() == "pkg/".len() + 16);
    }

    #[test]
    fn a_split_build_names_its_chunks_under_the_versioned_folder() {
        use leptos::prelude::ReadValue;

        let site = tempfile::tempdir().unwrap();
        let pkg = site.path().join("pkg");
        std::fs::create_dir(&pkg).unwrap();
        std::fs::write(pkg.join("deploytrack.js"), "one").unwrap();
        let root = site.path().to_str().unwrap();
        assert!(Assets::load(root).split_manifest().is_none(), "not split");

        std::fs::write(
            pkg.join(super::SPLIT_MANIFEST),
            r#"{"load_dashboard_1": ["chunk_4", "split_load_dashboard_1"]}"#,
        )
        .unwrap();
        let assets = Assets::load(root);
        let manifest = assets.split_manifest().expect("split");
        let (prefix, chunks, loader) = &*manifest.0.read_value();
        assert_eq!(prefix, &format!("/{}", assets.pkg_dir()));
        assert_eq!(
            chunks["load_dashboard_1"],
            ["chunk_4", "split_load_dashboard_1"]
        );
        assert_eq!(loader, super::SPLIT_LOADER);
    }
}

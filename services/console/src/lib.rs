//! The web console (the single-page app in `web/`), its built files
//! compiled into the binary and served at `/` by `adpulse api` and
//! `adpulse up`: one file to ship, nothing fetched from a CDN.
//!
//! - `/assets/…` are content-hashed by the build: served `immutable`,
//!   cacheable for a year;
//! - `index.html` is answered for every other page path (the app routes in
//!   the browser) and is never cached, so a new build is picked up at once;
//! - text is served gzip-compressed when the browser accepts it (compressed
//!   once, at build time), and every file has an ETag;
//! - [`CSP`] is the console's Content-Security-Policy: its own scripts and
//!   styles only, API calls to its own origin only.
//!
//! For working on the console without rebuilding adpulse, the variable
//! `ADPULSE_CONSOLE_DIR` names a built folder (`web/dist`) to serve from
//! disk instead, read at each request (no compression).

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// One built file.
struct File {
    /// From the site's root, e.g. `/assets/index-3f9a.js`.
    path: &'static str,
    mime: &'static str,
    /// Quoted, from the bytes' hash.
    etag: &'static str,
    body: &'static [u8],
    /// A gzip copy, for text worth compressing.
    gzip: Option<&'static [u8]>,
}

/// Every built file (empty when the console was not built).
static FILES: &[File] = include!(concat!(env!("OUT_DIR"), "/console_files.rs"));

/// The console's Content-Security-Policy.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The page served when the binary was built without the console.
const NOT_BUILT: &str = "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\">\
    <title>adpulse console not built</title><h1>The web console is not in this build</h1>\
    <p>Build it with <code>scripts/web</code> (Node 20: <code>npm ci &amp;&amp; npm run build</code> \
    in <code>web/</code>) and rebuild adpulse; <code>scripts/up</code> does both. \
    The API is at <a href=\"/api/v1/docs\">/api/v1/docs</a>.</p></html>";

/// Whether the console's files are in this binary.
pub fn is_built() -> bool {
    find("/index.html").is_some()
}

fn find(path: &str) -> Option<&'static File> {
    FILES.iter().find(|f| f.path == path)
}

/// Whether `path` belongs to the console: every GET path but the API's,
/// the health checks and the metrics.
pub fn owns(method: &Method, path: &str) -> bool {
    (method == Method::GET || method == Method::HEAD)
        && !["/api/", "/health/", "/metrics"]
            .iter()
            .any(|p| path.starts_with(p) || path == p.trim_end_matches('/'))
}

/// The folder `ADPULSE_CONSOLE_DIR` names, if set.
fn dev_dir() -> Option<&'static std::path::Path> {
    static DIR: std::sync::OnceLock<Option<std::path::PathBuf>> = std::sync::OnceLock::new();
    DIR.get_or_init(|| std::env::var_os("ADPULSE_CONSOLE_DIR").map(Into::into))
        .as_deref()
}

/// A file of the folder `dir` (a development build), by site path; `None`
/// for a path that leaves the folder or names nothing.
fn from_dir(dir: &std::path::Path, path: &str) -> Option<(Vec<u8>, &'static str)> {
    let rel = path.trim_start_matches('/');
    if rel.split('/').any(|part| part == ".." || part.is_empty()) {
        return None;
    }
    let bytes = std::fs::read(dir.join(rel)).ok()?;
    let mime = match rel.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "json" | "map" => "application/json",
        "png" => "image/png",
        "webp" => "image/webp",
        _ => "application/octet-stream",
    };
    Some((bytes, mime))
}

/// The answer to a GET of `path` (one [`owns`]).
pub fn serve(path: &str, headers: &HeaderMap) -> Response {
    if let Some(dir) = dev_dir() {
        let found = from_dir(dir, path).or_else(|| {
            let last = path.rsplit('/').next().unwrap_or_default();
            (!last.contains('.'))
                .then(|| from_dir(dir, "/index.html"))
                .flatten()
        });
        return match found {
            Some((bytes, mime)) => (
                [
                    (header::CONTENT_TYPE, mime),
                    (header::CACHE_CONTROL, "no-store"),
                ],
                bytes,
            )
                .into_response(),
            None => StatusCode::NOT_FOUND.into_response(),
        };
    }
    if let Some(f) = find(path).filter(|f| f.path != "/index.html") {
        let cache = if f.path.starts_with("/assets/") {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        return file(f, cache, headers);
    }
    // A missing file (anything with an extension) is 404; every other
    // path is a page of the app.
    let last = path.rsplit('/').next().unwrap_or_default();
    if last.contains('.') {
        return StatusCode::NOT_FOUND.into_response();
    }
    match find("/index.html") {
        Some(index) => file(index, "no-store", headers),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            NOT_BUILT,
        )
            .into_response(),
    }
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|e| {
            let mut parts = e.split(';');
            let name = parts.next().unwrap_or_default().trim();
            let refused = parts.any(|q| q.trim().replace(' ', "") == "q=0");
            name.eq_ignore_ascii_case("gzip") && !refused
        })
}

fn file(f: &'static File, cache: &'static str, headers: &HeaderMap) -> Response {
    let mut r = if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == f.etag.as_bytes())
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        match f.gzip.filter(|_| accepts_gzip(headers)) {
            Some(gz) => {
                let mut r = Body::from(gz).into_response();
                r.headers_mut()
                    .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                r
            }
            None => Body::from(f.body).into_response(),
        }
    };
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(f.mime));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::ETAG, HeaderValue::from_static(f.etag));
    if f.gzip.is_some() {
        h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_console_owns_page_paths_but_not_the_api_health_or_metrics() {
        for p in [
            "/",
            "/campaigns",
            "/campaigns/42/live",
            "/assets/x.js",
            "/favicon.svg",
        ] {
            assert!(owns(&Method::GET, p), "{p}");
        }
        for p in ["/api/v1/campaigns", "/api/", "/health/ready", "/metrics"] {
            assert!(!owns(&Method::GET, p), "{p}");
        }
        assert!(!owns(&Method::POST, "/campaigns"));
    }

    #[test]
    fn gzip_is_chosen_when_accepted_and_not_refused() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(
                header::ACCEPT_ENCODING,
                HeaderValue::from_str(v).expect("v"),
            );
            m
        };
        assert!(accepts_gzip(&h("gzip, deflate, br")));
        assert!(accepts_gzip(&h("br;q=1.0, GZIP;q=0.5")));
        assert!(!accepts_gzip(&h("gzip;q=0, br")));
        assert!(!accepts_gzip(&h("br")));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn a_missing_file_is_404_and_a_page_is_the_app_or_the_not_built_page() {
        let r = serve("/assets/nope-123.js", &HeaderMap::new());
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let r = serve("/campaigns/42", &HeaderMap::new());
        let want = if is_built() {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        assert_eq!(r.status(), want);
        assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
    }

    #[test]
    fn built_assets_are_immutable_with_an_etag_and_304_when_unchanged() {
        for f in FILES.iter().filter(|f| f.path.starts_with("/assets/")) {
            let r = serve(f.path, &HeaderMap::new());
            assert_eq!(r.status(), StatusCode::OK, "{}", f.path);
            assert_eq!(
                r.headers()[header::CACHE_CONTROL],
                "public, max-age=31536000, immutable"
            );
            let mut again = HeaderMap::new();
            again.insert(header::IF_NONE_MATCH, HeaderValue::from_static(f.etag));
            assert_eq!(serve(f.path, &again).status(), StatusCode::NOT_MODIFIED);
        }
    }
}

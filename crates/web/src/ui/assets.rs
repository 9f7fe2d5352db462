//! The stylesheet and scripts, compiled into the binary. Pages link them with a version taken
//! from their content, so browsers may keep them for a year and still see every change.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

const CSS: &str = include_str!("../../assets/app.css");
const LIVE_JS: &str = include_str!("../../assets/live.js");
const UPLOAD_JS: &str = include_str!("../../assets/upload.js");
const SLICE_JS: &str = include_str!("../../assets/slice.js");
const ADMIN_CSS: &str = include_str!("../../assets/admin.css");

/// A short digest of every asset: the `?v=` of their links.
pub(crate) static VERSION: LazyLock<String> = LazyLock::new(|| {
    let mut digest = Sha256::new();
    digest.update(CSS.as_bytes());
    for asset in [LIVE_JS, UPLOAD_JS, SLICE_JS, ADMIN_CSS] {
        digest.update(asset.as_bytes());
    }
    hex::encode(digest.finalize())[..12].to_string()
});

pub(crate) async fn serve(Path(name): Path<String>) -> Response {
    let (body, content_type) = match name.as_str() {
        "app.css" => (CSS, "text/css; charset=utf-8"),
        "live.js" => (LIVE_JS, "text/javascript; charset=utf-8"),
        "upload.js" => (UPLOAD_JS, "text/javascript; charset=utf-8"),
        "slice.js" => (SLICE_JS, "text/javascript; charset=utf-8"),
        "admin.css" => (ADMIN_CSS, "text/css; charset=utf-8"),
        _ => return super::html_not_found(),
    };
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    response
}

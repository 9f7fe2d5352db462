//! Pages, styles and scripts sent gzip-compressed to browsers that accept it: a dashboard of a
//! thousand printers repeats the same markup a thousand times and shrinks tenfold or more.
//!
//! Safe to compress: the forms' CSRF token is masked afresh on every page (see
//! `session::masked_token`), and a response that sets a cookie (the sign-in form's) is sent as
//! is, so no secret repeats across responses for a reflected text to be compared against.
//! Event streams are never buffered.

use std::io::Write;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use flate2::Compression;
use flate2::write::GzEncoder;

/// Below this a page gains nothing worth the work.
const SMALLEST: usize = 1_024;
/// Pages are rendered whole; nothing this large is compressed (it is sent as is).
const LARGEST: usize = 32 * 1024 * 1024;

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or_default().trim();
            let refused = parts.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
            name.eq_ignore_ascii_case("gzip") && !refused
        })
}

/// Whether the response is a page, a stylesheet or a script sent whole.
fn compressible(response: &Response) -> bool {
    let headers = response.headers();
    let kind = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    (kind.starts_with("text/html")
        || kind.starts_with("text/css")
        || kind.starts_with("text/javascript"))
        && !headers.contains_key(header::CONTENT_ENCODING)
        && !headers.contains_key(header::SET_COOKIE)
}

fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(bytes.len() / 4), Compression::fast());
    encoder.write_all(bytes)?;
    encoder.finish()
}

/// Middleware on every page: gzip for those who accept it.
pub(crate) async fn compress(request: Request, next: Next) -> Response {
    let wants = accepts_gzip(request.headers());
    let mut response = next.run(request).await;
    if !compressible(&response) {
        return response;
    }
    response
        .headers_mut()
        .append(header::VARY, HeaderValue::from_static("accept-encoding"));
    if !wants {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, LARGEST).await {
        Ok(bytes) => bytes,
        Err(error) => {
            tracing::error!(%error, "a page could not be read to compress it");
            return axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    if bytes.len() < SMALLEST {
        return Response::from_parts(parts, Body::from(bytes));
    }
    match gzip(&bytes) {
        Ok(compressed) => {
            parts.headers.remove(header::CONTENT_LENGTH);
            parts
                .headers
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            Response::from_parts(parts, Body::from(compressed))
        }
        Err(_) => Response::from_parts(parts, Body::from(bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(accept: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(accept).unwrap(),
        );
        headers
    }

    #[test]
    fn gzip_is_used_only_when_accepted() {
        assert!(accepts_gzip(&headers("gzip, deflate, br")));
        assert!(accepts_gzip(&headers("br;q=1.0, GZIP;q=0.5")));
        assert!(!accepts_gzip(&headers("gzip;q=0")));
        assert!(!accepts_gzip(&headers("br, deflate")));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn compressed_pages_read_back_the_same() {
        let page = "<li class=\"printer\">Printer</li>".repeat(1000);
        let compressed = gzip(page.as_bytes()).unwrap();
        assert!(compressed.len() * 10 < page.len());
        let mut decoder = flate2::read::GzDecoder::new(compressed.as_slice());
        let mut back = String::new();
        std::io::Read::read_to_string(&mut decoder, &mut back).unwrap();
        assert_eq!(back, page);
    }
}

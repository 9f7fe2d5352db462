//! HTTP plumbing shared by the OctoPrint and Moonraker drivers: the base URL, the credential in
//! `X-Api-Key`, a timeout on every request, a cap on what is read, and answers mapped to
//! [`DriverError`]. Error texts never contain a URL (a URL could carry a token).

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::multipart::{Form, Part};
use reqwest::{Method, RequestBuilder, StatusCode, Url};
use serde::de::DeserializeOwned;

use crate::{Connection, DriverError, Secret, UploadFile};

/// Longest answer body read; printers answer small JSON documents.
const MAX_BODY: usize = 8 << 20;

/// Extra time an upload may take per started megabyte.
const UPLOAD_TIME_PER_MB: Duration = Duration::from_secs(1);

/// An HTTP client bound to one printer.
pub(crate) struct Http {
    client: reqwest::Client,
    base: Url,
    timeout: Duration,
}

/// A whole answer: status and (capped) body.
pub(crate) struct Answer {
    pub status: StatusCode,
    pub body: Bytes,
}

impl Http {
    /// Checks the URL and key and builds the client (no I/O). `what` names the peer in errors.
    pub fn new(connection: &Connection, what: &str) -> Result<Self, DriverError> {
        let base = base_url(connection.url.as_deref(), what)?;
        if connection.timeout.is_zero() {
            return Err(DriverError::Config(
                "the timeout must be more than zero".into(),
            ));
        }
        let mut headers = HeaderMap::new();
        if let Some(key) = &connection.secret {
            headers.insert("X-Api-Key", key_header(key)?);
        }
        let client = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(connection.timeout)
            .build()
            .map_err(|e| DriverError::Config(format!("cannot build an HTTP client: {e}")))?;
        Ok(Self {
            client,
            base,
            timeout: connection.timeout,
        })
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The base URL joined with a relative path such as `api/job`.
    pub fn url(&self, path: &str) -> Result<Url, DriverError> {
        self.base
            .join(path)
            .map_err(|e| DriverError::Config(format!("cannot build the URL for {path}: {e}")))
    }

    /// `url(dir)` with one more path segment, percent-encoded (a file name).
    pub fn url_with_segment(&self, dir: &str, segment: &str) -> Result<Url, DriverError> {
        let mut url = self.url(dir)?;
        url.path_segments_mut()
            .map_err(|()| DriverError::Config("the printer URL cannot have a path".into()))?
            .pop_if_empty()
            .push(segment);
        Ok(url)
    }

    /// The websocket URL for a path: `ws://` for `http://`, `wss://` for `https://`.
    pub fn ws_url(&self, path: &str) -> Result<Url, DriverError> {
        let mut url = self.url(path)?;
        let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
        url.set_scheme(scheme)
            .map_err(|()| DriverError::Config("cannot derive a websocket URL".into()))?;
        Ok(url)
    }

    pub fn request(&self, method: Method, url: Url) -> RequestBuilder {
        self.client.request(method, url).timeout(self.timeout)
    }

    pub fn get(&self, path: &str) -> Result<RequestBuilder, DriverError> {
        Ok(self.request(Method::GET, self.url(path)?))
    }

    pub fn post_json(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<RequestBuilder, DriverError> {
        Ok(self.request(Method::POST, self.url(path)?).json(body))
    }

    /// The timeout for an upload of `len` bytes: the call timeout plus a second per megabyte.
    pub fn upload_timeout(&self, len: u64) -> Duration {
        let megabytes = u32::try_from(len.div_ceil(1 << 20)).unwrap_or(u32::MAX);
        self.timeout
            .saturating_add(UPLOAD_TIME_PER_MB.saturating_mul(megabytes))
    }

    /// Posts `file` as the multipart part `file` named `name`, after the form's text fields,
    /// streaming it from disk with its length known (so the request has a Content-Length),
    /// within the upload timeout for its size; the answer must be 2xx.
    pub async fn upload_file(
        &self,
        path: &str,
        fields: &[(&'static str, &'static str)],
        name: &str,
        file: &UploadFile,
    ) -> Result<Answer, DriverError> {
        let part = Part::stream_with_length(file_body(file).await?, file.size())
            .file_name(name.to_owned())
            .mime_str("application/octet-stream")
            .map_err(|e| DriverError::Config(e.to_string()))?;
        let form = fields
            .iter()
            .fold(Form::new(), |form, (key, value)| form.text(*key, *value))
            .part("file", part);
        let timeout = self.upload_timeout(file.size());
        let request = self
            .request(Method::POST, self.url(path)?)
            .multipart(form)
            .timeout(timeout);
        let answer = self.send_within(request, timeout).await?;
        if answer.status.is_success() {
            Ok(answer)
        } else {
            Err(status_error(&answer))
        }
    }

    /// Sends a request and reads the whole answer. Transport failures become `Unreachable` or
    /// `Timeout`; 401 and 403 become `Unauthorized`; other statuses are the caller's to judge.
    pub async fn send(&self, request: RequestBuilder) -> Result<Answer, DriverError> {
        let timeout = request
            .try_clone()
            .and_then(|r| r.build().ok())
            .and_then(|r| r.timeout().copied())
            .unwrap_or(self.timeout);
        self.send_within(request, timeout).await
    }

    /// [`Http::send`] of a request whose timeout is `timeout` (a streaming body cannot be
    /// cloned to read it back).
    async fn send_within(
        &self,
        request: RequestBuilder,
        timeout: Duration,
    ) -> Result<Answer, DriverError> {
        let mut response = request
            .send()
            .await
            .map_err(|e| transport_error(e, timeout))?;
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(DriverError::Unauthorized);
        }
        let mut body = BytesMut::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| transport_error(e, timeout))?
        {
            if body.len().saturating_add(chunk.len()) > MAX_BODY {
                return Err(DriverError::Protocol(format!(
                    "an answer larger than {MAX_BODY} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Answer {
            status,
            body: body.freeze(),
        })
    }

    /// Sends and expects a 2xx answer; any other status becomes an error by [`status_error`].
    pub async fn send_ok(&self, request: RequestBuilder) -> Result<Answer, DriverError> {
        let answer = self.send(request).await?;
        if answer.status.is_success() {
            Ok(answer)
        } else {
            Err(status_error(&answer))
        }
    }
}

/// Bytes read from disk at a time while uploading.
const UPLOAD_CHUNK: usize = 64 * 1024;

/// A request body reading `file` from disk a chunk at a time: exactly `file.size()` bytes (a
/// file that changed size fails the upload rather than sending something else).
async fn file_body(file: &UploadFile) -> Result<reqwest::Body, DriverError> {
    use tokio::io::AsyncReadExt;
    let local = |e: std::io::Error| DriverError::LocalFile(e.kind().to_string());
    let handle = tokio::fs::File::open(file.path()).await.map_err(local)?;
    let on_disk = handle.metadata().await.map_err(local)?.len();
    if on_disk != file.size() {
        return Err(DriverError::LocalFile(format!(
            "{on_disk} bytes on disk, {} expected",
            file.size()
        )));
    }
    let stream =
        tokio_util::io::ReaderStream::with_capacity(handle.take(file.size()), UPLOAD_CHUNK);
    Ok(reqwest::Body::wrap_stream(stream))
}

impl Answer {
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, DriverError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            DriverError::Protocol(format!("an answer that is not the expected JSON: {e}"))
        })
    }

    /// The peer's own words for an error: OctoPrint's `{"error": "…"}`, Moonraker's
    /// `{"error": {"message": "…"}}`, or a short plain-text body.
    pub fn error_message(&self) -> String {
        let from_json = serde_json::from_slice::<serde_json::Value>(&self.body)
            .ok()
            .and_then(|v| error_text(&v));
        from_json.unwrap_or_else(|| {
            let text = String::from_utf8_lossy(&self.body);
            let text = text.trim();
            if text.is_empty() || text.starts_with('<') {
                format!("HTTP {}", self.status.as_u16())
            } else {
                text.chars().take(300).collect()
            }
        })
    }
}

/// The message in `{"error": "…"}` or `{"error": {"message": "…"}}`.
pub(crate) fn error_text(value: &serde_json::Value) -> Option<String> {
    let error = value.get("error")?;
    error
        .as_str()
        .or_else(|| error.get("message").and_then(|m| m.as_str()))
        .map(|s| s.chars().take(300).collect())
}

/// What a non-2xx status means to a driver.
pub(crate) fn status_error(answer: &Answer) -> DriverError {
    let message = answer.error_message();
    match answer.status.as_u16() {
        401 | 403 => DriverError::Unauthorized,
        400 | 404 | 405 | 409 | 412 | 415 | 422 => DriverError::Refused(message),
        502..=504 => {
            DriverError::Unreachable(format!("HTTP {}: {message}", answer.status.as_u16()))
        }
        code => DriverError::Protocol(format!("HTTP {code}: {message}")),
    }
}

fn transport_error(error: reqwest::Error, timeout: Duration) -> DriverError {
    if error.is_timeout() {
        DriverError::Timeout(timeout)
    } else {
        DriverError::Unreachable(describe(&error.without_url()))
    }
}

/// An error and its causes on one line (`a: b: c`), for messages about transport failures.
pub(crate) fn describe(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

fn key_header(key: &Secret) -> Result<HeaderValue, DriverError> {
    let mut value = HeaderValue::from_str(key.expose()).map_err(|_| {
        DriverError::Config("the API key contains characters a header cannot carry".into())
    })?;
    value.set_sensitive(true);
    Ok(value)
}

/// `http(s)://host[:port][/prefix]`, normalised to end in `/` so relative paths join below it.
fn base_url(url: Option<&str>, what: &str) -> Result<Url, DriverError> {
    let text = url
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| DriverError::Config(format!("{what} needs a URL (http://host:port)")))?;
    let mut url = Url::parse(text)
        .map_err(|e| DriverError::Config(format!("{what} URL {text:?} is not valid: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(DriverError::Config(format!(
            "{what} URL must start with http:// or https://"
        )));
    }
    if url.host().is_none() {
        return Err(DriverError::Config(format!("{what} URL has no host")));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(DriverError::Config(format!(
            "{what} URL must not contain credentials; use the API key"
        )));
    }
    url.set_query(None);
    url.set_fragment(None);
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_checked_and_normalised() {
        let url = base_url(Some("http://printer.local:5000"), "OctoPrint").unwrap();
        assert_eq!(
            url.join("api/job").unwrap().as_str(),
            "http://printer.local:5000/api/job"
        );
        let url = base_url(Some("https://farm/octoprint"), "OctoPrint").unwrap();
        assert_eq!(
            url.join("api/job").unwrap().as_str(),
            "https://farm/octoprint/api/job"
        );
        for bad in [
            None,
            Some(""),
            Some("printer:5000"),
            Some("ftp://x"),
            Some("http://u:p@x"),
        ] {
            assert!(
                matches!(base_url(bad, "X"), Err(DriverError::Config(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn error_messages_come_from_either_peer() {
        let answer = |status: u16, body: &'static str| Answer {
            status: StatusCode::from_u16(status).unwrap(),
            body: Bytes::from_static(body.as_bytes()),
        };
        let octo = answer(409, r#"{"error": "Printer is not operational"}"#);
        assert_eq!(
            status_error(&octo),
            DriverError::Refused("Printer is not operational".into())
        );
        let moon = answer(
            400,
            r#"{"error": {"code": 400, "message": "File not found"}}"#,
        );
        assert_eq!(
            status_error(&moon),
            DriverError::Refused("File not found".into())
        );
        assert_eq!(status_error(&answer(403, "")), DriverError::Unauthorized);
        assert!(matches!(
            status_error(&answer(503, "<html>")),
            DriverError::Unreachable(m) if m == "HTTP 503: HTTP 503"
        ));
    }

    #[test]
    fn upload_time_grows_per_megabyte() {
        let connection = Connection {
            kind: crate::DriverKind::Octoprint,
            url: Some("http://127.0.0.1:1".into()),
            secret: None,
            timeout: Duration::from_secs(5),
            profile: gcode::Profile::default(),
            simulation: crate::SimulationSettings::default(),
        };
        let http = Http::new(&connection, "OctoPrint").unwrap();
        assert_eq!(http.upload_timeout(0), Duration::from_secs(5));
        assert_eq!(http.upload_timeout(1), Duration::from_secs(6));
        assert_eq!(http.upload_timeout(3 << 20), Duration::from_secs(8));
    }
}

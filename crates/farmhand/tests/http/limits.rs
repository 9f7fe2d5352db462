//! Limits before bytes: a body announced larger than its limit is refused before any of it is
//! read; one that turns out larger (chunked, no `Content-Length`) is cut off at the limit;
//! uploads stream to a staging file that is gone once the request is over, however it ended.
//!
//! The requests are written by hand over TCP so a test controls exactly which bytes are sent: a
//! server that waited for the rest of a body would never answer, and the test would fail on its
//! deadline (generous; no timing is asserted).

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Digest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{Client, TestServer};

/// Uploads up to 1 MiB, so the tests need not send hundreds of megabytes.
fn small_uploads(config: &mut farmhand::Config) {
    config.max_print_file_mb = 1;
}

const LIMIT: usize = 1 << 20;
/// The JSON limit the server applies (2 MiB).
const JSON_LIMIT: usize = 2 << 20;

crate::on_both_backends!(
    configure = crate::limits::small_uploads;
    an_upload_announced_too_large_is_refused_before_its_body_is_read,
    a_chunked_upload_over_the_limit_is_cut_off_and_leaves_no_file,
    a_cut_short_upload_leaves_no_file,
    an_upload_within_the_limit_streams_through_and_leaves_no_file,
    json_bodies_over_their_limit_are_413_before_they_are_read,
);

/// One request over its own connection, written byte by byte as the test says.
pub(crate) struct Raw {
    stream: TcpStream,
}

impl Raw {
    pub(crate) async fn open(server: &TestServer) -> Raw {
        let addr = server.base.trim_start_matches("http://");
        Raw {
            stream: TcpStream::connect(addr).await.unwrap(),
        }
    }

    /// Sends the request line and headers (and `Connection: close`), no body yet.
    pub(crate) async fn head(&mut self, method: &str, path: &str, headers: &[(&str, String)]) {
        let mut text =
            format!("{method} {path} HTTP/1.1\r\nHost: farmhand.test\r\nConnection: close\r\n");
        for (name, value) in headers {
            text.push_str(&format!("{name}: {value}\r\n"));
        }
        text.push_str("\r\n");
        self.send(text.as_bytes()).await;
    }

    pub(crate) async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    /// One chunk of a chunked body, in one write.
    async fn chunk(&mut self, data: &[u8]) {
        let mut bytes = format!("{:x}\r\n", data.len()).into_bytes();
        bytes.extend_from_slice(data);
        bytes.extend_from_slice(b"\r\n");
        self.send(&bytes).await;
    }

    /// The answer's status and JSON body; fails the test if none comes — which is what a server
    /// that reads (or waits for) the whole body first would do.
    pub(crate) async fn answer(mut self) -> (StatusCode, Value) {
        let mut received = Vec::new();
        let read = async {
            let mut buffer = [0u8; 16 * 1024];
            loop {
                match self.stream.read(&mut buffer).await {
                    Ok(0) => break,
                    Ok(n) => received.extend_from_slice(&buffer[..n]),
                    // A reset after the answer arrived still leaves the answer.
                    Err(_) => break,
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(60), read)
            .await
            .expect("no answer: the server waits for a body it should have refused");
        let text = String::from_utf8_lossy(&received);
        let (head, body) = text
            .split_once("\r\n\r\n")
            .unwrap_or_else(|| panic!("no complete answer: {text:?}"));
        let status: u16 = head
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("no status line: {head:?}"));
        let body = serde_json::from_str(body).unwrap_or(Value::String(body.to_owned()));
        (StatusCode::from_u16(status).unwrap(), body)
    }
}

/// An organization, an owner, an API token for raw requests and an idle simulated printer:
/// the owner's client, the token and the printer's path.
async fn idle_printer(server: &TestServer) -> (Client, String, String) {
    let (org, owner) = server.org_with_owner("Farm", "owner@farm.test").await;
    let (status, token) = owner
        .post(
            &format!("/api/v1/orgs/{org}/api-tokens"),
            json!({ "name": "uploads" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{token}");
    let (_, site) = owner
        .post(
            &format!("/api/v1/orgs/{org}/sites"),
            json!({ "name": "Hall" }),
        )
        .await;
    let (status, printer) = owner
        .post(
            &format!("/api/v1/orgs/{org}/printers"),
            json!({ "name": "Sim", "site_id": site["id"], "settings": { "speed": 60.0 } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{printer}");
    let printer = format!("/api/v1/orgs/{org}/printers/{}", printer["id"]);
    server
        .wait_for(&owner, &printer, "idle", |live| live["state"] == "idle")
        .await;
    let secret = token["secret"].as_str().unwrap().to_owned();
    (owner, secret, printer)
}

pub(crate) fn upload_headers(token: &str) -> Vec<(&'static str, String)> {
    vec![
        ("Authorization", format!("Bearer {token}")),
        ("Content-Type", "application/octet-stream".into()),
    ]
}

/// Valid G-code of at least `bytes` bytes.
fn gcode_of(bytes: usize) -> Vec<u8> {
    let mut text = String::from("G21\nG90\nM83\n");
    let mut i = 0;
    while text.len() < bytes {
        text.push_str(&format!(
            "G1 X{} Y{} E0.01 F3000\n",
            10 + i % 50,
            10 + i % 7
        ));
        i += 1;
    }
    text.into_bytes()
}

async fn no_prints(owner: &Client, printer: &str) {
    let (_, prints) = owner.get(&format!("{printer}/prints")).await;
    assert_eq!(prints, json!([]), "nothing was started");
}

async fn an_upload_announced_too_large_is_refused_before_its_body_is_read(server: &TestServer) {
    let (owner, token, printer) = idle_printer(server).await;
    let mut raw = Raw::open(server).await;
    let mut headers = upload_headers(&token);
    headers.push(("Content-Length", "600000000".into()));
    raw.head(
        "POST",
        &format!("{printer}/prints?file_name=big.gcode"),
        &headers,
    )
    .await;
    // A few bytes of the announced 600 MB, then nothing: the answer must not wait for the rest.
    raw.send(b"G28\nG1 X10\n").await;
    let (status, body) = raw.answer().await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["error"]["code"], "file_too_large", "{body}");
    assert_eq!(body["error"]["limit_bytes"], LIMIT, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&LIMIT.to_string()),
        "{body}"
    );
    assert!(server.staged_files().is_empty(), "nothing was staged");
    no_prints(&owner, &printer).await;
}

async fn a_chunked_upload_over_the_limit_is_cut_off_and_leaves_no_file(server: &TestServer) {
    let (owner, token, printer) = idle_printer(server).await;
    let mut raw = Raw::open(server).await;
    let mut headers = upload_headers(&token);
    headers.push(("Transfer-Encoding", "chunked".into()));
    raw.head(
        "POST",
        &format!("{printer}/prints?file_name=big.gcode"),
        &headers,
    )
    .await;
    // Exactly the limit, then one byte more — and no end of the body: the server must stop
    // at the limit rather than read on.
    let gcode = gcode_of(LIMIT);
    for piece in gcode[..LIMIT].chunks(64 * 1024) {
        raw.chunk(piece).await;
    }
    raw.chunk(b"\n").await;
    let (status, body) = raw.answer().await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["error"]["code"], "file_too_large", "{body}");
    assert_eq!(server.staged_files(), Vec::<std::path::PathBuf>::new());
    no_prints(&owner, &printer).await;
}

async fn a_cut_short_upload_leaves_no_file(server: &TestServer) {
    let (owner, token, printer) = idle_printer(server).await;
    let mut raw = Raw::open(server).await;
    let mut headers = upload_headers(&token);
    headers.push(("Content-Length", "100000".into()));
    raw.head(
        "POST",
        &format!("{printer}/prints?file_name=cut.gcode"),
        &headers,
    )
    .await;
    raw.send(&gcode_of(50_000)[..50_000]).await;
    // The client goes away half-way: the body ends early.
    raw.stream.shutdown().await.unwrap();
    let (status, body) = raw.answer().await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "unreadable_body", "{body}");
    assert_eq!(server.staged_files(), Vec::<std::path::PathBuf>::new());
    no_prints(&owner, &printer).await;
}

async fn an_upload_within_the_limit_streams_through_and_leaves_no_file(server: &TestServer) {
    let (owner, token, printer) = idle_printer(server).await;
    let gcode = gcode_of(LIMIT - 1000);
    let mut raw = Raw::open(server).await;
    let mut headers = upload_headers(&token);
    headers.push(("Transfer-Encoding", "chunked".into()));
    raw.head(
        "POST",
        &format!("{printer}/prints?file_name=part.gcode"),
        &headers,
    )
    .await;
    for piece in gcode.chunks(100_000) {
        raw.chunk(piece).await;
    }
    raw.send(b"0\r\n\r\n").await;
    let (status, print) = raw.answer().await;
    assert_eq!(status, StatusCode::CREATED, "{print}");
    assert_eq!(print["file_size"], gcode.len(), "{print}");
    assert_eq!(
        print["file_sha256"],
        hex::encode(sha2::Sha256::digest(&gcode)),
        "{print}"
    );
    assert!(print["estimated_s"].as_f64().unwrap() > 60.0, "{print}");
    assert_eq!(server.staged_files(), Vec::<std::path::PathBuf>::new());
    let (_, prints) = owner.get(&format!("{printer}/prints")).await;
    assert_eq!(prints.as_array().unwrap().len(), 1, "{prints}");
}

async fn json_bodies_over_their_limit_are_413_before_they_are_read(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Lab", "owner@lab.test").await;
    let (_, token) = owner
        .post(
            &format!("/api/v1/orgs/{org}/api-tokens"),
            json!({ "name": "json" }),
        )
        .await;
    let token = token["secret"].as_str().unwrap().to_owned();
    let json_headers = |extra: (&'static str, String)| {
        vec![
            ("Authorization", format!("Bearer {token}")),
            ("Content-Type", "application/json".into()),
            extra,
        ]
    };
    let too_large = |body: &Value| {
        assert_eq!(body["error"]["code"], "body_too_large", "{body}");
        assert_eq!(body["error"]["limit_bytes"], JSON_LIMIT, "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains(&JSON_LIMIT.to_string()),
            "{body}"
        );
    };

    // Announced as 3 MB: refused on the header, with most of it never sent.
    let mut raw = Raw::open(server).await;
    raw.head(
        "POST",
        &format!("/api/v1/orgs/{org}/sites"),
        &json_headers(("Content-Length", "3000000".into())),
    )
    .await;
    raw.send(b"{\"name\": \"").await;
    let (status, body) = raw.answer().await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    too_large(&body);

    // Chunked: cut off once past the limit, without waiting for the end.
    let mut raw = Raw::open(server).await;
    raw.head(
        "POST",
        &format!("/api/v1/orgs/{org}/sites"),
        &json_headers(("Transfer-Encoding", "chunked".into())),
    )
    .await;
    raw.chunk(b"{\"name\": \"").await;
    for _ in 0..32 {
        raw.chunk(&[b'a'; 64 * 1024]).await;
    }
    raw.chunk(b"a").await;
    let (status, body) = raw.answer().await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    too_large(&body);

    // A body that may be empty is limited the same way (a public route, no sign-in needed).
    let mut raw = Raw::open(server).await;
    raw.head(
        "POST",
        "/api/v1/invitations/no-such-token/accept",
        &[
            ("Content-Type", "application/json".into()),
            ("Content-Length", "3000000".into()),
        ],
    )
    .await;
    raw.send(b"{").await;
    let (status, body) = raw.answer().await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    too_large(&body);

    // Under the limit, a large body is read and judged on its content.
    let name = "a".repeat(JSON_LIMIT / 2);
    let (status, body) = owner
        .post(
            &format!("/api/v1/orgs/{org}/sites"),
            json!({ "name": name }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (_, sites) = owner.get(&format!("/api/v1/orgs/{org}/sites")).await;
    assert!(!sites.to_string().contains("aaaa"), "{sites}");
}

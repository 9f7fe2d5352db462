//! Limits before bytes: a body announced larger than its limit is refused before any of it is
//! read; one that turns out larger (chunked, no `Content-Length`) is cut off at the limit.
//!
//! The requests are written by hand over TCP so a test controls exactly which bytes are sent: a
//! server that waited for the rest of a body would never answer, and the test would fail on its
//! deadline (generous; no timing is asserted).

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::TestServer;

/// The JSON limit the server applies (2 MiB).
const JSON_LIMIT: usize = 2 << 20;

crate::on_both_backends!(json_bodies_over_their_limit_are_413_before_they_are_read,);

/// One request over its own connection, written byte by byte as the test says.
struct Raw {
    stream: TcpStream,
}

impl Raw {
    async fn open(server: &TestServer) -> Raw {
        let addr = server.base.trim_start_matches("http://");
        Raw {
            stream: TcpStream::connect(addr).await.unwrap(),
        }
    }

    /// Sends the request line and headers (and `Connection: close`), no body yet.
    async fn head(&mut self, method: &str, path: &str, headers: &[(&str, String)]) {
        let mut text =
            format!("{method} {path} HTTP/1.1\r\nHost: farmhand.test\r\nConnection: close\r\n");
        for (name, value) in headers {
            text.push_str(&format!("{name}: {value}\r\n"));
        }
        text.push_str("\r\n");
        self.send(text.as_bytes()).await;
    }

    async fn send(&mut self, bytes: &[u8]) {
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
    async fn answer(mut self) -> (StatusCode, Value) {
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

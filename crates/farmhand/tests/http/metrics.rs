//! `/metrics`: off unless configured, behind the configured token, and in Prometheus's text
//! format with the fleet, the queue and the dispatcher.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::TestServer;

const TOKEN: &str = "scrape-token-for-tests";

fn with_token(config: &mut farmhand::Config) {
    config.metrics_token = TOKEN.into();
}

crate::on_both_backends!(
    configure = super::with_token;
    metrics_need_the_token_and_show_the_fleet_and_the_queue,
);

mod off {
    crate::on_both_backends!(metrics_are_off_unless_configured);

    async fn metrics_are_off_unless_configured(server: &crate::common::TestServer) {
        let response = server.client().raw_get("/metrics").await;
        assert_eq!(response.status(), reqwest::StatusCode::NOT_FOUND);
    }
}

async fn metrics_need_the_token_and_show_the_fleet_and_the_queue(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Farm", "owner@farm.test").await;
    let (_, site) = owner
        .post(
            &format!("/api/v1/orgs/{org}/sites"),
            json!({ "name": "Lab" }),
        )
        .await;
    let (_, printer) = owner
        .post(
            &format!("/api/v1/orgs/{org}/printers"),
            json!({ "name": "Sim", "site_id": site["id"], "settings": { "speed": 1.0 } }),
        )
        .await;
    let printer_path = format!("/api/v1/orgs/{org}/printers/{}", printer["id"]);
    server
        .wait_for(&owner, &printer_path, "idle", |l| l["state"] == "idle")
        .await;
    // A job that waits: the printer is in maintenance.
    let (status, _) = owner
        .put(
            &format!("{printer_path}/maintenance"),
            json!({ "on": true }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let response = owner
        .raw_post(
            &format!("/api/v1/orgs/{org}/files?name=part.gcode"),
            b"G28\nG1 X10 Y10 Z0.2 E1 F1200\n".to_vec(),
        )
        .await;
    let file: Value = response.json().await.unwrap();
    let (status, _) = owner
        .post(
            &format!("/api/v1/orgs/{org}/jobs"),
            json!({ "file_id": file["id"], "target": { "any": true } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    let http = reqwest::Client::new();
    let url = format!("{}/metrics", server.base);
    let refused = http.get(&url).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let wrong = http.get(&url).bearer_auth("guess").send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let response = http.get(&url).bearer_auth(TOKEN).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            content_type.starts_with("text/plain; version=0.0.4"),
            "{content_type}"
        );
        let text = response.text().await.unwrap();
        let printers = format!(
            "farmhand_printers{{org_id=\"{org}\",site_id=\"{}\",state=\"maintenance\"}} 1",
            site["id"]
        );
        let queued = format!("farmhand_jobs{{org_id=\"{org}\",state=\"queued\"}} 1");
        if text.contains(&printers) && text.contains(&queued) {
            assert!(text.contains("# TYPE farmhand_dispatch_latency_seconds histogram"));
            assert!(text.contains("farmhand_dispatch_latency_seconds_count"));
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "missing {printers} or {queued} in:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

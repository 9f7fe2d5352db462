use domain::audit::Chain;
use reqwest::StatusCode;
use serde_json::json;

use crate::common::TestServer;

crate::on_both_backends!(
    every_change_is_audited_with_who_where_and_what,
    audit_listing_filters_and_paginates,
    csv_export_streams_everything_and_is_itself_audited,
    audit_chains_verify_after_real_use,
    a_request_handed_on_by_an_instance_is_audited_with_the_clients_address,
);

async fn every_change_is_audited_with_who_where_and_what(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Lab", "owner@lab.test").await;
    let response = owner
        .http
        .post(format!("{}/api/v1/orgs/{org}/sites", server.base))
        .header("user-agent", "lab-script/1.0")
        .header("x-request-id", "req-123")
        .json(&json!({ "name": "North" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["x-request-id"], "req-123");

    let (_, page) = owner
        .get(&format!("/api/v1/orgs/{org}/audit-events?limit=1"))
        .await;
    let event = &page["events"][0];
    assert_eq!(event["action"], "site.create");
    assert_eq!(event["actor_kind"], "user");
    assert_eq!(event["actor_label"], "owner@lab.test");
    assert_eq!(event["target_type"], "site");
    assert_eq!(event["after"]["name"], "North");
    assert_eq!(event["client_ip"], "127.0.0.1");
    assert_eq!(event["user_agent"], "lab-script/1.0");
    assert_eq!(event["request_id"], "req-123");
    assert_eq!(event["hash"].as_str().unwrap().len(), 64);

    // A token's actions name the token.
    let (_, token) = owner
        .post(
            &format!("/api/v1/orgs/{org}/api-tokens"),
            json!({ "name": "bot" }),
        )
        .await;
    let robot = server.token_client(token["secret"].as_str().unwrap());
    robot
        .post(
            &format!("/api/v1/orgs/{org}/sites"),
            json!({ "name": "South" }),
        )
        .await;
    let (_, page) = owner
        .get(&format!("/api/v1/orgs/{org}/audit-events?limit=1"))
        .await;
    assert_eq!(page["events"][0]["actor_kind"], "token");
    assert_eq!(page["events"][0]["actor_token_id"], token["token"]["id"]);

    // Sign-ins are in the instance chain.
    let mut conn = server.app().store().read().await.unwrap();
    let page = store::list_audit(
        &mut conn,
        Chain::Instance,
        &store::AuditFilter {
            action: Some("auth.sign_in".into()),
            ..Default::default()
        },
        None,
        10,
    )
    .await
    .unwrap();
    assert!(!page.events.is_empty());
}

async fn audit_listing_filters_and_paginates(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Lab", "owner@lab.test").await;
    let (ada, _) = server.member(&owner, org, "Admin", "ada@lab.test").await;
    for i in 0..12 {
        owner
            .post(
                &format!("/api/v1/orgs/{org}/sites"),
                json!({ "name": format!("Owner site {i}") }),
            )
            .await;
        ada.post(
            &format!("/api/v1/orgs/{org}/sites"),
            json!({ "name": format!("Ada site {i}") }),
        )
        .await;
    }
    let (_, me) = ada.get("/api/v1/me").await;
    let ada_user = me["user"]["id"].as_i64().unwrap();

    let mut cursor: Option<i64> = None;
    let mut seen = Vec::new();
    loop {
        let mut path = format!(
            "/api/v1/orgs/{org}/audit-events?action=site.create&actor_user_id={ada_user}&limit=5"
        );
        if let Some(c) = cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let (status, page) = owner.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        for event in page["events"].as_array().unwrap() {
            assert_eq!(event["actor_user_id"], ada_user);
            seen.push(event["after"]["name"].as_str().unwrap().to_string());
        }
        match page["next_cursor"].as_i64() {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), 12);
    assert_eq!(seen[0], "Ada site 11", "newest first");

    let (status, body) = owner
        .get(&format!("/api/v1/orgs/{org}/audit-events?limit=0"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "limit");
    let (status, body) = owner
        .get(&format!("/api/v1/orgs/{org}/audit-events?from=yesterday"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "invalid_query");
    let (status, body) = owner
        .get(&format!("/api/v1/orgs/{org}/audit-events?colour=blue"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("colour")
    );
    let future = server.app().now().plus_seconds(60).to_rfc3339();
    let (_, page) = owner
        .get(&format!("/api/v1/orgs/{org}/audit-events?from={future}"))
        .await;
    assert_eq!(page["events"], json!([]));
}

async fn csv_export_streams_everything_and_is_itself_audited(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Lab", "owner@lab.test").await;
    // More events than one export batch.
    let mut tx = server.app().store().write().await.unwrap();
    for n in 0..4500 {
        let event = domain::audit::NewAuditEvent {
            chain: Chain::Org(domain::OrgId(org)),
            occurred_at: server.app().now(),
            actor_kind: domain::audit::ActorKind::System,
            actor_user_id: None,
            actor_token_id: None,
            actor_label: if n == 7 {
                "=HYPERLINK(\"evil\")".into()
            } else {
                "console".into()
            },
            action: "test.event".into(),
            target_type: "thing".into(),
            target_id: Some(n.to_string()),
            before: None,
            after: Some(json!({ "note": "comma, \"quote\"\nnewline" })),
            client_ip: None,
            user_agent: None,
            request_id: None,
        };
        store::append_audit(&mut tx, event).await.unwrap();
    }
    tx.commit().await.unwrap();

    let response = owner
        .send(
            reqwest::Method::GET,
            &format!("/api/v1/orgs/{org}/audit-events/export.csv"),
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let body = response.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        app::AUDIT_CSV_HEADER
    );
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let test_events: Vec<_> = records.iter().filter(|r| &r[7] == "test.event").collect();
    assert_eq!(test_events.len(), 4500);
    assert_eq!(
        &test_events[0][11], r#"{"note":"comma, \"quote\"\nnewline"}"#,
        "CSV quoting round-trips"
    );
    assert_eq!(
        &test_events[7][6], "'=HYPERLINK(\"evil\")",
        "formulas are neutralized"
    );
    let ids: Vec<i64> = records.iter().map(|r| r[0].parse().unwrap()).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "oldest first, no repeats"
    );

    // Filters apply to the export; the export itself is audited.
    let (_, filtered) = owner
        .get(&format!(
            "/api/v1/orgs/{org}/audit-events/export.csv?action=site.create"
        ))
        .await;
    assert_eq!(
        filtered.as_str().unwrap().lines().count(),
        1,
        "header only: no sites created"
    );
    let (_, page) = owner
        .get(&format!(
            "/api/v1/orgs/{org}/audit-events?action=audit.export"
        ))
        .await;
    assert_eq!(page["events"].as_array().unwrap().len(), 2);
    assert_eq!(page["events"][0]["after"]["action"], "site.create");

    let (viewer, _) = server
        .member(&owner, org, "Manager", "manager@lab.test")
        .await;
    let (status, body) = viewer
        .get(&format!("/api/v1/orgs/{org}/audit-events/export.csv"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["permission"], "audit.export");
}

async fn audit_chains_verify_after_real_use(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Lab", "owner@lab.test").await;
    let (_, _) = server.member(&owner, org, "Operator", "op@lab.test").await;
    owner
        .post(
            &format!("/api/v1/orgs/{org}/sites"),
            json!({ "name": "North" }),
        )
        .await;
    let reports = store::verify_audit(server.app().store(), None)
        .await
        .unwrap();
    assert_eq!(reports.len(), 2, "instance chain and the organization's");
    for report in reports {
        assert!(report.result.as_ref().is_ok_and(|n| *n > 0), "{report:?}");
    }
}

/// A request another instance handed on carries the client's address sealed with the
/// instances' shared key: the audit log names the client. A header that is not sealed with the
/// key, or sealed too long ago, is ignored (the connection's address counts).
async fn a_request_handed_on_by_an_instance_is_audited_with_the_clients_address(
    server: &TestServer,
) {
    let (org, owner) = server.org_with_owner("Lab", "owner@lab.test").await;
    let now = server.app().now().micros() / 1_000_000;
    let vault = server.app().vault();
    let cases = [
        (
            vault.seal_between_instances(&format!("{now} 203.0.113.9")),
            "203.0.113.9",
        ),
        (format!("{now} 198.51.100.1"), "127.0.0.1"),
        (
            vault.seal(domain::OrgId(org), &format!("{now} 198.51.100.2")),
            "127.0.0.1",
        ),
        (
            vault.seal_between_instances(&format!("{} 198.51.100.3", now - 3600)),
            "127.0.0.1",
        ),
    ];
    for (i, (header, expected)) in cases.iter().enumerate() {
        let (status, site) = owner
            .post_with_header(
                &format!("/api/v1/orgs/{org}/sites"),
                json!({ "name": format!("Site {i}") }),
                ("x-farmhand-client", header),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{site}");
        let (_, page) = owner
            .get(&format!("/api/v1/orgs/{org}/audit-events?limit=1"))
            .await;
        let event = &page["events"][0];
        assert_eq!(event["action"], "site.create");
        assert_eq!(event["client_ip"], *expected, "case {i}: {event}");
    }
}

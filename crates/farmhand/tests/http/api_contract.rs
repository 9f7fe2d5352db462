use std::collections::BTreeSet;

use authz::Permission;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::TestServer;

crate::on_both_backends!(
    malformed_requests_get_precise_errors,
    health_and_readiness_answer,
    server_errors_carry_only_a_request_id,
    cross_origin_changes_with_a_session_are_refused,
);

#[test]
fn every_operation_declares_its_access_and_every_permission_is_enforced_somewhere() {
    let doc = serde_json::to_value(web::openapi()).unwrap();
    let declarations = web::declarations();
    let mut declared = BTreeSet::new();
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            operations += 1;
            let declaration = declarations
                .iter()
                .find(|d| d.method.as_str().eq_ignore_ascii_case(method) && d.path == *path)
                .unwrap_or_else(|| panic!("{method} {path} has no declaration"));
            assert_eq!(
                operation["x-permission"],
                declaration.requires.key(),
                "{method} {path}: the document says what the declaration says"
            );
            assert!(
                operation["summary"].is_string() || operation["description"].is_string(),
                "{method} {path} is undocumented"
            );
        }
    }
    assert!(
        operations >= 30,
        "expected the whole API, found {operations}"
    );
    for declaration in &declarations {
        if let web::Requires::Permission(p) = declaration.requires {
            declared.insert(p.key());
            assert!(
                declaration.path.contains("{org_id}"),
                "{declaration:?}: permission routes are organization routes"
            );
        }
        declared.extend(declaration.also.iter().map(|p| p.key()));
    }
    // The web interface's pages are declared the same way (tests/http/ui.rs requests each).
    for plain in [
        "/healthz",
        "/readyz",
        "/api/v1/openapi.json",
        "/",
        "/sign-in",
        "/assets/{name}",
    ] {
        assert!(
            declarations
                .iter()
                .any(|d| d.path == plain && d.requires == web::Requires::Public),
            "{plain} is declared public"
        );
    }
    // Permissions of features not built yet say so in the catalog; every other one is enforced.
    let built: BTreeSet<_> = Permission::ALL
        .iter()
        .filter(|p| p.planned().is_none())
        .map(|p| p.key())
        .collect();
    let unused: Vec<_> = built.difference(&declared).collect();
    assert!(
        unused.is_empty(),
        "catalog permissions no route enforces: {unused:?}"
    );
    let planned_but_enforced: Vec<_> = Permission::ALL
        .iter()
        .filter(|p| p.planned().is_some() && declared.contains(p.key()))
        .map(|p| p.key())
        .collect();
    assert!(
        planned_but_enforced.is_empty(),
        "enforced now, drop `planned` from: {planned_but_enforced:?}"
    );
}

#[test]
fn body_limits_are_in_the_contract() {
    let doc = serde_json::to_value(web::openapi()).unwrap();
    let paths = &doc["paths"];
    let mut json_operations = 0;
    for (path, item) in paths.as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if operation["requestBody"]["content"]["application/json"].is_object() {
                json_operations += 1;
                assert!(
                    operation["responses"]["413"].is_object(),
                    "{method} {path} reads JSON but does not list 413"
                );
            }
        }
    }
    assert!(json_operations > 20, "{json_operations}");
    let upload = &paths["/api/v1/orgs/{org_id}/printers/{printer_id}/prints"]["post"];
    for status in ["201", "413", "422"] {
        assert!(
            upload["responses"][status].is_object(),
            "{status}: {upload}"
        );
    }
    let fault = &paths["/api/v1/orgs/{org_id}/printers/{printer_id}/simulation/faults"]["post"];
    assert!(fault["responses"]["422"].is_object(), "{fault}");
}

#[tokio::test]
async fn the_served_document_carries_the_declarations() {
    let server = TestServer::start(store::Backend::Sqlite).await;
    let (status, doc) = server.client().get("/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        doc["paths"]["/api/v1/orgs/{org_id}/sites"]["post"]["x-permission"],
        "sites.manage"
    );
    assert_eq!(
        doc["paths"]["/api/v1/auth/sign-in"]["post"]["x-permission"],
        "public"
    );
    server.stop().await;
}

async fn malformed_requests_get_precise_errors(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Lab", "owner@lab.test").await;
    let url = |path: &str| format!("{}{path}", server.base);
    let raw = |body: &'static str| {
        owner
            .http
            .post(url(&format!("/api/v1/orgs/{org}/sites")))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let read = |response: reqwest::Response| async move {
        let status = response.status();
        (status, response.json::<Value>().await.unwrap())
    };

    let (status, body) = read(raw("{\"name\": ").await.unwrap()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("malformed_json"))
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("line 1"),
        "{body}"
    );
    let (status, body) = read(raw("{\"name\": 42}").await.unwrap()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_body"))
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("invalid type"),
        "{body}"
    );
    let (status, body) = read(raw("{\"name\": \"A\", \"colour\": \"red\"}").await.unwrap()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown field `colour`"),
        "{body}"
    );
    let (status, body) = read(raw("{}").await.unwrap()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("missing field `name`"),
        "{body}"
    );
    let response = owner
        .http
        .post(url(&format!("/api/v1/orgs/{org}/sites")))
        .body("name=A")
        .send()
        .await
        .unwrap();
    let (status, body) = read(response).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Some("unsupported_media_type")
        )
    );

    for (path, message) in [
        (
            "/api/v1/orgs/abc/sites".to_string(),
            "organization id must be a positive integer",
        ),
        (
            "/api/v1/orgs/-1/sites".to_string(),
            "organization id must be a positive integer",
        ),
        (
            format!("/api/v1/orgs/{org}/sites/1.5"),
            "site id must be a positive integer",
        ),
        (
            format!("/api/v1/orgs/{org}/members/0"),
            "member id must be a positive integer",
        ),
    ] {
        let (status, body) = owner.get(&path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(body["error"]["code"], "invalid_id");
        assert!(
            body["error"]["message"].as_str().unwrap().contains(message),
            "{path}: {body}"
        );
    }
    let (status, body) = owner
        .patch(
            &format!("/api/v1/orgs/{org}/members/1"),
            json!({ "rank_id": "boss" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("rank id must be a positive integer"),
        "{body}"
    );

    // A JSON body is an object, and integral numbers are integers (as the document's JSON
    // Schema counts them).
    let (status, body) = read(raw("[\"A\", \"\"]").await.unwrap()).await;
    assert_eq!(
        (status, body["error"]["message"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("the body must be a JSON object")
        )
    );
    let (status, body) = owner
        .post(
            &format!("/api/v1/orgs/{org}/ranks"),
            json!({ "name": "Float position", "position": 500.0 }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["position"], 500);
    // An optional body, when there is one, says it is JSON too.
    let (_, workgroup) = owner
        .post(
            &format!("/api/v1/orgs/{org}/workgroups"),
            json!({ "name": "Optional bodies" }),
        )
        .await;
    // Someone junior to put in it (nobody changes their own workgroup membership).
    let (_, member) = server
        .member(&owner, org, "Member", "joiner@lab.test")
        .await;
    let put_member = |body: &'static str, content_type: &'static str| {
        owner
            .http
            .put(url(&format!(
                "/api/v1/orgs/{org}/workgroups/{}/members/{member}",
                workgroup["id"]
            )))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let (status, body) = read(
        put_member("{\"moderator\": true}", "text/plain")
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Some("unsupported_media_type")
        )
    );
    let (status, body) = read(put_member("", "text/plain").await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (status, body) = owner.get("/api/v1/printers/teleport").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("route_not_found"))
    );
    let (status, body) = owner
        .request(reqwest::Method::PUT, "/api/v1/auth/sign-in", None)
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed"))
    );
    // Every error carries the request id, also found in the response header.
    let response = owner
        .send(reqwest::Method::GET, "/api/v1/orgs/abc", None)
        .await;
    let header = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    let (_, body) = read(response).await;
    assert_eq!(body["error"]["request_id"], header);
    // Nothing was half-written by any of it.
    let (_, sites) = owner.get(&format!("/api/v1/orgs/{org}/sites")).await;
    assert_eq!(sites, json!([]));
}

async fn health_and_readiness_answer(server: &TestServer) {
    let client = server.client();
    assert_eq!(
        client
            .send(reqwest::Method::GET, "/healthz", None)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        client
            .send(reqwest::Method::GET, "/readyz", None)
            .await
            .status(),
        StatusCode::OK
    );
}

async fn server_errors_carry_only_a_request_id(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Lab", "owner@lab.test").await;
    // Break the database under the running server.
    sqlx::query("DROP TABLE workgroup_members")
        .execute(server.app().store().pool())
        .await
        .unwrap();
    let response = owner
        .send(
            reqwest::Method::GET,
            &format!("/api/v1/orgs/{org}/workgroups"),
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "internal");
    assert_eq!(body["error"]["request_id"], request_id);
    let text = body.to_string();
    assert!(
        !text.contains("workgroup_members") && !text.to_lowercase().contains("sql"),
        "{text}"
    );
}

async fn cross_origin_changes_with_a_session_are_refused(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Lab", "owner@lab.test").await;
    let post = |origin: &str| {
        owner
            .http
            .post(format!("{}/api/v1/orgs/{org}/sites", server.base))
            .header("origin", origin.to_string())
            .json(&json!({ "name": format!("From {origin}") }))
            .send()
    };
    let response = post("https://evil.example").await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"]["code"],
        "cross_origin_request"
    );
    let same = server.base.clone();
    assert_eq!(post(&same).await.unwrap().status(), StatusCode::CREATED);
    let (_, sites) = owner.get(&format!("/api/v1/orgs/{org}/sites")).await;
    assert_eq!(sites.as_array().unwrap().len(), 1);
}

//! The file library over HTTP: upload with analysis and thumbnails, refusals with their codes,
//! the size limit before bytes, the G-code restriction, and projects shared with members.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::TestServer;

const CUBE: &[u8] = include_bytes!("../../../app/fixtures/demo/calibration_cube.gcode");

/// Library uploads up to 1 MiB, so that the limit is cheap to pass.
fn small_limit(config: &mut farmhand::Config) {
    config.files.max_file_mb = 1;
}

crate::on_both_backends!(
    configure = super::small_limit;
    an_uploaded_file_carries_its_analysis_and_serves_its_thumbnail,
    what_is_not_gcode_is_refused_with_what_was_found,
    an_announced_oversized_upload_is_refused_before_it_is_read,
    the_gcode_restriction_answers_403_naming_the_permission,
    projects_share_files_with_members,
);

async fn upload(
    client: &crate::common::Client,
    org: i64,
    query: &str,
    bytes: &[u8],
) -> (StatusCode, Value) {
    let response = client
        .raw_post(&format!("/api/v1/orgs/{org}/files?{query}"), bytes.to_vec())
        .await;
    let status = response.status();
    (status, response.json().await.unwrap())
}

async fn an_uploaded_file_carries_its_analysis_and_serves_its_thumbnail(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Lab", "owner@lab.test").await;
    let (status, file) = upload(&owner, org, "name=cube.gcode", CUBE).await;
    assert_eq!(status, StatusCode::CREATED, "{file}");
    for key in ["id", "name", "sha256", "size", "kind", "analysis"] {
        assert!(file.get(key).is_some(), "{key}: {file}");
    }
    assert_eq!(file["kind"], "gcode");
    assert_eq!(file["size"], CUBE.len());
    let analysis = &file["analysis"];
    assert!(
        analysis["estimated_time_s"].as_f64().unwrap() > 0.0,
        "{analysis}"
    );
    assert!(analysis["filament_weight_g"].as_f64().unwrap() > 0.0);
    assert_eq!(analysis["bounds"]["min"].as_array().unwrap().len(), 3);
    assert_eq!(analysis["metadata"]["filament_type"], json!(["PLA"]));
    let url = analysis["thumbnails"][0]["url"]
        .as_str()
        .unwrap()
        .to_string();
    let id = file["id"].as_i64().unwrap();
    assert_eq!(url, format!("/api/v1/orgs/{org}/files/{id}/thumbnails/0"));

    let image = owner.raw_get(&url).await;
    assert_eq!(image.status(), StatusCode::OK);
    assert_eq!(image.headers()["content-type"], "image/png");
    assert!(image.bytes().await.unwrap().starts_with(b"\x89PNG"));
    let (status, missing) = owner
        .get(&format!("/api/v1/orgs/{org}/files/{id}/thumbnails/5"))
        .await;
    assert_eq!(
        (status, missing["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );

    let (status, same) = owner.get(&format!("/api/v1/orgs/{org}/files/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(same, file);
    let content = owner
        .raw_get(&format!("/api/v1/orgs/{org}/files/{id}/content"))
        .await;
    assert_eq!(content.status(), StatusCode::OK);
    assert_eq!(content.bytes().await.unwrap().as_ref(), CUBE);
    let (_, page) = owner.get(&format!("/api/v1/orgs/{org}/files")).await;
    assert_eq!(page["files"].as_array().unwrap().len(), 1);
    let (status, _) = owner
        .delete(&format!("/api/v1/orgs/{org}/files/{id}"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = owner.get(&format!("/api/v1/orgs/{org}/files/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(server.staged_files().is_empty());
}

async fn what_is_not_gcode_is_refused_with_what_was_found(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Lab", "owner@lab.test").await;
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (Vec::new(), "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR".to_vec(), "png"),
        (vec![0, 159, 146, 150, 0, 1, 2], "binary"),
        (b"a shopping list\n".to_vec(), "text"),
    ];
    for (bytes, found) in cases {
        let (status, body) = upload(&owner, org, "name=part.gcode", &bytes).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{found}: {body}");
        assert_eq!(body["error"]["code"], "unsupported_file_type", "{body}");
        assert_eq!(body["error"]["found"], found, "{body}");
        assert_eq!(
            body["error"]["accepted"],
            json!(["gcode", "stl", "3mf", "obj"])
        );
    }
    // Models are taken (tests/http/slicing.rs), but not broken ones.
    let (status, body) = upload(
        &owner,
        org,
        "name=part.gcode",
        b"PK\x03\x04\x14\x00rest of a 3mf",
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "invalid_model", "{body}");
    let (_, page) = owner.get(&format!("/api/v1/orgs/{org}/files")).await;
    assert_eq!(page["files"], json!([]));
    assert!(server.staged_files().is_empty());
}

async fn an_announced_oversized_upload_is_refused_before_it_is_read(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Lab", "owner@lab.test").await;
    let (status, token) = owner
        .post(
            &format!("/api/v1/orgs/{org}/api-tokens"),
            json!({ "name": "uploads" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{token}");
    let mut raw = crate::limits::Raw::open(server).await;
    let mut headers = crate::limits::upload_headers(token["secret"].as_str().unwrap());
    // Past the 1 MiB limit this server is configured with; only a few bytes follow.
    headers.push(("Content-Length", "600000000".into()));
    raw.head(
        "POST",
        &format!("/api/v1/orgs/{org}/files?name=big.gcode"),
        &headers,
    )
    .await;
    raw.send(b"G28\nG1 X10\n").await;
    let (status, body) = raw.answer().await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["error"]["code"], "file_too_large");
    assert_eq!(body["error"]["limit_bytes"], 1 << 20);
    assert!(server.staged_files().is_empty(), "nothing was staged");
    let (_, page) = owner.get(&format!("/api/v1/orgs/{org}/files")).await;
    assert_eq!(page["files"], json!([]));
}

async fn the_gcode_restriction_answers_403_naming_the_permission(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Lab", "owner@lab.test").await;
    let (member, _) = server
        .member(&owner, org, "Member", "member@lab.test")
        .await;
    let (status, _) = upload(&member, org, "name=a.gcode", CUBE).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, updated) = owner
        .patch(
            &format!("/api/v1/orgs/{org}"),
            json!({ "gcode_upload_restricted": true }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["gcode_upload_restricted"], true);
    let (status, body) = upload(&member, org, "name=b.gcode", CUBE).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "permission_denied");
    assert_eq!(body["error"]["permission"], "files.upload_gcode");
    // Members cannot turn it off themselves.
    let (status, _) = member
        .patch(
            &format!("/api/v1/orgs/{org}"),
            json!({ "gcode_upload_restricted": false }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn projects_share_files_with_members(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Lab", "owner@lab.test").await;
    let (alice, _) = server.member(&owner, org, "Member", "alice@lab.test").await;
    let (bob, bob_id) = server.member(&owner, org, "Member", "bob@lab.test").await;
    let (_, file) = upload(&alice, org, "name=cube.gcode", CUBE).await;
    let file_id = file["id"].as_i64().unwrap();
    let (status, project) = alice
        .post(
            &format!("/api/v1/orgs/{org}/projects"),
            json!({ "name": "Brackets" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{project}");
    let project_id = project["id"].as_i64().unwrap();
    let (status, moved) = alice
        .post(
            &format!("/api/v1/orgs/{org}/files/{file_id}/move"),
            json!({ "project_id": project_id }),
        )
        .await;
    assert_eq!(
        (status, moved["project_id"].as_i64()),
        (StatusCode::OK, Some(project_id))
    );
    let (status, _) = bob
        .get(&format!("/api/v1/orgs/{org}/files/{file_id}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, shared) = alice
        .put(
            &format!("/api/v1/orgs/{org}/projects/{project_id}/shares"),
            json!({ "member_id": bob_id, "level": "view" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{shared}");
    assert_eq!(
        shared["shares"],
        json!([{ "subject": { "member": bob_id }, "level": "view" }])
    );
    let (status, _) = bob
        .get(&format!("/api/v1/orgs/{org}/files/{file_id}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = bob
        .delete(&format!("/api/v1/orgs/{org}/files/{file_id}"))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("project_read_only"))
    );
    let (status, copy) = bob
        .post(
            &format!("/api/v1/orgs/{org}/files/{file_id}/copy"),
            json!({ "project_id": null }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{copy}");
    assert_eq!(copy["sha256"], file["sha256"]);
    let (status, body) = alice
        .delete(&format!("/api/v1/orgs/{org}/projects/{project_id}"))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("project_not_empty"))
    );
    let (status, _) = alice
        .delete(&format!(
            "/api/v1/orgs/{org}/projects/{project_id}/shares/members/{bob_id}"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = bob
        .get(&format!("/api/v1/orgs/{org}/projects/{project_id}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

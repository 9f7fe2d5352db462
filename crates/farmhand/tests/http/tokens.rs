use reqwest::StatusCode;
use serde_json::json;

use crate::common::TestServer;

crate::on_both_backends!(
    tokens_are_shown_once_stored_hashed_and_show_last_use,
    tokens_never_exceed_their_owners_current_rights,
    revoked_and_expired_tokens_stop_working,
    tokens_stay_in_their_organization,
);

async fn tokens_are_shown_once_stored_hashed_and_show_last_use(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Lab", "owner@lab.test").await;
    let (status, created) = owner
        .post(
            &format!("/api/v1/orgs/{org}/api-tokens"),
            json!({ "name": "ci" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let secret = created["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("fh_") && secret.len() > 40);
    assert!(created["token"]["last_used_at"].is_null());

    let (_, list) = owner.get(&format!("/api/v1/orgs/{org}/api-tokens")).await;
    assert!(
        !list.to_string().contains(&secret),
        "the secret is never listed"
    );
    // Only a hash is stored.
    let rows: Vec<(String,)> = sqlx::query_as::<_, (String,)>("SELECT token_hash FROM api_tokens")
        .fetch_all(server.app().store().pool())
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_ne!(rows[0].0, secret);
    assert!(!rows[0].0.contains(&secret[3..]));

    let robot = server.token_client(&secret);
    let (status, me) = robot.get("/api/v1/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["authenticated_by"], "token");
    let (_, list) = owner.get(&format!("/api/v1/orgs/{org}/api-tokens")).await;
    assert!(list[0]["last_used_at"].is_string(), "{list}");
    // Tokens cannot do what needs a session.
    let (status, body) = robot
        .post(
            "/api/v1/me/password",
            json!({ "current_password": "x", "new_password": "yyyyyyyyyyyy" }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], "session_required");
}

async fn tokens_never_exceed_their_owners_current_rights(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Lab", "owner@lab.test").await;
    let (manager, manager_id) = server
        .member(&owner, org, "Manager", "manager@lab.test")
        .await;

    // Asking for more than you hold is refused; unknown permissions are named.
    let (status, body) = manager
        .post(
            &format!("/api/v1/orgs/{org}/api-tokens"),
            json!({ "name": "x", "permissions": ["sites.manage"] }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = manager
        .post(
            &format!("/api/v1/orgs/{org}/api-tokens"),
            json!({ "name": "x", "permissions": ["sites.fly"] }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("sites.fly")
    );

    // A scoped token has only its scope.
    let (_, scoped) = manager
        .post(
            &format!("/api/v1/orgs/{org}/api-tokens"),
            json!({ "name": "viewer", "permissions": ["sites.view"] }),
        )
        .await;
    let scoped = server.token_client(scoped["secret"].as_str().unwrap());
    assert_eq!(
        scoped.get(&format!("/api/v1/orgs/{org}/sites")).await.0,
        StatusCode::OK
    );
    let (status, body) = scoped.get(&format!("/api/v1/orgs/{org}/members")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["permission"], "members.view");

    // An unscoped token follows its owner's rank: demoting the owner narrows it at once.
    let (_, full) = manager
        .post(
            &format!("/api/v1/orgs/{org}/api-tokens"),
            json!({ "name": "full" }),
        )
        .await;
    let full = server.token_client(full["secret"].as_str().unwrap());
    assert_eq!(
        full.get(&format!("/api/v1/orgs/{org}/members")).await.0,
        StatusCode::OK
    );
    let guest = server.rank_id(&owner, org, "Guest").await;
    let (status, _) = owner
        .patch(
            &format!("/api/v1/orgs/{org}/members/{manager_id}"),
            json!({ "rank_id": guest }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        full.get(&format!("/api/v1/orgs/{org}/members")).await.0,
        StatusCode::FORBIDDEN
    );
    // A token cannot mint a broader token either: tokens are minted in a signed-in session.
    let (status, body) = full
        .post(
            &format!("/api/v1/orgs/{org}/api-tokens"),
            json!({ "name": "sneaky", "permissions": ["members.view"] }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "session_required");
    // In a session, the demoted member cannot give a token what their rank no longer has.
    let (status, body) = manager
        .post(
            &format!("/api/v1/orgs/{org}/api-tokens"),
            json!({ "name": "sneaky", "permissions": ["members.view"] }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "insufficient_seniority");
}

async fn revoked_and_expired_tokens_stop_working(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Lab", "owner@lab.test").await;
    let (_, a) = owner
        .post(
            &format!("/api/v1/orgs/{org}/api-tokens"),
            json!({ "name": "a" }),
        )
        .await;
    let expires = server.app().now().plus_seconds(3600).to_rfc3339();
    let (_, b) = owner
        .post(
            &format!("/api/v1/orgs/{org}/api-tokens"),
            json!({ "name": "b", "expires_at": expires }),
        )
        .await;
    let (status, body) = owner
        .post(
            &format!("/api/v1/orgs/{org}/api-tokens"),
            json!({ "name": "c", "expires_at": "2001-01-01T00:00:00Z" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "expires_at");
    let token_a = server.token_client(a["secret"].as_str().unwrap());
    let token_b = server.token_client(b["secret"].as_str().unwrap());
    assert_eq!(token_a.get("/api/v1/me").await.0, StatusCode::OK);

    let (status, revoked) = owner
        .delete(&format!(
            "/api/v1/orgs/{org}/api-tokens/{}",
            a["token"]["id"]
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(revoked["revoked_at"].is_string());
    let (status, body) = token_a.get("/api/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "invalid_token");

    assert_eq!(token_b.get("/api/v1/me").await.0, StatusCode::OK);
    server.clock.advance_seconds(3601);
    assert_eq!(token_b.get("/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
}

async fn tokens_stay_in_their_organization(server: &TestServer) {
    let (lab, lab_owner) = server.org_with_owner("Lab", "owner@lab.test").await;
    let (farm, farm_owner) = server.org_with_owner("Farm", "owner@farm.test").await;
    // The same person belongs to both organizations.
    let owner_rank = server.rank_id(&farm_owner, farm, "Admin").await;
    let (status, invited) = farm_owner
        .post(
            &format!("/api/v1/orgs/{farm}/members"),
            json!({ "email": "owner@lab.test", "rank_id": owner_rank }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let invitation = invited["invitation"]["id"].as_i64().unwrap();
    let (status, _) = lab_owner
        .post_empty(&format!("/api/v1/me/invitations/{invitation}/accept"))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        lab_owner.get(&format!("/api/v1/orgs/{farm}/sites")).await.0,
        StatusCode::OK
    );

    let (_, token) = lab_owner
        .post(
            &format!("/api/v1/orgs/{lab}/api-tokens"),
            json!({ "name": "lab only" }),
        )
        .await;
    let robot = server.token_client(token["secret"].as_str().unwrap());
    assert_eq!(
        robot.get(&format!("/api/v1/orgs/{lab}/sites")).await.0,
        StatusCode::OK
    );
    assert_eq!(
        robot.get(&format!("/api/v1/orgs/{farm}/sites")).await.0,
        StatusCode::NOT_FOUND
    );
    let (_, me) = robot.get("/api/v1/me").await;
    assert_eq!(me["memberships"].as_array().unwrap().len(), 1);
}

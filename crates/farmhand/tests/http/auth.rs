use reqwest::StatusCode;
use reqwest::header::{RETRY_AFTER, SET_COOKIE};
use serde_json::json;

use crate::common::{PASSWORD, TestServer};

crate::on_both_backends!(
    sign_in_sets_a_safe_cookie_and_sign_out_ends_the_session,
    wrong_user_and_wrong_password_get_the_same_answer,
    repeated_failures_are_throttled_with_retry_after,
    password_change_needs_the_current_password_and_signs_out_other_sessions,
    one_time_passwords_force_a_change,
);

async fn sign_in_sets_a_safe_cookie_and_sign_out_ends_the_session(server: &TestServer) {
    let (_, owner) = server.org_with_owner("Lab", "owner@lab.test").await;
    let response = owner
        .send(
            reqwest::Method::POST,
            "/api/v1/auth/sign-in",
            Some(json!({ "email": "OWNER@lab.test ", "password": PASSWORD })),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response
        .headers()
        .get(SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.starts_with("farmhand_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "not configured for TLS: {cookie}"
    );

    let (status, me) = owner.get("/api/v1/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["user"]["email"], "owner@lab.test");
    assert_eq!(me["memberships"][0]["rank_name"], "Owner");

    let (status, _) = owner.post_empty("/api/v1/auth/sign-out").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = owner.get("/api/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "unauthenticated");
}

async fn wrong_user_and_wrong_password_get_the_same_answer(server: &TestServer) {
    server.org_with_owner("Lab", "owner@lab.test").await;
    let client = server.client();
    let (s1, wrong_password) = client
        .post(
            "/api/v1/auth/sign-in",
            json!({ "email": "owner@lab.test", "password": "nope nope nope" }),
        )
        .await;
    let (s2, wrong_user) = client
        .post(
            "/api/v1/auth/sign-in",
            json!({ "email": "nobody@lab.test", "password": "nope nope nope" }),
        )
        .await;
    assert_eq!(s1, StatusCode::UNAUTHORIZED);
    assert_eq!(s1, s2);
    assert_eq!(wrong_password["error"]["code"], wrong_user["error"]["code"]);
    assert_eq!(
        wrong_password["error"]["message"],
        wrong_user["error"]["message"]
    );
    // Both failures are in the instance's audit chain.
    let mut conn = server.app().store().read().await.unwrap();
    let page = store::list_audit(
        &mut conn,
        domain::audit::Chain::Instance,
        &store::AuditFilter {
            action: Some("auth.sign_in_failed".into()),
            ..Default::default()
        },
        None,
        10,
    )
    .await
    .unwrap();
    let labels: Vec<_> = page.events.iter().map(|e| e.actor_label.as_str()).collect();
    assert_eq!(labels, ["nobody@lab.test", "owner@lab.test"]);
}

async fn repeated_failures_are_throttled_with_retry_after(server: &TestServer) {
    server.org_with_owner("Lab", "owner@lab.test").await;
    let client = server.client();
    for _ in 0..5 {
        let (status, _) = client
            .post(
                "/api/v1/auth/sign-in",
                json!({ "email": "owner@lab.test", "password": "wrong wrong" }),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // Even the right password is refused while the account is throttled.
    let response = client
        .send(
            reqwest::Method::POST,
            "/api/v1/auth/sign-in",
            Some(json!({ "email": "owner@lab.test", "password": PASSWORD })),
        )
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = response
        .headers()
        .get(RETRY_AFTER)
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 15 * 60, "{retry}");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_attempts");

    // Once the window has passed, the right password works again.
    server.clock.advance_seconds(15 * 60 + 1);
    client.sign_in("owner@lab.test", PASSWORD).await;
}

async fn password_change_needs_the_current_password_and_signs_out_other_sessions(
    server: &TestServer,
) {
    let (_, owner) = server.org_with_owner("Lab", "owner@lab.test").await;
    let laptop = server.client();
    laptop.sign_in("owner@lab.test", PASSWORD).await;

    let (status, body) = owner
        .post(
            "/api/v1/me/password",
            json!({ "current_password": "not it at all", "new_password": "a brand new secret" }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], "wrong_current_password");
    let (status, body) = owner
        .post(
            "/api/v1/me/password",
            json!({ "current_password": PASSWORD, "new_password": "short" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "new_password");

    let (status, _) = owner
        .post(
            "/api/v1/me/password",
            json!({ "current_password": PASSWORD, "new_password": "a brand new secret" }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        owner.get("/api/v1/me").await.0,
        StatusCode::OK,
        "this session stays"
    );
    assert_eq!(
        laptop.get("/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED,
        "other sessions end"
    );
    server
        .client()
        .sign_in("owner@lab.test", "a brand new secret")
        .await;
}

async fn one_time_passwords_force_a_change(server: &TestServer) {
    let (org, _) = server.org_with_owner("Lab", "owner@lab.test").await;
    let password = server
        .app()
        .console()
        .reset_password("owner@lab.test")
        .await
        .unwrap();
    let client = server.client();
    client.sign_in("owner@lab.test", &password).await;
    let (status, body) = client.get(&format!("/api/v1/orgs/{org}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], "password_change_required");
    let (status, _) = client
        .post(
            "/api/v1/me/password",
            json!({ "current_password": password, "new_password": "my own choice now" }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        client.get(&format!("/api/v1/orgs/{org}")).await.0,
        StatusCode::OK
    );
}

//! Regressions for the holes an outside probe found (issue 10), each shown through the API on
//! both databases: delegated credentials, seniority and scope through workgroups, bounded rank
//! positions and invitation lifetimes, consent to membership, invitations that outlive their
//! sender's rights, failed sign-ins in the organization's audit log, cross-site requests, names
//! that hide text, and rights listings that named printers the caller cannot see.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Client, PASSWORD, TestServer};

crate::on_both_backends!(
    a_token_neither_mints_tokens_nor_hands_out_more_than_it_carries,
    workgroup_membership_follows_seniority,
    pulling_someone_into_a_moderated_workgroup_is_outside_that_scope,
    rank_positions_are_bounded_and_never_wrap,
    invitation_lifetimes_are_bounded_without_overflow,
    adding_by_email_invites_and_deactivation_stays_in_its_organization,
    invitations_do_not_outlive_their_senders_rights,
    failed_and_throttled_sign_ins_reach_the_members_organizations,
    requests_naming_another_origin_are_refused,
    names_that_hide_text_are_refused,
    rights_listings_name_only_printers_the_caller_can_see,
);

async fn created(client: &Client, path: &str, body: Value) -> Value {
    let (status, body) = client.post(path, body).await;
    assert_eq!(status, StatusCode::CREATED, "{path}: {body}");
    body
}

fn id(body: &Value) -> i64 {
    body["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no id in {body}"))
}

async fn token(owner: &Client, org: i64, permissions: Value) -> String {
    let body = created(
        owner,
        &format!("/api/v1/orgs/{org}/api-tokens"),
        json!({ "name": "script", "permissions": permissions }),
    )
    .await;
    body["secret"].as_str().unwrap().to_string()
}

async fn a_token_neither_mints_tokens_nor_hands_out_more_than_it_carries(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Lab", "owner@lab.test").await;
    let tokens = format!("/api/v1/orgs/{org}/api-tokens");

    // A token limited to creating tokens cannot mint one (least of all an unlimited one).
    let limited = server.token_client(&token(&owner, org, json!(["api_tokens.create.own"])).await);
    let (status, body) = limited.post(&tokens, json!({ "name": "child" })).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "session_required");
    let (status, body) = limited
        .post(
            &tokens,
            json!({ "name": "child", "permissions": ["api_tokens.create.own"] }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (_, list) = owner.get(&tokens).await;
    assert_eq!(list.as_array().unwrap().len(), 1, "no child token: {list}");

    // A token that may invite cannot invite at a rank carrying what the token does not.
    let mut scope = server.rank(&owner, org, "Viewer").await["permissions"]
        .as_array()
        .unwrap()
        .clone();
    scope.push(json!("members.invite"));
    let inviter = server.token_client(&token(&owner, org, json!(scope)).await);
    let invitations = format!("/api/v1/orgs/{org}/invitations");
    let member_rank = server.rank_id(&owner, org, "Member").await;
    let viewer_rank = server.rank_id(&owner, org, "Viewer").await;
    let (status, body) = inviter
        .post(
            &invitations,
            json!({ "email": "x@lab.test", "rank_id": member_rank }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "cannot_grant");
    let (status, body) = inviter
        .post(
            &invitations,
            json!({ "email": "x@lab.test", "rank_id": viewer_rank }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "within its scope: {body}");

    // A token that may manage ranks cannot write permissions it does not carry into one.
    let ranker =
        server.token_client(&token(&owner, org, json!(["ranks.manage", "ranks.view"])).await);
    let (status, body) = ranker
        .post(
            &format!("/api/v1/orgs/{org}/ranks"),
            json!({ "name": "Backdoor", "permissions": ["members.manage"] }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "cannot_grant");
}

async fn workgroup_membership_follows_seniority(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Lab", "owner@lab.test").await;
    let ranks = format!("/api/v1/orgs/{org}/ranks");
    created(
        &owner,
        &ranks,
        json!({ "name": "Senior", "position": 35, "permissions": ["printers.view"] }),
    )
    .await;
    let (moderator, moderator_id) = server.member(&owner, org, "Member", "mod@lab.test").await;
    let (_, senior_id) = server
        .member(&owner, org, "Senior", "senior@lab.test")
        .await;
    let (_, guest_id) = server.member(&owner, org, "Guest", "guest@lab.test").await;
    let (manager, _) = server
        .member(&owner, org, "Manager", "manager@lab.test")
        .await;
    let (_, admin_id) = server.member(&owner, org, "Admin", "admin@lab.test").await;
    let group = id(&created(
        &owner,
        &format!("/api/v1/orgs/{org}/workgroups"),
        json!({ "name": "Robotics" }),
    )
    .await);
    let member = |m: i64| format!("/api/v1/orgs/{org}/workgroups/{group}/members/{m}");
    let (status, _) = owner
        .put(&member(moderator_id), json!({ "moderator": true }))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = owner.put(&member(senior_id), json!({})).await;
    assert_eq!(status, StatusCode::OK);

    // The Member-rank moderator cannot take out (or add) someone of a more senior rank...
    let (status, body) = moderator.delete(&member(senior_id)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "insufficient_seniority");
    let (_, detail) = owner
        .get(&format!("/api/v1/orgs/{org}/workgroups/{group}"))
        .await;
    assert!(
        detail["members"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["member_id"] == senior_id),
        "the senior member is still in: {detail}"
    );
    // ...but adds and removes junior ones.
    let (status, body) = moderator.put(&member(guest_id), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = moderator.delete(&member(guest_id)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // A Manager manages workgroups, but not the Owner's or the Admin's place in them.
    let owner_id = {
        let (_, members) = owner.get(&format!("/api/v1/orgs/{org}/members")).await;
        members
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["email"] == "owner@lab.test")
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let (status, body) = manager.put(&member(owner_id), json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = manager
        .put(&member(admin_id), json!({ "moderator": true }))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "insufficient_seniority");
    let (status, body) = manager
        .put(&member(guest_id), json!({ "moderator": true }))
        .await;
    assert_eq!(status, StatusCode::OK, "juniors are fine: {body}");
}

async fn pulling_someone_into_a_moderated_workgroup_is_outside_that_scope(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Lab", "owner@lab.test").await;
    created(
        &owner,
        &format!("/api/v1/orgs/{org}/ranks"),
        json!({ "name": "Teacher", "position": 45, "member_scope": "moderated_workgroups",
            "permissions": ["members.view", "members.manage", "workgroups.view", "workgroups.manage"] }),
    )
    .await;
    let (teacher, teacher_id) = server
        .member(&owner, org, "Teacher", "teacher@lab.test")
        .await;
    let (_, student_id) = server
        .member(&owner, org, "Member", "student@lab.test")
        .await;
    let (_, guest_id) = server.member(&owner, org, "Guest", "guest@lab.test").await;
    let group = id(&created(
        &owner,
        &format!("/api/v1/orgs/{org}/workgroups"),
        json!({ "name": "Class 4B" }),
    )
    .await);
    let member = |m: i64| format!("/api/v1/orgs/{org}/workgroups/{group}/members/{m}");
    owner
        .put(&member(teacher_id), json!({ "moderator": true }))
        .await;
    owner.put(&member(student_id), json!({})).await;
    let deactivate = |m: i64| format!("/api/v1/orgs/{org}/members/{m}/deactivate");

    let (status, _) = teacher.post_empty(&deactivate(guest_id)).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "the guest is outside the teacher's workgroups"
    );
    let (status, body) = teacher.put(&member(guest_id), json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("the workgroups you moderate"),
        "{body}"
    );
    let (status, _) = teacher.post_empty(&deactivate(guest_id)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, guest) = owner
        .get(&format!("/api/v1/orgs/{org}/members/{guest_id}"))
        .await;
    assert_eq!(guest["active"], true);
    // Members already in the teacher's workgroup are the teacher's to manage.
    let (status, body) = teacher.post_empty(&deactivate(student_id)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn rank_positions_are_bounded_and_never_wrap(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Lab", "owner@lab.test").await;
    let (admin, _) = server.member(&owner, org, "Admin", "admin@lab.test").await;
    let ranks = format!("/api/v1/orgs/{org}/ranks");
    for position in [2_147_483_647_i64, 0, -5, 1_000_001] {
        let (status, body) = admin
            .post(&ranks, json!({ "name": "Far", "position": position }))
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{position}: {body}"
        );
        assert_eq!(body["error"]["field"], "position");
    }
    created(
        &admin,
        &ranks,
        json!({ "name": "Last", "position": 1_000_000 }),
    )
    .await;
    let count = |ranks: &Value| ranks.as_array().unwrap().len();
    let (_, before) = admin.get(&ranks).await;

    // No room left below the most junior rank: refused with a way out, nothing written.
    let (status, body) = admin
        .post(
            &format!("/api/v1/orgs/{org}/rank-presets"),
            json!({ "preset": "simplyprint_templates" }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "no_room_for_ranks");
    let (status, body) = admin.post(&ranks, json!({ "name": "Next" })).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "no_room_for_ranks");
    let (_, after) = admin.get(&ranks).await;
    assert_eq!(count(&before), count(&after));
    assert!(
        after
            .as_array()
            .unwrap()
            .iter()
            .all(|r| (1..=1_000_000).contains(&r["position"].as_i64().unwrap())),
        "{after}"
    );

    // Reordering closes the gaps; then the preset lands below, junior to the admin.
    let admin_position = after
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "Admin")
        .unwrap()["position"]
        .as_i64()
        .unwrap();
    let juniors: Vec<i64> = after
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["position"].as_i64().unwrap() > admin_position)
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    let (status, body) = admin
        .put(
            &format!("/api/v1/orgs/{org}/rank-order"),
            json!({ "rank_ids": juniors }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let imported = created(
        &admin,
        &format!("/api/v1/orgs/{org}/rank-presets"),
        json!({ "preset": "simplyprint_templates" }),
    )
    .await;
    for rank in imported.as_array().unwrap() {
        let position = rank["position"].as_i64().unwrap();
        assert!(position > admin_position && position <= 1_000_000, "{rank}");
        let (status, body) = admin
            .patch(
                &format!("{ranks}/{}", rank["id"]),
                json!({ "description": "mine" }),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::OK,
            "the admin can edit what it imported: {body}"
        );
    }
}

async fn invitation_lifetimes_are_bounded_without_overflow(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Lab", "owner@lab.test").await;
    let rank = server.rank_id(&owner, org, "Member").await;
    let path = format!("/api/v1/orgs/{org}/invitations");
    for hours in [i64::MAX, i64::MIN, 2_562_047_788_015_215, -1, 0, 721] {
        let (status, body) = owner
            .post(
                &path,
                json!({ "email": "x@lab.test", "rank_id": rank, "expires_in_hours": hours }),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{hours}: {body}");
        assert_eq!(body["error"]["field"], "expires_in_hours");
        assert_eq!(
            body["error"]["message"],
            "expires_in_hours: must be between 1 and 720"
        );
    }
    let body = created(
        &owner,
        &path,
        json!({ "email": "x@lab.test", "rank_id": rank, "expires_in_hours": 720 }),
    )
    .await;
    assert_eq!(body["invitation"]["expires_at"], "2026-12-22T09:00:00Z");
}

async fn adding_by_email_invites_and_deactivation_stays_in_its_organization(server: &TestServer) {
    let (lab, lab_owner) = server.org_with_owner("Lab", "owner@lab.test").await;
    let (farm, farm_owner) = server.org_with_owner("Farm", "owner@farm.test").await;
    let (ada, _) = server
        .member(&farm_owner, farm, "Member", "ada@x.test")
        .await;
    let guest = server.rank_id(&lab_owner, lab, "Guest").await;
    let add = |email: &'static str| {
        let lab_owner = lab_owner.clone();
        async move {
            lab_owner
                .post(
                    &format!("/api/v1/orgs/{lab}/members"),
                    json!({ "email": email, "rank_id": guest }),
                )
                .await
        }
    };

    // The same answer whether or not an account exists, and no membership without consent.
    let (existing_status, existing) = add("ada@x.test").await;
    let (unknown_status, unknown) = add("nobody@x.test").await;
    assert_eq!(existing_status, StatusCode::CREATED, "{existing}");
    assert_eq!(unknown_status, existing_status);
    let keys = |v: &Value| -> Vec<String> {
        let mut keys: Vec<String> = v["invitation"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        keys.sort();
        keys
    };
    assert_eq!(keys(&existing), keys(&unknown));
    assert_eq!(existing["invitation"]["status"], "pending");
    assert!(existing["token"].is_string());
    let orgs = |me: &Value| -> Vec<String> {
        me["memberships"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["org_name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(orgs(&ada.get("/api/v1/me").await.1), ["Farm"]);

    // Ada finds the invitation in her own list and accepts it.
    let (status, pending) = ada.get("/api/v1/me/invitations").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(pending.as_array().unwrap().len(), 1, "{pending}");
    assert_eq!(pending[0]["org_name"], "Lab");
    assert_eq!(pending[0]["rank_name"], "Guest");
    let invitation = pending[0]["id"].as_i64().unwrap();
    // Nobody else can accept it from their list.
    let (status, _) = farm_owner
        .post_empty(&format!("/api/v1/me/invitations/{invitation}/accept"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, member) = ada
        .post_empty(&format!("/api/v1/me/invitations/{invitation}/accept"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{member}");
    let ada_in_lab = id(&member);
    assert_eq!(orgs(&ada.get("/api/v1/me").await.1), ["Farm", "Lab"]);

    // A second invitation she declines stays declined.
    let (_, again) = lab_owner
        .post(
            &format!("/api/v1/orgs/{lab}/invitations"),
            json!({ "email": "ada@x.test", "rank_id": guest }),
        )
        .await;
    let again = again["invitation"]["id"].as_i64().unwrap();
    let (status, _) = ada
        .post_empty(&format!("/api/v1/me/invitations/{again}/decline"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, list) = lab_owner
        .get(&format!("/api/v1/orgs/{lab}/invitations"))
        .await;
    let declined = list
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == again)
        .unwrap();
    assert_eq!(declined["status"], "declined");
    let (status, body) = ada
        .post_empty(&format!("/api/v1/me/invitations/{again}/accept"))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "invitation_declined");

    // The Lab deactivating Ada ends her access to the Lab only: her session and the Farm stay.
    let (status, _) = lab_owner
        .post_empty(&format!(
            "/api/v1/orgs/{lab}/members/{ada_in_lab}/deactivate"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ada.get("/api/v1/me").await.0, StatusCode::OK);
    assert_eq!(
        ada.get(&format!("/api/v1/orgs/{farm}")).await.0,
        StatusCode::OK
    );
    assert_eq!(
        ada.get(&format!("/api/v1/orgs/{lab}")).await.0,
        StatusCode::NOT_FOUND
    );
    let (status, _) = ada
        .post(
            &format!("/api/v1/orgs/{farm}/api-tokens"),
            json!({ "name": "still works" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
}

async fn invitations_do_not_outlive_their_senders_rights(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Lab", "owner@lab.test").await;
    let (manager, manager_id) = server
        .member(&owner, org, "Manager", "manager@lab.test")
        .await;
    let operator = server.rank_id(&owner, org, "Operator").await;
    let viewer = server.rank_id(&owner, org, "Viewer").await;
    let invite = |email: &'static str| {
        let manager = manager.clone();
        async move {
            let body = created(
                &manager,
                &format!("/api/v1/orgs/{org}/invitations"),
                json!({ "email": email, "rank_id": operator }),
            )
            .await;
            body["token"].as_str().unwrap().to_string()
        }
    };
    let first = invite("first@lab.test").await;
    let second = invite("second@lab.test").await;
    let accept = |token: String| async move {
        server
            .client()
            .post(
                &format!("/api/v1/invitations/{token}/accept"),
                json!({ "name": "New", "password": PASSWORD }),
            )
            .await
    };

    // Demoted to Viewer, the manager can no longer give Operator: the invitation is withdrawn.
    let (status, _) = owner
        .patch(
            &format!("/api/v1/orgs/{org}/members/{manager_id}"),
            json!({ "rank_id": viewer }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = accept(first).await;
    assert_eq!(status, StatusCode::GONE, "{body}");
    assert_eq!(body["error"]["code"], "invitation_revoked");
    let (_, list) = owner.get(&format!("/api/v1/orgs/{org}/invitations")).await;
    let status_of = |email: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|i| i["email"] == email)
            .unwrap()["status"]
            .clone()
    };
    assert_eq!(status_of("first@lab.test"), "revoked");
    let (_, members) = owner.get(&format!("/api/v1/orgs/{org}/members")).await;
    assert!(
        members
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["email"] != "first@lab.test"),
        "{members}"
    );

    // Deactivating the sender withdraws what they sent at once.
    let (status, body) = owner
        .post_empty(&format!(
            "/api/v1/orgs/{org}/members/{manager_id}/deactivate"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["active"], false);
    let (_, list) = owner.get(&format!("/api/v1/orgs/{org}/invitations")).await;
    let second_status = list
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["email"] == "second@lab.test")
        .unwrap()["status"]
        .clone();
    assert_eq!(second_status, "revoked");
    let (status, body) = accept(second).await;
    assert_eq!(status, StatusCode::GONE, "{body}");
}

async fn org_events(client: &Client, org: i64, action: &str) -> Vec<Value> {
    let (status, page) = client
        .get(&format!("/api/v1/orgs/{org}/audit-events?action={action}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["events"].as_array().unwrap().clone()
}

async fn failed_and_throttled_sign_ins_reach_the_members_organizations(server: &TestServer) {
    let (lab, lab_owner) = server.org_with_owner("Lab", "owner@lab.test").await;
    let (farm, farm_owner) = server.org_with_owner("Farm", "owner@farm.test").await;
    let (_, ada_in_lab) = server.member(&lab_owner, lab, "Member", "ada@x.test").await;
    let (_, bob_in_farm) = server
        .member(&farm_owner, farm, "Member", "bob@x.test")
        .await;
    let attempt = |email: &'static str| async move {
        server
            .client()
            .post(
                "/api/v1/auth/sign-in",
                json!({ "email": email, "password": "not the password" }),
            )
            .await
            .0
    };
    assert_eq!(attempt("ada@x.test").await, StatusCode::UNAUTHORIZED);
    assert_eq!(attempt("bob@x.test").await, StatusCode::UNAUTHORIZED);

    // Each organization sees the attempts on its own members' accounts, and only those.
    let failed = org_events(&lab_owner, lab, "auth.sign_in_failed").await;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["actor_label"], "ada@x.test");
    assert_eq!(failed[0]["target_type"], "member");
    assert_eq!(failed[0]["target_id"], ada_in_lab.to_string());
    assert_eq!(failed[0]["after"]["reason"], "wrong email or password");
    assert!(!failed[0].to_string().contains("Farm"));
    let failed = org_events(&farm_owner, farm, "auth.sign_in_failed").await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["target_id"], bob_in_farm.to_string());

    // Throttling is recorded once, however many attempts it refuses.
    for _ in 0..4 {
        attempt("ada@x.test").await;
    }
    for _ in 0..30 {
        assert_eq!(attempt("ada@x.test").await, StatusCode::TOO_MANY_REQUESTS);
    }
    let throttled = org_events(&lab_owner, lab, "auth.sign_in_throttled").await;
    assert_eq!(throttled.len(), 1, "{throttled:?}");
    assert_eq!(throttled[0]["target_id"], ada_in_lab.to_string());
    assert_eq!(
        org_events(&lab_owner, lab, "auth.sign_in_failed")
            .await
            .len(),
        5
    );
    let mut conn = server.app().store().read().await.unwrap();
    let instance = store::list_audit(
        &mut conn,
        domain::audit::Chain::Instance,
        &store::AuditFilter {
            action: Some("auth.sign_in_throttled".into()),
            ..Default::default()
        },
        None,
        100,
    )
    .await
    .unwrap();
    assert_eq!(instance.events.len(), 1);
}

async fn requests_naming_another_origin_are_refused(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Lab", "owner@lab.test").await;
    let host = server.base.trim_start_matches("http://").to_string();
    let sign_in = |origin: String| {
        reqwest::Client::new()
            .post(format!("{}/api/v1/auth/sign-in", server.base))
            .header("origin", origin)
            .json(&json!({ "email": "owner@lab.test", "password": PASSWORD }))
            .send()
    };
    // Login CSRF: another site cannot sign a visitor in.
    for origin in [
        "https://evil.example".to_string(),
        format!("https://{host}"),
        "null".to_string(),
    ] {
        let response = sign_in(origin.clone()).await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{origin}");
        assert!(response.headers().get("set-cookie").is_none());
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "cross_origin_request");
    }
    assert_eq!(
        sign_in(format!("http://{host}")).await.unwrap().status(),
        StatusCode::OK
    );
    // The scheme counts: https://host is not http://host, for any change.
    let response = owner
        .http
        .post(format!("{}/api/v1/orgs/{org}/sites", server.base))
        .header("origin", format!("https://{host}"))
        .json(&json!({ "name": "Annex" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let (_, sites) = owner.get(&format!("/api/v1/orgs/{org}/sites")).await;
    assert!(sites.as_array().unwrap().is_empty());
}

async fn names_that_hide_text_are_refused(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Lab", "owner@lab.test").await;
    for name in [
        "Lab\u{202E}bal",
        "Ad\u{200B}min",
        "\u{2066}Annex",
        "Annex\u{FEFF}",
    ] {
        let (status, body) = owner
            .post(
                &format!("/api/v1/orgs/{org}/sites"),
                json!({ "name": name }),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{name:?}: {body}");
        assert_eq!(body["error"]["field"], "name");
    }
    let (status, body) = owner
        .post(
            &format!("/api/v1/orgs/{org}/workgroups"),
            json!({ "name": "Class", "description": "ok\u{202E}txt.exe" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = owner
        .post(
            &format!("/api/v1/orgs/{org}/sites"),
            json!({ "name": "کارگاه\u{200C}ها" }),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "a joiner that shapes letters is fine: {body}"
    );
}

async fn rights_listings_name_only_printers_the_caller_can_see(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Lab", "owner@lab.test").await;
    let site = |name: &'static str| {
        let owner = owner.clone();
        async move {
            id(&created(
                &owner,
                &format!("/api/v1/orgs/{org}/sites"),
                json!({ "name": name }),
            )
            .await)
        }
    };
    let (north, south) = (site("North").await, site("South").await);
    let printers = format!("/api/v1/orgs/{org}/printers");
    let a = id(&created(&owner, &printers, json!({ "name": "A", "site_id": north })).await);
    let c = id(&created(&owner, &printers, json!({ "name": "C", "site_id": south })).await);
    let manager_rank = server.rank_id(&owner, org, "Manager").await;
    let (status, _) = owner
        .patch(
            &format!("/api/v1/orgs/{org}/ranks/{manager_rank}"),
            json!({ "scope": { "sites": [north] } }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (manager, _) = server
        .member(&owner, org, "Manager", "manager@lab.test")
        .await;
    let (_, operator_id) = server
        .member(&owner, org, "Operator", "operator@lab.test")
        .await;
    assert_eq!(
        manager.get(&format!("{printers}/{c}")).await.0,
        StatusCode::NOT_FOUND
    );

    let (status, rights) = manager
        .get(&format!("/api/v1/orgs/{org}/members/{operator_id}/rights"))
        .await;
    assert_eq!(status, StatusCode::OK, "{rights}");
    let ids: Vec<i64> = rights["printers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["printer_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [a], "printer {c} is hidden from the manager");
    let (_, owners_view) = owner
        .get(&format!("/api/v1/orgs/{org}/members/{operator_id}/rights"))
        .await;
    assert_eq!(owners_view["printers"].as_array().unwrap().len(), 2);

    // The what-if preview of a rank edit names only printers the previewer can see, too.
    let operator_rank = server.rank_id(&owner, org, "Operator").await;
    let (status, preview) = manager
        .post(
            &format!("/api/v1/orgs/{org}/ranks/{operator_rank}/preview"),
            json!({ "scope": { "sites": [] } }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    let named: Vec<i64> = preview["members"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["access_changes"].as_array().unwrap().clone())
        .map(|c| c["printer_id"].as_i64().unwrap())
        .collect();
    assert!(named.contains(&a) && !named.contains(&c), "{preview}");

    // So does the list of printer access grants.
    let grants = format!("/api/v1/orgs/{org}/printer-access");
    for printer in [a, c] {
        created(
            &owner,
            &grants,
            json!({ "subject": { "kind": "member", "id": operator_id },
                "target": { "kind": "printer", "id": printer }, "level": "print" }),
        )
        .await;
    }
    let on_printers = |list: &Value| -> Vec<i64> {
        list.as_array()
            .unwrap()
            .iter()
            .filter(|g| g["target"]["kind"] == "printer")
            .map(|g| g["target"]["id"].as_i64().unwrap())
            .collect()
    };
    let (status, list) = manager.get(&grants).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(on_printers(&list), [a], "{list}");
    assert_eq!(on_printers(&owner.get(&grants).await.1).len(), 2);
}

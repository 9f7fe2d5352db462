use reqwest::StatusCode;
use serde_json::json;

use crate::common::{PASSWORD, TestServer};

crate::on_both_backends!(
    invitations_create_accounts_and_expire,
    existing_users_sign_in_to_accept_and_adding_by_email_invites,
    seniority_limits_who_can_be_invited_managed_and_promoted,
    deactivation_ends_access_here_revokes_tokens_and_keeps_history,
    other_organizations_are_invisible,
    denials_name_the_permission_and_who_can_grant_it,
);

async fn invitations_create_accounts_and_expire(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Lab", "owner@lab.test").await;
    let member_rank = server.rank_id(&owner, org, "Member").await;
    let invite = |email: &'static str, hours: Option<i64>| {
        let owner = owner.clone();
        async move {
            let mut body = json!({ "email": email, "rank_id": member_rank });
            if let Some(h) = hours {
                body["expires_in_hours"] = json!(h);
            }
            let (status, created) = owner
                .post(&format!("/api/v1/orgs/{org}/invitations"), body)
                .await;
            assert_eq!(status, StatusCode::CREATED, "{created}");
            created
        }
    };

    let created = invite("new@lab.test", Some(2)).await;
    let token = created["token"].as_str().unwrap().to_string();
    assert_eq!(created["invitation"]["status"], "pending");
    let anonymous = server.client();
    let (status, preview) = anonymous.get(&format!("/api/v1/invitations/{token}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(preview["org_name"], "Lab");
    assert_eq!(preview["rank_name"], "Member");
    assert!(
        preview.get("account_exists").is_none(),
        "a link does not tell whether the email has an account: {preview}"
    );

    let (status, body) = anonymous
        .post(
            &format!("/api/v1/invitations/{token}/accept"),
            json!({ "name": "New", "password": "x" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "password");
    let (status, member) = anonymous
        .post(
            &format!("/api/v1/invitations/{token}/accept"),
            json!({ "name": "New", "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{member}");
    assert_eq!(member["rank_name"], "Member");
    let (_, me) = anonymous.get("/api/v1/me").await;
    assert_eq!(
        me["user"]["email"], "new@lab.test",
        "accepting signs the new account in"
    );

    let (status, body) = server
        .client()
        .post(
            &format!("/api/v1/invitations/{token}/accept"),
            json!({ "name": "Again", "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "invitation_used");

    // Expiry: a link two hours old no longer works.
    let late = invite("late@lab.test", Some(2)).await;
    server.clock.advance_seconds(2 * 3600);
    let (status, body) = server
        .client()
        .post(
            &format!(
                "/api/v1/invitations/{}/accept",
                late["token"].as_str().unwrap()
            ),
            json!({ "name": "Late", "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::GONE);
    assert_eq!(body["error"]["code"], "invitation_expired");

    // Revocation.
    let revoked = invite("revoked@lab.test", None).await;
    let id = revoked["invitation"]["id"].as_i64().unwrap();
    let (status, body) = owner
        .delete(&format!("/api/v1/orgs/{org}/invitations/{id}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "revoked");
    let (status, body) = server
        .client()
        .post(
            &format!(
                "/api/v1/invitations/{}/accept",
                revoked["token"].as_str().unwrap()
            ),
            json!({ "name": "R", "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::GONE);
    assert_eq!(body["error"]["code"], "invitation_revoked");

    let (status, body) = server
        .client()
        .get("/api/v1/invitations/not-a-real-token")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");

    let (status, body) = owner
        .post(
            &format!("/api/v1/orgs/{org}/invitations"),
            json!({ "email": "x@lab.test", "rank_id": member_rank, "expires_in_hours": 0 }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "expires_in_hours");
}

async fn existing_users_sign_in_to_accept_and_adding_by_email_invites(server: &TestServer) {
    let (lab, lab_owner) = server.org_with_owner("Lab", "owner@lab.test").await;
    let (farm, farm_owner) = server.org_with_owner("Farm", "owner@farm.test").await;
    let (ada, _) = server.member(&lab_owner, lab, "Member", "ada@x.test").await;

    // An invitation to an existing account needs that account signed in.
    let rank = server.rank_id(&farm_owner, farm, "Operator").await;
    let (_, created) = farm_owner
        .post(
            &format!("/api/v1/orgs/{farm}/invitations"),
            json!({ "email": "ada@x.test", "rank_id": rank }),
        )
        .await;
    let token = created["token"].as_str().unwrap();
    let (status, body) = server
        .client()
        .post(
            &format!("/api/v1/invitations/{token}/accept"),
            json!({ "name": "Imposter", "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "sign_in_required");
    let (status, body) = lab_owner
        .post_empty(&format!("/api/v1/invitations/{token}/accept"))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "invitation_email_mismatch");
    let (status, member) = ada
        .post_empty(&format!("/api/v1/invitations/{token}/accept"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{member}");
    let (_, me) = ada.get("/api/v1/me").await;
    let orgs: Vec<_> = me["memberships"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["org_name"].as_str().unwrap())
        .collect();
    assert_eq!(orgs, ["Farm", "Lab"], "one user, several organizations");

    // Adding an existing user by email invites them: they accept from their own list.
    let guest = server.rank_id(&lab_owner, lab, "Guest").await;
    let (status, added) = lab_owner
        .post(
            &format!("/api/v1/orgs/{lab}/members"),
            json!({ "email": "owner@farm.test", "rank_id": guest }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    assert_eq!(added["invitation"]["rank_name"], "Guest");
    assert_eq!(added["invitation"]["status"], "pending");
    let invitation = added["invitation"]["id"].as_i64().unwrap();
    let (status, member) = farm_owner
        .post_empty(&format!("/api/v1/me/invitations/{invitation}/accept"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{member}");
    assert_eq!(member["rank_name"], "Guest");
    // Someone already a member can be invited, but not become a member twice.
    let (status, again) = lab_owner
        .post(
            &format!("/api/v1/orgs/{lab}/members"),
            json!({ "email": "owner@farm.test", "rank_id": guest }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let invitation = again["invitation"]["id"].as_i64().unwrap();
    let (status, body) = farm_owner
        .post_empty(&format!("/api/v1/me/invitations/{invitation}/accept"))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "already_member");
    // An email without an account gets the same answer: an invitation to pass on.
    let (status, body) = lab_owner
        .post(
            &format!("/api/v1/orgs/{lab}/members"),
            json!({ "email": "nobody@x.test", "rank_id": guest }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(body["token"].is_string());
}

async fn seniority_limits_who_can_be_invited_managed_and_promoted(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Lab", "owner@lab.test").await;
    let (admin, admin_id) = server.member(&owner, org, "Admin", "admin@lab.test").await;
    let (manager, manager_id) = server
        .member(&admin, org, "Manager", "manager@lab.test")
        .await;
    let (_, other_manager_id) = server
        .member(&admin, org, "Manager", "manager2@lab.test")
        .await;
    let (_, operator_id) = server
        .member(&manager, org, "Operator", "operator@lab.test")
        .await;
    let admin_rank = server.rank_id(&owner, org, "Admin").await;
    let manager_rank = server.rank_id(&owner, org, "Manager").await;
    let member_rank = server.rank_id(&owner, org, "Member").await;

    // A manager cannot invite at or above their own rank.
    for rank in [admin_rank, manager_rank] {
        let (status, body) = manager
            .post(
                &format!("/api/v1/orgs/{org}/invitations"),
                json!({ "email": "x@lab.test", "rank_id": rank }),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body["error"]["code"], "insufficient_seniority");
    }
    // ...cannot promote a junior to their own rank or above, nor touch peers and seniors.
    let (status, _) = manager
        .patch(
            &format!("/api/v1/orgs/{org}/members/{operator_id}"),
            json!({ "rank_id": manager_rank }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for target in [other_manager_id, admin_id] {
        let (status, body) = manager
            .post_empty(&format!("/api/v1/orgs/{org}/members/{target}/deactivate"))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body["error"]["code"], "insufficient_seniority");
    }
    // ...nor change their own membership.
    let (status, _) = manager
        .patch(
            &format!("/api/v1/orgs/{org}/members/{manager_id}"),
            json!({ "rank_id": member_rank }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // But may demote a junior.
    let (status, body) = manager
        .patch(
            &format!("/api/v1/orgs/{org}/members/{operator_id}"),
            json!({ "rank_id": member_rank }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["rank_name"], "Member");
    // The owner is above all, including admins.
    let (status, body) = owner
        .patch(
            &format!("/api/v1/orgs/{org}/members/{admin_id}"),
            json!({ "rank_id": manager_rank }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Rights follow the rank at once: the former admin can no longer change organization settings.
    let (status, body) = admin
        .patch(&format!("/api/v1/orgs/{org}"), json!({ "name": "Mine" }))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["permission"], "organization.manage");
}

async fn deactivation_ends_access_here_revokes_tokens_and_keeps_history(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Lab", "owner@lab.test").await;
    let (ada, ada_id) = server.member(&owner, org, "Operator", "ada@lab.test").await;
    let (status, token) = ada
        .post(
            &format!("/api/v1/orgs/{org}/api-tokens"),
            json!({ "name": "laptop" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let ada_token = server.token_client(token["secret"].as_str().unwrap());
    assert_eq!(
        ada_token.get(&format!("/api/v1/orgs/{org}/sites")).await.0,
        StatusCode::OK
    );

    let (status, member) = owner
        .post_empty(&format!("/api/v1/orgs/{org}/members/{ada_id}/deactivate"))
        .await;
    assert_eq!(status, StatusCode::OK, "{member}");
    assert_eq!(member["active"], false);
    assert!(member["deactivated_at"].is_string());
    // The organization is gone for them at once, through the session as through the token;
    // the account itself is untouched (other organizations are none of this one's business).
    assert_eq!(
        ada.get(&format!("/api/v1/orgs/{org}")).await.0,
        StatusCode::NOT_FOUND
    );
    let (status, me) = ada.get("/api/v1/me").await;
    assert_eq!(status, StatusCode::OK);
    assert!(me["memberships"].as_array().unwrap().is_empty(), "{me}");
    assert_eq!(
        ada_token.get(&format!("/api/v1/orgs/{org}/sites")).await.0,
        StatusCode::UNAUTHORIZED,
        "token revoked"
    );
    let again = server.client();
    again.sign_in("ada@lab.test", PASSWORD).await;
    assert_eq!(
        again.get(&format!("/api/v1/orgs/{org}")).await.0,
        StatusCode::NOT_FOUND
    );

    // History stays: the member is still listed and the audit log names them.
    let (_, members) = owner.get(&format!("/api/v1/orgs/{org}/members")).await;
    assert!(
        members
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["email"] == "ada@lab.test" && m["active"] == false)
    );
    let (_, events) = owner
        .get(&format!(
            "/api/v1/orgs/{org}/audit-events?action=member.deactivate"
        ))
        .await;
    let event = &events["events"][0];
    assert_eq!(event["target_id"], ada_id.to_string());
    assert_eq!(event["after"]["tokens_revoked"], 1);
    assert_eq!(event["after"]["invitations_revoked"], 0);
    assert!(event["after"].get("sessions_revoked").is_none());
    assert_eq!(event["before"]["active"], true);

    let (status, body) = owner
        .post_empty(&format!("/api/v1/orgs/{org}/members/{ada_id}/deactivate"))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "no_change");
    let (status, member) = owner
        .post_empty(&format!("/api/v1/orgs/{org}/members/{ada_id}/reactivate"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(member["active"], true);
    assert_eq!(
        again.get(&format!("/api/v1/orgs/{org}")).await.0,
        StatusCode::OK
    );
}

async fn other_organizations_are_invisible(server: &TestServer) {
    let (lab, lab_owner) = server.org_with_owner("Lab", "owner@lab.test").await;
    let (farm, farm_owner) = server.org_with_owner("Farm", "owner@farm.test").await;
    let (_, site) = farm_owner
        .post(
            &format!("/api/v1/orgs/{farm}/sites"),
            json!({ "name": "Barn" }),
        )
        .await;
    let site = site["id"].as_i64().unwrap();
    let (_, farm_members) = farm_owner
        .get(&format!("/api/v1/orgs/{farm}/members"))
        .await;
    let farm_member = farm_members[0]["id"].as_i64().unwrap();

    for path in [
        format!("/api/v1/orgs/{farm}"),
        format!("/api/v1/orgs/{farm}/sites"),
        format!("/api/v1/orgs/{farm}/sites/{site}"),
        format!("/api/v1/orgs/{farm}/members"),
        format!("/api/v1/orgs/{farm}/audit-events"),
        "/api/v1/orgs/999999/sites".to_string(),
    ] {
        let (status, body) = lab_owner.get(&path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(body["error"]["code"], "not_found");
    }
    // The farm's IDs through the lab's URL are just as unknown.
    assert_eq!(
        lab_owner
            .get(&format!("/api/v1/orgs/{lab}/sites/{site}"))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        lab_owner
            .get(&format!("/api/v1/orgs/{lab}/members/{farm_member}"))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    let (status, _) = lab_owner
        .post_empty(&format!(
            "/api/v1/orgs/{lab}/members/{farm_member}/deactivate"
        ))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = lab_owner
        .patch(
            &format!("/api/v1/orgs/{lab}/sites/{site}"),
            json!({ "name": "Mine" }),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, after) = farm_owner
        .get(&format!("/api/v1/orgs/{farm}/sites/{site}"))
        .await;
    assert_eq!(after["name"], "Barn");
}

async fn denials_name_the_permission_and_who_can_grant_it(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Lab", "owner@lab.test").await;
    let (guest, _) = server.member(&owner, org, "Guest", "guest@lab.test").await;
    let (status, body) = guest
        .post(
            &format!("/api/v1/orgs/{org}/sites"),
            json!({ "name": "Annex" }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let error = &body["error"];
    assert_eq!(error["code"], "permission_denied");
    assert_eq!(error["permission"], "sites.manage");
    assert_eq!(error["title"], "Manage sites");
    assert_eq!(error["ask"], json!(["Owner"]));
    // The guest can still see what their rank allows.
    assert_eq!(
        guest.get(&format!("/api/v1/orgs/{org}/sites")).await.0,
        StatusCode::OK
    );
    assert_eq!(
        guest.get(&format!("/api/v1/orgs/{org}/members")).await.0,
        StatusCode::FORBIDDEN
    );
}

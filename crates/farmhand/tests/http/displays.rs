//! Wall display links through the API: made, listed and revoked with the permission the pages
//! ask (`sites.manage`), through the same audited use cases; the secret is shown once.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::TestServer;

crate::on_both_backends!(display_links_are_made_listed_and_revoked_through_the_api);

async fn display_links_are_made_listed_and_revoked_through_the_api(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Wall Lab", "owner@wall.test").await;
    let api = |rest: &str| format!("/api/v1/orgs/{org}/{rest}");
    let (status, site) = owner.post(&api("sites"), json!({ "name": "Lab" })).await;
    assert_eq!(status, StatusCode::CREATED, "{site}");

    // Made: the secret and the screen's path, this once.
    let (status, created) = owner
        .post(
            &api("displays"),
            json!({ "site_id": site["id"], "name": "Entrance screen" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let secret = created["secret"].as_str().unwrap().to_string();
    assert!(secret.len() >= 40, "{created}");
    assert_eq!(created["path"], format!("/display/{secret}"));
    let link = &created["link"];
    let id = link["id"].as_i64().unwrap();
    assert_eq!(
        (&link["name"], &link["site_id"], &link["site_name"]),
        (&json!("Entrance screen"), &site["id"], &json!("Lab"))
    );
    assert_eq!(link["last_used_at"], Value::Null, "{created}");

    // A screen opens it, with no account.
    let screen = reqwest::Client::new();
    let path = created["path"].as_str().unwrap();
    let opened = screen
        .get(format!("{}{path}", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(opened.status(), StatusCode::OK);

    // Listed without the secret, with when a screen last opened it.
    let (status, list) = owner.get(&api("displays")).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let links = list.as_array().unwrap();
    assert_eq!(links.len(), 1, "{list}");
    assert_eq!(links[0]["id"], id);
    assert!(links[0]["last_used_at"].is_string(), "{list}");
    assert!(links[0]["created_at"].is_string(), "{list}");
    assert!(links[0].get("secret").is_none(), "{list}");
    assert!(!list.to_string().contains(&secret));

    // Refusals: a site that is not there, a blank name.
    let (status, body) = owner
        .post(
            &api("displays"),
            json!({ "site_id": 999_999, "name": "Nowhere" }),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = owner
        .post(
            &api("displays"),
            json!({ "site_id": site["id"], "name": " " }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "invalid_field", "{body}");

    // A member without `sites.manage` may neither list, make nor revoke.
    let (member, _) = server
        .member(&owner, org, "Member", "member@wall.test")
        .await;
    for (status, body) in [
        member.get(&api("displays")).await,
        member
            .post(
                &api("displays"),
                json!({ "site_id": site["id"], "name": "Mine" }),
            )
            .await,
        member.delete(&api(&format!("displays/{id}"))).await,
    ] {
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(body["error"]["permission"], "sites.manage", "{body}");
    }

    // Another organization's manager sees none of it: its links are 404 there.
    let (other, stranger) = server.org_with_owner("Elsewhere", "owner@else.test").await;
    let (status, theirs) = stranger
        .get(&format!("/api/v1/orgs/{other}/displays"))
        .await;
    assert_eq!((status, theirs), (StatusCode::OK, json!([])));
    let (status, body) = stranger
        .delete(&format!("/api/v1/orgs/{other}/displays/{id}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    // Revoked: 204, the screen's link refuses at once; again is a conflict; unknown is 404.
    let (status, body) = owner.delete(&api(&format!("displays/{id}"))).await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
    let refused = screen
        .get(format!("{}{path}", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    let (status, body) = owner.delete(&api(&format!("displays/{id}"))).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "already_revoked", "{body}");
    let (status, body) = owner.delete(&api("displays/999999")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (_, list) = owner.get(&api("displays")).await;
    assert!(list[0]["revoked_at"].is_string(), "{list}");

    // Audited as the pages' changes are, without the secret.
    let (status, audit) = owner.get(&api("audit-events")).await;
    assert_eq!(status, StatusCode::OK);
    let audit = audit.to_string();
    assert!(audit.contains("display_link.create"), "{audit}");
    assert!(audit.contains("display_link.revoke"), "{audit}");
    assert!(!audit.contains(&secret));
}

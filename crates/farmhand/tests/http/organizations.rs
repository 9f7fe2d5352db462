use reqwest::StatusCode;
use serde_json::json;

use crate::common::TestServer;

crate::on_both_backends!(
    organization_settings_are_validated_and_audited,
    sites_are_managed_with_clear_conflicts,
    workgroups_have_members_and_moderators,
    default_ranks_come_with_every_organization,
);

async fn organization_settings_are_validated_and_audited(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Lab", "owner@lab.test").await;
    let (status, body) = owner
        .patch(
            &format!("/api/v1/orgs/{org}"),
            json!({ "time_zone": "Mars/Olympus Mons" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "time_zone");
    let (status, body) = owner
        .patch(
            &format!("/api/v1/orgs/{org}"),
            json!({ "currency": "euro" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "currency");
    let (status, body) = owner
        .patch(
            &format!("/api/v1/orgs/{org}"),
            json!({ "name": "Fab Lab", "time_zone": "Europe/Berlin", "currency": "CHF" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["name"].as_str(), body["currency"].as_str()),
        (Some("Fab Lab"), Some("CHF"))
    );
    let (_, events) = owner
        .get(&format!(
            "/api/v1/orgs/{org}/audit-events?action=organization.update"
        ))
        .await;
    assert_eq!(events["events"][0]["before"]["name"], "Lab");
    assert_eq!(events["events"][0]["after"]["name"], "Fab Lab");
    assert_eq!(
        events["events"].as_array().unwrap().len(),
        1,
        "failed updates change and audit nothing"
    );
}

async fn sites_are_managed_with_clear_conflicts(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Lab", "owner@lab.test").await;
    let (status, site) = owner
        .post(
            &format!("/api/v1/orgs/{org}/sites"),
            json!({ "name": "North", "description": "Building 4" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = site["id"].as_i64().unwrap();
    let (status, body) = owner
        .post(
            &format!("/api/v1/orgs/{org}/sites"),
            json!({ "name": "North" }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "name_taken");
    let (status, body) = owner
        .post(
            &format!("/api/v1/orgs/{org}/sites"),
            json!({ "name": "   " }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "name");

    let (status, site) = owner
        .patch(
            &format!("/api/v1/orgs/{org}/sites/{id}"),
            json!({ "time_zone": "Europe/Paris", "name": "North Lab" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(site["time_zone"], "Europe/Paris");
    let (_, site) = owner
        .patch(
            &format!("/api/v1/orgs/{org}/sites/{id}"),
            json!({ "time_zone": null }),
        )
        .await;
    assert!(
        site["time_zone"].is_null(),
        "null clears the site's own time zone"
    );
    assert_eq!(site["name"], "North Lab", "absent fields stay as they were");

    let (status, _) = owner
        .delete(&format!("/api/v1/orgs/{org}/sites/{id}"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        owner.get(&format!("/api/v1/orgs/{org}/sites/{id}")).await.0,
        StatusCode::NOT_FOUND
    );
    let (_, events) = owner
        .get(&format!(
            "/api/v1/orgs/{org}/audit-events?target_type=site&target_id={id}"
        ))
        .await;
    let actions: Vec<_> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["site.delete", "site.update", "site.update", "site.create"]
    );
}

async fn workgroups_have_members_and_moderators(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Lab", "owner@lab.test").await;
    let (teacher, teacher_id) = server
        .member(&owner, org, "Member", "teacher@lab.test")
        .await;
    // Students are junior to the teacher: a moderator changes only members junior to them.
    let (_, student_id) = server
        .member(&owner, org, "Guest", "student@lab.test")
        .await;
    let (_, other_id) = server.member(&owner, org, "Guest", "other@lab.test").await;
    let (_, peer_id) = server.member(&owner, org, "Member", "peer@lab.test").await;
    let (status, group) = owner
        .post(
            &format!("/api/v1/orgs/{org}/workgroups"),
            json!({ "name": "Design 101" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let group = group["id"].as_i64().unwrap();
    let base = format!("/api/v1/orgs/{org}/workgroups/{group}/members");

    // Members cannot manage workgroups...
    let (status, _) = teacher
        .put(&format!("{base}/{student_id}"), json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // ...until made a moderator, who may then add and remove ordinary members...
    let (status, detail) = owner
        .put(
            &format!("{base}/{teacher_id}"),
            json!({ "moderator": true }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    let (status, detail) = teacher
        .put(&format!("{base}/{student_id}"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(detail["member_count"], 2);
    let (status, _) = teacher.put(&format!("{base}/{other_id}"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = teacher.delete(&format!("{base}/{other_id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // ...but not peers of their own rank...
    let (status, body) = teacher.put(&format!("{base}/{peer_id}"), json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], "insufficient_seniority");
    // ...nor appoint moderators.
    let (status, body) = teacher
        .put(
            &format!("{base}/{student_id}"),
            json!({ "moderator": true }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["permission"], "workgroups.manage");

    let (_, detail) = owner
        .get(&format!("/api/v1/orgs/{org}/workgroups/{group}"))
        .await;
    let members: Vec<_> = detail["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["email"].as_str().unwrap(),
                m["is_moderator"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        members,
        [("student@lab.test", false), ("teacher@lab.test", true)]
    );

    let (status, _) = owner
        .delete(&format!("/api/v1/orgs/{org}/workgroups/{group}"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, groups) = owner.get(&format!("/api/v1/orgs/{org}/workgroups")).await;
    assert_eq!(groups, json!([]));
}

async fn default_ranks_come_with_every_organization(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Lab", "owner@lab.test").await;
    let (_, ranks) = owner.get(&format!("/api/v1/orgs/{org}/ranks")).await;
    let names: Vec<_> = ranks
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "Owner", "Admin", "Manager", "Operator", "Member", "Guest", "Viewer"
        ]
    );
    let viewer = ranks
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "Viewer")
        .unwrap();
    // The Viewer only reads: seeing things, and seeing finished jobs (the queue's history).
    let reads = |key: &str| key.contains(".view") || key.starts_with("queue.history.");
    assert!(
        viewer["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| reads(p.as_str().unwrap())),
        "{viewer}"
    );
}

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Client, TestServer};

crate::on_both_backends!(
    ranks_are_created_cloned_edited_reordered_and_deleted_within_seniority,
    printer_scopes_hide_or_lock_and_grants_add_access,
    tri_state_overrides_and_explanations,
    what_if_previews_change_nothing,
    presets_can_be_imported_and_the_catalog_is_grouped,
    site_scoped_managers_manage_only_their_sites,
);

async fn id(body: &Value) -> i64 {
    body["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no id in {body}"))
}

async fn created(client: &Client, path: &str, body: Value) -> Value {
    let (status, body) = client.post(path, body).await;
    assert_eq!(status, StatusCode::CREATED, "{path}: {body}");
    body
}

async fn ranks_are_created_cloned_edited_reordered_and_deleted_within_seniority(
    server: &TestServer,
) {
    let (org, owner) = server.org_with_owner("Lab", "owner@lab.test").await;
    let (admin, _) = server.member(&owner, org, "Admin", "admin@lab.test").await;
    let base = format!("/api/v1/orgs/{org}/ranks");
    let (_, ranks) = admin.get(&base).await;
    let admin_position = ranks
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "Admin")
        .unwrap()["position"]
        .as_i64()
        .unwrap();

    // A new rank below the admin, with permissions the admin holds.
    let assistant = created(
        &admin,
        &base,
        json!({ "name": "Lab assistant", "permissions": ["printers.view", "sites.view"], "tri_state": ["slicer.expert_tab"] }),
    )
    .await;
    let assistant_id = id(&assistant).await;
    assert_eq!(assistant["tri_state"], json!(["slicer.expert_tab"]));
    // Not at or above the admin's own position, not an unknown permission.
    let (status, body) = admin
        .post(&base, json!({ "name": "Boss", "position": admin_position }))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "insufficient_seniority");
    let (status, body) = admin
        .post(
            &base,
            json!({ "name": "Odd", "permissions": ["printers.fly"] }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "permissions");
    // A scope naming a site that does not exist: "not found", like any other reference.
    let (status, body) = admin
        .post(
            &base,
            json!({ "name": "Elsewhere", "scope": { "sites": [999999] } }),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"]["message"], "site not found", "{body}");
    let (status, body) = admin
        .post(
            &base,
            json!({ "name": "Elsewhere", "scope": { "sites": [999999] } }),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"]["message"], "site not found", "{body}");
    let (status, body) = admin.post(&base, json!({ "name": "Lab assistant" })).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    // The admin cannot edit their own rank or the owner's.
    let admin_rank = server.rank_id(&owner, org, "Admin").await;
    let (status, _) = admin
        .patch(
            &format!("{base}/{admin_rank}"),
            json!({ "description": "mine" }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A member with the rank gains and loses rights the moment the rank changes.
    let (ada, ada_id) = server
        .member(&admin, org, "Lab assistant", "ada@lab.test")
        .await;
    assert_eq!(
        ada.get(&format!("/api/v1/orgs/{org}/workgroups")).await.0,
        StatusCode::FORBIDDEN
    );
    let (status, body) = admin
        .patch(
            &format!("{base}/{assistant_id}"),
            json!({ "permissions": ["printers.view", "sites.view", "workgroups.view"] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        ada.get(&format!("/api/v1/orgs/{org}/workgroups")).await.0,
        StatusCode::OK
    );

    // Clone, reorder, delete.
    let clone = created(
        &admin,
        &format!("{base}/{assistant_id}/clone"),
        json!({ "name": "Senior assistant" }),
    )
    .await;
    assert_eq!(
        clone["permissions"],
        json!(["sites.view", "workgroups.view", "printers.view"])
    );
    let clone_id = id(&clone).await;
    let (_, ranks) = admin.get(&base).await;
    let junior: Vec<i64> = ranks
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["position"].as_i64().unwrap() > admin_position)
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    let mut order = junior.clone();
    order.retain(|r| *r != clone_id);
    order.insert(0, clone_id);
    let (status, body) = admin
        .request(
            reqwest::Method::PUT,
            &format!("/api/v1/orgs/{org}/rank-order"),
            Some(json!({ "rank_ids": order })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let first_junior = body
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["position"].as_i64().unwrap() > admin_position)
        .unwrap();
    assert_eq!(first_junior["name"], "Senior assistant");
    let (status, body) = admin
        .request(
            reqwest::Method::PUT,
            &format!("/api/v1/orgs/{org}/rank-order"),
            Some(json!({ "rank_ids": [clone_id] })),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "rank_order_mismatch");
    let (status, body) = admin
        .request(
            reqwest::Method::PUT,
            &format!("/api/v1/orgs/{org}/rank-order"),
            Some(json!({ "rank_ids": [clone_id, clone_id] })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "rank_ids");

    let (status, body) = admin.delete(&format!("{base}/{assistant_id}")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "rank_in_use");
    let (status, _) = admin
        .patch(
            &format!("/api/v1/orgs/{org}/members/{ada_id}"),
            json!({ "rank_id": clone_id }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        admin.delete(&format!("{base}/{assistant_id}")).await.0,
        StatusCode::NO_CONTENT
    );

    // Every change is in the audit log with before and after.
    let (_, page) = owner
        .get(&format!(
            "/api/v1/orgs/{org}/audit-events?target_type=rank&target_id={assistant_id}"
        ))
        .await;
    let actions: Vec<_> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["rank.delete", "rank.update", "rank.create"]);
    assert_eq!(
        page["events"][1]["before"]["permissions"],
        json!(["sites.view", "printers.view"])
    );
}

/// A lab with two sites, a model, a group and three printers.
async fn fleet(owner: &Client, org: i64) -> (i64, i64, i64, [i64; 3]) {
    let north = id(&created(
        owner,
        &format!("/api/v1/orgs/{org}/sites"),
        json!({ "name": "North" }),
    )
    .await)
    .await;
    let south = id(&created(
        owner,
        &format!("/api/v1/orgs/{org}/sites"),
        json!({ "name": "South" }),
    )
    .await)
    .await;
    let model = id(&created(
        owner,
        &format!("/api/v1/orgs/{org}/printer-models"),
        json!({ "name": "MK4" }),
    )
    .await)
    .await;
    let group = id(&created(
        owner,
        &format!("/api/v1/orgs/{org}/printer-groups"),
        json!({ "name": "Teaching" }),
    )
    .await)
    .await;
    let path = format!("/api/v1/orgs/{org}/printers");
    let a = id(&created(
        owner,
        &path,
        json!({ "name": "A", "site_id": north, "model_id": model, "group_ids": [group] }),
    )
    .await)
    .await;
    let b = id(&created(owner, &path, json!({ "name": "B", "site_id": north })).await).await;
    let c = id(&created(
        owner,
        &path,
        json!({ "name": "C", "site_id": south, "model_id": model }),
    )
    .await)
    .await;
    (north, south, group, [a, b, c])
}

async fn visible(client: &Client, org: i64) -> Vec<(String, String)> {
    let (status, printers) = client.get(&format!("/api/v1/orgs/{org}/printers")).await;
    assert_eq!(status, StatusCode::OK, "{printers}");
    assert!(printers["next_cursor"].is_null(), "{printers}");
    printers["printers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["access"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

async fn printer_scopes_hide_or_lock_and_grants_add_access(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Lab", "owner@lab.test").await;
    let (north, _south, group, [a, b, c]) = fleet(&owner, org).await;
    let (student, student_id) = server
        .member(&owner, org, "Member", "student@lab.test")
        .await;
    let all = |level: &str| {
        vec![
            ("A".to_string(), level.to_string()),
            ("B".into(), level.into()),
            ("C".into(), level.into()),
        ]
    };
    assert_eq!(
        visible(&student, org).await,
        all("queue"),
        "Member: queue access on all printers by default"
    );

    // Scope the Member rank to the teaching group: other printers vanish (404 like a missing one).
    let member_rank = server.rank_id(&owner, org, "Member").await;
    let (status, body) = owner
        .patch(
            &format!("/api/v1/orgs/{org}/ranks/{member_rank}"),
            json!({ "scope": { "groups": [group] } }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        visible(&student, org).await,
        vec![("A".to_string(), "queue".to_string())]
    );
    let (hidden_status, hidden) = student
        .get(&format!("/api/v1/orgs/{org}/printers/{b}"))
        .await;
    let (missing_status, missing) = student
        .get(&format!("/api/v1/orgs/{org}/printers/999999"))
        .await;
    assert_eq!(
        (hidden_status, missing_status),
        (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND)
    );
    assert_eq!(hidden["error"]["message"], missing["error"]["message"]);

    // Visible-but-locked: the others show up read-only.
    owner
        .patch(
            &format!("/api/v1/orgs/{org}/ranks/{member_rank}"),
            json!({ "out_of_scope": "visible_locked" }),
        )
        .await;
    assert_eq!(
        visible(&student, org).await,
        vec![
            ("A".to_string(), "queue".to_string()),
            ("B".into(), "view".into()),
            ("C".into(), "view".into())
        ]
    );

    // A grant to the member on the north site lifts B to print; a workgroup grant adds C.
    let grant = created(
        &owner,
        &format!("/api/v1/orgs/{org}/printer-access"),
        json!({ "subject": { "kind": "member", "id": student_id }, "target": { "kind": "site", "id": north }, "level": "print" }),
    )
    .await;
    let (_, workgroup) = owner
        .post(
            &format!("/api/v1/orgs/{org}/workgroups"),
            json!({ "name": "Robotics" }),
        )
        .await;
    let workgroup = workgroup["id"].as_i64().unwrap();
    owner
        .put(
            &format!("/api/v1/orgs/{org}/workgroups/{workgroup}/members/{student_id}"),
            json!({}),
        )
        .await;
    created(
        &owner,
        &format!("/api/v1/orgs/{org}/printer-access"),
        json!({ "subject": { "kind": "workgroup", "id": workgroup }, "target": { "kind": "printer", "id": c }, "level": "manage" }),
    )
    .await;
    assert_eq!(
        visible(&student, org).await,
        vec![
            ("A".to_string(), "print".to_string()),
            ("B".into(), "print".into()),
            ("C".into(), "manage".into())
        ]
    );

    // Manage access alone does not let a member without the permission edit the printer.
    let (status, body) = student
        .request(
            reqwest::Method::PUT,
            &format!("/api/v1/orgs/{org}/printers/{c}"),
            Some(json!({ "name": "Mine", "site_id": north })),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["permission"], "printers.edit");

    // An operator with the permission but only print access is told which access is missing.
    let operator_rank = server.rank_id(&owner, org, "Operator").await;
    owner
        .patch(
            &format!("/api/v1/orgs/{org}/ranks/{operator_rank}"),
            json!({ "permissions": ["printers.view", "printers.edit"] }),
        )
        .await;
    let (operator, _) = server.member(&owner, org, "Operator", "op@lab.test").await;
    let (status, body) = operator
        .request(
            reqwest::Method::PUT,
            &format!("/api/v1/orgs/{org}/printers/{a}"),
            Some(json!({ "name": "A2", "site_id": north })),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["needed_access"], "manage");
    assert_eq!(body["error"]["ask"], json!(["Owner"]));

    // Revoking a grant takes the access away at once; a junior cannot grant to a senior.
    let (status, _) = owner
        .delete(&format!(
            "/api/v1/orgs/{org}/printer-access/{}",
            grant["id"]
        ))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        visible(&student, org).await[1],
        ("B".to_string(), "view".to_string())
    );
    let owner_member = owner.get("/api/v1/me").await.1["memberships"][0]["member_id"]
        .as_i64()
        .unwrap();
    let (manager, _) = server
        .member(&owner, org, "Manager", "manager@lab.test")
        .await;
    let (status, body) = manager
        .post(
            &format!("/api/v1/orgs/{org}/printer-access"),
            json!({ "subject": { "kind": "member", "id": owner_member }, "target": { "kind": "all_printers" }, "level": "view" }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (_, page) = owner
        .get(&format!(
            "/api/v1/orgs/{org}/audit-events?action=printer_access.grant"
        ))
        .await;
    assert_eq!(page["events"].as_array().unwrap().len(), 2);
}

async fn tri_state_overrides_and_explanations(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Lab", "owner@lab.test").await;
    let (_, _, _, [a, _, _]) = fleet(&owner, org).await;
    let (student, student_id) = server
        .member(&owner, org, "Member", "student@lab.test")
        .await;
    let overrides = format!("/api/v1/orgs/{org}/members/{student_id}/overrides");
    let explain = |permission: &str, printer: Option<i64>| {
        let mut path =
            format!("/api/v1/orgs/{org}/explain?member_id={student_id}&permission={permission}");
        if let Some(p) = printer {
            path.push_str(&format!("&printer_id={p}"));
        }
        path
    };

    let (_, why) = owner.get(&explain("printers.settings", Some(a))).await;
    assert_eq!(
        (why["allowed"].as_bool(), why["reason"].as_str()),
        (Some(false), Some("not_in_rank"))
    );
    assert_eq!(why["ask"], json!(["Owner"]));

    // printers.settings is tri-state for Members: allow it for this one member...
    let (status, rights) = owner
        .put(
            &format!("{overrides}/printers.settings"),
            json!({ "effect": "allow" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rights}");
    let held = rights["permissions"].as_array().unwrap();
    assert!(
        held.iter()
            .any(|p| p["key"] == "printers.settings" && p["source"] == "allow_override")
    );
    let (_, me) = student.get("/api/v1/me").await;
    let mine = me["memberships"][0]["permissions"].as_array().unwrap();
    assert!(
        mine.contains(&json!("printers.settings")),
        "/me shows effective rights: {me}"
    );
    // ...who still needs print access to that printer (Members have queue).
    let (_, why) = owner.get(&explain("printers.settings", Some(a))).await;
    assert_eq!(why["reason"], "insufficient_access");
    assert_eq!(
        (why["access"].as_str(), why["needed_access"].as_str()),
        (Some("queue"), Some("print"))
    );
    assert!(
        why["message"]
            .as_str()
            .unwrap()
            .contains("rank Member on all printers (queue)"),
        "{why}"
    );

    // Deny a permission the rank gives (files.upload is not tri-state for Members: refused).
    let (status, body) = owner
        .put(
            &format!("{overrides}/files.upload"),
            json!({ "effect": "deny" }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "not_tri_state");
    let (status, _) = owner
        .put(
            &format!("{overrides}/printers.settings"),
            json!({ "effect": "deny" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, why) = owner.get(&explain("printers.settings", None)).await;
    assert_eq!(why["reason"], "denied_by_override");

    // Nobody overrides themselves, and a member cannot explain others without members.view.
    let (_, me) = owner.get("/api/v1/me").await;
    let owner_member = me["memberships"][0]["member_id"].as_i64().unwrap();
    let (status, _) = owner
        .put(
            &format!("/api/v1/orgs/{org}/members/{owner_member}/overrides/printers.settings"),
            json!({ "effect": "allow" }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = student
        .get(&format!(
            "/api/v1/orgs/{org}/explain?member_id={owner_member}&permission=sites.view"
        ))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, mine) = student.get(&explain("sites.view", None)).await;
    assert_eq!(
        (status, mine["allowed"].as_bool()),
        (StatusCode::OK, Some(true))
    );
    let (status, mine) = student
        .get(&format!("/api/v1/orgs/{org}/members/{student_id}/rights"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        mine["denied"],
        json!([]),
        "denied lists only rank permissions"
    );

    // Clearing goes back to the rank; it is audited with before and after.
    let (status, _) = owner
        .delete(&format!("{overrides}/printers.settings"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, page) = owner
        .get(&format!(
            "/api/v1/orgs/{org}/audit-events?action=member.override"
        ))
        .await;
    let events = page["events"].as_array().unwrap();
    assert_eq!(events.len(), 3);
    assert_eq!(events[0]["before"]["effect"], "deny");
    assert!(events[0]["after"].is_null());
}

async fn what_if_previews_change_nothing(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Lab", "owner@lab.test").await;
    let (_, _, _, [a, _, _]) = fleet(&owner, org).await;
    let (_, student_id) = server
        .member(&owner, org, "Member", "student@lab.test")
        .await;
    let (_, _) = server.member(&owner, org, "Operator", "op@lab.test").await;
    let member_rank = server.rank_id(&owner, org, "Member").await;
    let (status, preview) = owner
        .post(
            &format!("/api/v1/orgs/{org}/ranks/{member_rank}/preview"),
            json!({ "permissions": ["organization.view", "printers.view", "files.upload"], "scope": { "printers": [a] } }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert!(preview["refused"].is_null());
    let members = preview["members"].as_array().unwrap();
    assert_eq!(members.len(), 1, "only the Member is affected: {preview}");
    assert_eq!(members[0]["member_id"], student_id);
    assert!(
        members[0]["lost"]
            .as_array()
            .unwrap()
            .contains(&json!("queue.submit"))
    );
    assert_eq!(
        members[0]["access_changes"].as_array().unwrap().len(),
        2,
        "loses the two other printers"
    );
    // Nothing was saved.
    let (_, rank) = owner
        .get(&format!("/api/v1/orgs/{org}/ranks/{member_rank}"))
        .await;
    assert!(
        rank["permissions"]
            .as_array()
            .unwrap()
            .contains(&json!("queue.submit"))
    );
    // A preview also says when you could not save it.
    let (admin, _) = server
        .member(&owner, org, "Manager", "manager@lab.test")
        .await;
    let (_, preview) = admin
        .post(
            &format!("/api/v1/orgs/{org}/ranks/{member_rank}/preview"),
            json!({ "permissions": ["audit.export"] }),
        )
        .await;
    assert!(
        preview["refused"]
            .as_str()
            .unwrap()
            .contains("ranks.manage"),
        "{preview}"
    );
}

async fn presets_can_be_imported_and_the_catalog_is_grouped(server: &TestServer) {
    let created = server
        .app()
        .console()
        .create_org(
            "Print farm",
            "boss@farm.test",
            None,
            authz::Preset::ThreeDPrinterOs,
        )
        .await
        .unwrap();
    let owner = server.client();
    owner
        .sign_in(
            "boss@farm.test",
            created.one_time_password.as_deref().unwrap(),
        )
        .await;
    owner
        .post("/api/v1/me/password", json!({ "current_password": created.one_time_password.unwrap(), "new_password": "farm password 1" }))
        .await;
    let org = created.org.id.get();
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
            "Organization Admin",
            "Workgroup Moderator",
            "Advanced",
            "Regular"
        ]
    );

    let (status, imported) = owner
        .post(
            &format!("/api/v1/orgs/{org}/rank-presets"),
            json!({ "preset": "simplyprint_templates" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{imported}");
    assert_eq!(imported.as_array().unwrap().len(), 5);
    let (status, body) = owner
        .post(
            &format!("/api/v1/orgs/{org}/rank-presets"),
            json!({ "preset": "simplyprint_templates" }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = owner
        .post(
            &format!("/api/v1/orgs/{org}/rank-presets"),
            json!({ "preset": "acme" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("3dprinteros")
    );

    let (status, catalog) = owner.get(&format!("/api/v1/orgs/{org}/permissions")).await;
    assert_eq!(status, StatusCode::OK);
    let domains: Vec<_> = catalog
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["key"].as_str().unwrap())
        .collect();
    assert_eq!(domains[..3], ["organization", "members", "ranks"]);
    let slicer = catalog
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["key"] == "slicer")
        .unwrap();
    let expert = slicer["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["key"] == "slicer.expert_tab")
        .unwrap();
    assert_eq!(expert["title"], "Slicer: expert tab");
    assert!(
        expert["description"]
            .as_str()
            .unwrap()
            .contains("Expert tab")
    );
    let gcode = catalog
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["permissions"].as_array().unwrap())
        .find(|p| p["key"] == "printer_control.send_gcode")
        .unwrap();
    assert_eq!(
        (
            gcode["dangerous"].as_bool(),
            gcode["printer_access"].as_str()
        ),
        (Some(true), Some("manage"))
    );
}

async fn site_scoped_managers_manage_only_their_sites(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Factories", "owner@f.test").await;
    let (north, south, _, _) = fleet(&owner, org).await;
    // A factory manager: manages members whose home site is in the rank's scope.
    let manager_rank = server.rank_id(&owner, org, "Manager").await;
    let (status, body) = owner
        .patch(
            &format!("/api/v1/orgs/{org}/ranks/{manager_rank}"),
            json!({ "scope": { "sites": [north] }, "member_scope": "scoped_sites" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (manager, _) = server
        .member(&owner, org, "Manager", "north-boss@f.test")
        .await;
    let (_, north_worker) = server.member(&owner, org, "Guest", "n@f.test").await;
    let (_, south_worker) = server.member(&owner, org, "Guest", "s@f.test").await;
    let members = format!("/api/v1/orgs/{org}/members");
    owner
        .patch(
            &format!("{members}/{north_worker}"),
            json!({ "site_id": north }),
        )
        .await;
    owner
        .patch(
            &format!("{members}/{south_worker}"),
            json!({ "site_id": south }),
        )
        .await;

    let (status, body) = manager
        .post_empty(&format!("{members}/{south_worker}/deactivate"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("sites your rank covers"),
        "{body}"
    );
    // Nor can they move their own people to another factory.
    let (status, _) = manager
        .patch(
            &format!("{members}/{north_worker}"),
            json!({ "site_id": south }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = manager
        .post_empty(&format!("{members}/{north_worker}/deactivate"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

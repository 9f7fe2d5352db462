//! The administration pages of the web interface: each renders for an owner, refuses whoever
//! lacks its permission by naming it, changes what it shows through its forms (audited like
//! the API), refuses forms without the session's token, and saves a rank only after its
//! what-if preview is confirmed.

use authz::Permission as P;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Client, PASSWORD, TestServer};
use crate::ui::{assert_page, browser, csrf_of, location, open, sign_in};

#[path = "../browser/pages_admin.rs"]
mod pages_admin;

crate::on_both_backends!(
    every_admin_page_renders_for_an_owner,
    a_member_without_the_permission_is_told_what_is_missing,
    forms_change_what_the_pages_show_and_are_audited,
    admin_forms_without_the_session_token_change_nothing,
    a_rank_is_saved_only_after_its_preview_is_confirmed,
    ranks_are_created_cloned_reordered_and_deleted_through_forms,
    a_member_is_allowed_or_denied_one_permission_alone,
    a_printer_model_s_estimator_settings_are_edited_on_its_page,
);

/// An organization with a site, a model and a printer, its owner signed in through the form,
/// and a member of the rank Member.
struct Farm {
    org: i64,
    owner: Client,
    page: reqwest::Client,
    member_id: i64,
    site: i64,
    model: i64,
    printer: i64,
    slicer_profile: i64,
}

async fn farm(server: &TestServer, name: &str, domain: &str) -> Farm {
    let owner_email = format!("owner@{domain}");
    let (org, owner) = server.org_with_owner(name, &owner_email).await;
    let (status, site) = owner
        .post(
            &format!("/api/v1/orgs/{org}/sites"),
            json!({ "name": "Workshop" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{site}");
    let (status, model) = owner
        .post(
            &format!("/api/v1/orgs/{org}/printer-models"),
            json!({ "name": "Mini", "build_volume_mm": [180, 180, 180] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{model}");
    let (status, printer) = owner
        .post(
            &format!("/api/v1/orgs/{org}/printers"),
            json!({ "name": "Mini 1", "site_id": site["id"], "model_id": model["id"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{printer}");
    let (status, profile) = owner
        .post(
            &format!("/api/v1/orgs/{org}/slicer/profiles"),
            json!({ "name": "Mini PLA", "printer_model_id": model["id"], "material": "PLA",
                    "settings": { "layer_height": 0.2, "fill_pattern": "gyroid" } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{profile}");
    let (_, member_id) = server
        .member(&owner, org, "Member", &format!("member@{domain}"))
        .await;
    let page = browser();
    sign_in(server, &page, &owner_email, PASSWORD).await;
    Farm {
        org,
        owner,
        page,
        member_id,
        site: site["id"].as_i64().unwrap(),
        model: model["id"].as_i64().unwrap(),
        printer: printer["id"].as_i64().unwrap(),
        slicer_profile: profile["id"].as_i64().unwrap(),
    }
}

/// A listed page's path for this farm.
fn fill(path: &str, farm: &Farm, rank: i64) -> String {
    path.replace("{org}", &farm.org.to_string())
        .replace("{member}", &farm.member_id.to_string())
        .replace("{rank}", &rank.to_string())
        .replace("{printer}", &farm.printer.to_string())
        .replace("{model}", &farm.model.to_string())
        .replace("{slicer_profile}", &farm.slicer_profile.to_string())
}

/// Posts a form with the page's CSRF token (taken from `token_page`).
async fn post_form<K: AsRef<str>>(
    server: &TestServer,
    client: &reqwest::Client,
    path: &str,
    token: &str,
    fields: &[(K, String)],
) -> reqwest::Response {
    let mut all: Vec<(&str, &str)> = vec![("csrf", token)];
    all.extend(fields.iter().map(|(k, v)| (k.as_ref(), v.as_str())));
    client
        .post(format!("{}{path}", server.base))
        .form(&all)
        .send()
        .await
        .unwrap()
}

/// Text as the templates write it into HTML.
pub(crate) fn escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Posts a form that changes something: the answer sends the browser on (303), to here.
async fn submitted<K: AsRef<str>>(
    server: &TestServer,
    client: &reqwest::Client,
    path: &str,
    token: &str,
    fields: &[(K, String)],
) -> String {
    let response = post_form(server, client, path, token, fields).await;
    let status = response.status();
    let to = location(&response);
    let body = response.text().await.unwrap();
    assert_eq!(status, StatusCode::SEE_OTHER, "{path}: {body}");
    to
}

async fn text_of(server: &TestServer, client: &reqwest::Client, path: &str) -> String {
    let response = open(server, client, path).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    assert_page(&response);
    response.text().await.unwrap()
}

/// The actions of the organization's audit log, newest first.
pub(crate) async fn audit_actions(owner: &Client, org: i64) -> Vec<String> {
    let (status, page) = owner.get(&format!("/api/v1/orgs/{org}/audit-events")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn every_admin_page_renders_for_an_owner(server: &TestServer) {
    let farm = farm(server, "Admin Lab", "admin.test").await;
    let rank = server.rank_id(&farm.owner, farm.org, "Member").await;
    let dashboard = text_of(server, &farm.page, &format!("/orgs/{}", farm.org)).await;
    assert!(
        dashboard.contains(&format!("href=\"/orgs/{}/manage\"", farm.org)),
        "the owner's navigation offers Manage:\n{dashboard}"
    );
    let hub = text_of(server, &farm.page, &format!("/orgs/{}/manage", farm.org)).await;
    for (name, path) in pages_admin::PAGES {
        let path = fill(path, &farm, rank);
        let html = text_of(server, &farm.page, &path).await;
        assert!(html.contains("<h1>"), "{name} {path}:\n{html}");
        let listed = path.matches('/').count() == 4 && *name != "manage";
        if listed {
            assert!(
                hub.contains(&format!("href=\"{path}\"")),
                "the hub links {path}"
            );
        }
    }
    let matrix = text_of(
        server,
        &farm.page,
        &format!("/orgs/{}/manage/ranks", farm.org),
    )
    .await;
    // Every permission of the catalog is a row, with its title and description.
    for permission in P::ALL {
        assert!(
            matrix.contains(&format!("name=\"perm.{}\"", permission.key())),
            "{}",
            permission.key()
        );
    }
    assert!(matrix.contains("⚠ dangerous"));
    assert!(matrix.contains(&escaped(P::RanksManage.description())));
    let rank_page = text_of(
        server,
        &farm.page,
        &format!("/orgs/{}/manage/ranks/{rank}", farm.org),
    )
    .await;
    assert!(
        rank_page.contains(&format!(
            "/manage/members/{}\">member@admin.test",
            farm.member_id
        )),
        "the rank's page names who holds it:\n{rank_page}"
    );
    let member_page = text_of(
        server,
        &farm.page,
        &format!("/orgs/{}/manage/members/{}", farm.org, farm.member_id),
    )
    .await;
    assert!(member_page.contains("member@admin.test"), "{member_page}");
    let printer = text_of(
        server,
        &farm.page,
        &format!("/orgs/{}/manage/printers/{}", farm.org, farm.printer),
    )
    .await;
    assert!(
        printer.contains("Mini 1") && printer.contains("Workshop"),
        "{printer}"
    );
    // Another organization's pages and made-up ids are "not found".
    let (other, _) = server
        .org_with_owner("Other Lab", "owner@other-admin.test")
        .await;
    for path in [
        format!("/orgs/{other}/manage/ranks"),
        format!("/orgs/{}/manage/ranks/999999", farm.org),
        format!("/orgs/{}/manage/members/abc", farm.org),
        format!("/orgs/{}/manage/printers/999999", farm.org),
    ] {
        let response = open(server, &farm.page, &path).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
}

async fn a_member_without_the_permission_is_told_what_is_missing(server: &TestServer) {
    let farm = farm(server, "Denied Lab", "denied.test").await;
    let member = browser();
    sign_in(server, &member, "member@denied.test", PASSWORD).await;
    let org = farm.org;
    let dashboard = text_of(server, &member, &format!("/orgs/{org}")).await;
    assert!(
        !dashboard.contains(&format!("/orgs/{org}/manage")),
        "a member who administers nothing is not offered Manage:\n{dashboard}"
    );
    for (path, permission) in [
        (format!("/orgs/{org}/manage/ranks"), P::RanksView),
        (format!("/orgs/{org}/manage/members"), P::MembersView),
        (format!("/orgs/{org}/manage/quotas"), P::QuotasViewAll),
        (format!("/orgs/{org}/manage/printer-access"), P::RanksView),
    ] {
        let response = open(server, &member, &path).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
        assert_page(&response);
        let html = response.text().await.unwrap();
        assert!(html.contains(permission.key()), "{path}:\n{html}");
        assert!(
            html.contains(&escaped(permission.title())),
            "{path}:\n{html}"
        );
        assert!(html.contains("Owner"), "names who can grant it: {html}");
    }
    // A crafted form with a valid token is refused just the same, and changes nothing.
    let token = csrf_of(&dashboard);
    let response = post_form(
        server,
        &member,
        &format!("/orgs/{org}/manage/workgroups"),
        &token,
        &[("name", "Sneaky".to_string())],
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let html = response.text().await.unwrap();
    assert!(html.contains(P::WorkgroupsManage.key()), "{html}");
    let (_, groups) = farm
        .owner
        .get(&format!("/api/v1/orgs/{org}/workgroups"))
        .await;
    assert_eq!(groups, json!([]));
}

async fn forms_change_what_the_pages_show_and_are_audited(server: &TestServer) {
    let farm = farm(server, "Forms Lab", "forms.test").await;
    let org = farm.org;
    let page = &farm.page;
    let hub = text_of(server, page, &format!("/orgs/{org}/manage")).await;
    let token = csrf_of(&hub);
    let post = |path: String, fields: Vec<(&'static str, String)>| {
        let token = token.clone();
        async move { submitted(server, page, &path, &token, &fields).await }
    };

    // Workgroups: create, add the member as moderator.
    post(
        format!("/orgs/{org}/manage/workgroups"),
        vec![
            ("name", "Robotics club".into()),
            ("description", "Fridays".into()),
        ],
    )
    .await;
    let (_, groups) = farm
        .owner
        .get(&format!("/api/v1/orgs/{org}/workgroups"))
        .await;
    let group = groups[0]["id"].as_i64().unwrap();
    post(
        format!("/orgs/{org}/manage/workgroups/{group}/members"),
        vec![
            ("member_id", farm.member_id.to_string()),
            ("moderator", "on".into()),
        ],
    )
    .await;
    let groups_page = text_of(server, page, &format!("/orgs/{org}/manage/workgroups")).await;
    assert!(groups_page.contains("Robotics club"), "{groups_page}");
    assert!(groups_page.contains("(moderator)"), "{groups_page}");

    // Invitations: create (the link is shown once), then revoke.
    let guest = server.rank_id(&farm.owner, org, "Guest").await;
    let invited = post_form(
        server,
        page,
        &format!("/orgs/{org}/manage/invitations"),
        &token,
        &[
            ("email", "new@forms.test".into()),
            ("rank_id", guest.to_string()),
        ],
    )
    .await;
    assert_eq!(invited.status(), StatusCode::OK);
    let html = invited.text().await.unwrap();
    assert!(html.contains("/invitations/"), "{html}");
    assert!(html.contains("new@forms.test"), "{html}");
    let (_, invitations) = farm
        .owner
        .get(&format!("/api/v1/orgs/{org}/invitations"))
        .await;
    let invitation = invitations
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["email"] == "new@forms.test")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    post(
        format!("/orgs/{org}/manage/invitations/{invitation}/revoke"),
        vec![],
    )
    .await;
    let members = text_of(server, page, &format!("/orgs/{org}/manage/members")).await;
    assert!(members.contains("Revoked"), "{members}");

    // The member: to Guest, then deactivated.
    post(
        format!("/orgs/{org}/manage/members/{}", farm.member_id),
        vec![
            ("rank_id", guest.to_string()),
            ("site_id", farm.site.to_string()),
        ],
    )
    .await;
    post(
        format!("/orgs/{org}/manage/members/{}/deactivate", farm.member_id),
        vec![],
    )
    .await;
    let member = text_of(
        server,
        page,
        &format!("/orgs/{org}/manage/members/{}", farm.member_id),
    )
    .await;
    assert!(member.contains("<dd>Guest</dd>"), "{member}");
    assert!(member.contains("Deactivated"), "{member}");
    // Reactivated through its own form, then deactivated again for what follows.
    let member_page = format!("/orgs/{org}/manage/members/{}", farm.member_id);
    post(format!("{member_page}/reactivate"), vec![]).await;
    let member = text_of(server, page, &member_page).await;
    assert!(member.contains("Active since"), "{member}");
    post(format!("{member_page}/deactivate"), vec![]).await;
    let member = text_of(server, page, &member_page).await;
    assert!(member.contains("Deactivated"), "{member}");

    // Settings, approval, billing, a question.
    post(
        format!("/orgs/{org}/manage/settings/organization"),
        vec![
            ("name", "Forms Lab Renamed".into()),
            ("time_zone", "Europe/Berlin".into()),
            ("currency", "EUR".into()),
            ("bed_clear_access", "any_access".into()),
            ("fair_share_window_days", "14".into()),
        ],
    )
    .await;
    post(
        format!("/orgs/{org}/manage/settings/approval"),
        vec![("approval_required", "on".into())],
    )
    .await;
    post(
        format!("/orgs/{org}/manage/settings/billing"),
        vec![
            ("hold_at", "approval".into()),
            ("failed_print_charge", "progress".into()),
            ("balance_floor", "-20.00".into()),
        ],
    )
    .await;
    post(
        format!("/orgs/{org}/manage/questions"),
        vec![
            ("label", "Which course?".into()),
            ("kind", "choice".into()),
            ("required", "on".into()),
            ("choices", "Design 101\nRobotics".into()),
        ],
    )
    .await;
    let settings = text_of(server, page, &format!("/orgs/{org}/manage/settings")).await;
    for shown in [
        "Forms Lab Renamed",
        "Europe/Berlin",
        "-20.00",
        "Which course?",
        "Design 101",
    ] {
        assert!(settings.contains(shown), "{shown}:\n{settings}");
    }
    let (_, organization) = farm.owner.get(&format!("/api/v1/orgs/{org}")).await;
    assert_eq!(organization["approval_required"], true, "{organization}");

    // Quotas, a custom period, a price.
    post(
        format!("/orgs/{org}/manage/quotas"),
        vec![
            ("level", "organization".into()),
            ("op", "set".into()),
            ("kind", "prints".into()),
            ("period", "week".into()),
            ("limit", "7".into()),
        ],
    )
    .await;
    post(
        format!("/orgs/{org}/manage/quota-periods"),
        vec![
            ("name", "Autumn term".into()),
            ("starts_on", "2026-09-01".into()),
            ("ends_on", "2026-12-20".into()),
        ],
    )
    .await;
    post(
        format!("/orgs/{org}/manage/prices"),
        vec![
            ("op", "set".into()),
            ("model_id", farm.model.to_string()),
            ("material", "PLA".into()),
            ("per_gram", "0.05".into()),
            ("per_hour", "1.50".into()),
            ("flat_fee", "".into()),
        ],
    )
    .await;
    let quotas = text_of(server, page, &format!("/orgs/{org}/manage/quotas")).await;
    for shown in ["per week", "<td>7</td>", "Autumn term", "PLA", "1.50"] {
        assert!(quotas.contains(shown), "{shown}:\n{quotas}");
    }

    // The fleet: a site, a group, a model, a printer, a grant.
    post(
        format!("/orgs/{org}/manage/sites"),
        vec![
            ("name", "Annex".into()),
            ("time_zone", "".into()),
            ("staffed", "Mon, Tue 08:00-17:00\nsat 10:00-12:00".into()),
            ("grace_minutes", "30".into()),
        ],
    )
    .await;
    post(
        format!("/orgs/{org}/manage/printer-groups"),
        vec![("name", "Big ones".into())],
    )
    .await;
    let to = post(
        format!("/orgs/{org}/manage/printer-models"),
        vec![
            ("name", "Giant".into()),
            ("x", "500".into()),
            ("y", "500".into()),
            ("z", "600".into()),
            ("materials", "PLA, PETG".into()),
        ],
    )
    .await;
    assert!(to.contains("/manage/printer-models/"), "{to}");
    let to = post(
        format!("/orgs/{org}/manage/printers"),
        vec![
            ("name", "Giant 1".into()),
            ("site_id", farm.site.to_string()),
            ("driver", "simulated".into()),
            ("url", "".into()),
        ],
    )
    .await;
    assert!(to.contains("/manage/printers/"), "{to}");
    let operator = server.rank_id(&farm.owner, org, "Operator").await;
    post(
        format!("/orgs/{org}/manage/printer-access"),
        vec![
            ("subject", format!("rank:{operator}")),
            ("target", format!("site:{}", farm.site)),
            ("level", "manage".into()),
        ],
    )
    .await;
    let sites = text_of(server, page, &format!("/orgs/{org}/manage/sites")).await;
    assert!(sites.contains("Annex"), "{sites}");
    assert!(
        sites.contains("Mon, Tue 08:00-17:00\nSat 10:00-12:00"),
        "{sites}"
    );
    let models = text_of(server, page, &format!("/orgs/{org}/manage/printer-models")).await;
    assert!(
        models.contains("Giant") && models.contains("Big ones"),
        "{models}"
    );
    let printers = text_of(server, page, &format!("/orgs/{org}/manage/printers")).await;
    assert!(printers.contains("Giant 1"), "{printers}");
    let grants = text_of(server, page, &format!("/orgs/{org}/manage/printer-access")).await;
    assert!(
        grants.contains("Rank Operator") && grants.contains("Site Workshop"),
        "{grants}"
    );

    // A refusal of the app is shown in the page, with its message.
    let refused = post_form(
        server,
        page,
        &format!("/orgs/{org}/manage/sites"),
        &token,
        &[("name", "Annex".into())],
    )
    .await;
    assert!(refused.status().is_client_error(), "{}", refused.status());
    assert_page(&refused);
    let html = refused.text().await.unwrap();
    assert!(html.contains("That did not work"), "{html}");

    let actions = audit_actions(&farm.owner, farm.org).await;
    for action in [
        "workgroup.create",
        "invitation.revoke",
        "member.deactivate",
        "site.create",
        "printer.create",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in the audit log: {actions:?}"
        );
    }
}

async fn admin_forms_without_the_session_token_change_nothing(server: &TestServer) {
    let farm = farm(server, "Token Admin Lab", "token-admin.test").await;
    let org = farm.org;
    let member = server.rank_id(&farm.owner, org, "Member").await;
    for (path, fields) in [
        (
            format!("/orgs/{org}/manage/workgroups"),
            vec![("name", "No token")],
        ),
        (
            format!("/orgs/{org}/manage/sites"),
            vec![("name", "No token")],
        ),
        (
            format!("/orgs/{org}/manage/ranks/{member}"),
            vec![("permissions", "1"), ("perm.ranks.manage", "yes")],
        ),
        (
            format!("/orgs/{org}/manage/members/{}/deactivate", farm.member_id),
            vec![],
        ),
        (
            format!("/orgs/{org}/manage/settings/approval"),
            vec![("approval_required", "on")],
        ),
    ] {
        let response = farm
            .page
            .post(format!("{}{path}", server.base))
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("This form has expired"),
            "{path}"
        );
    }
    let (_, groups) = farm
        .owner
        .get(&format!("/api/v1/orgs/{org}/workgroups"))
        .await;
    assert_eq!(groups, json!([]));
    let (_, sites) = farm.owner.get(&format!("/api/v1/orgs/{org}/sites")).await;
    assert_eq!(sites.as_array().unwrap().len(), 1, "{sites}");
    let rank = server.rank(&farm.owner, org, "Member").await;
    assert!(
        !rank["permissions"]
            .as_array()
            .unwrap()
            .contains(&json!("ranks.manage"))
    );
    let (_, this) = farm
        .owner
        .get(&format!("/api/v1/orgs/{org}/members/{}", farm.member_id))
        .await;
    assert_eq!(this["active"], true);
    let (_, organization) = farm.owner.get(&format!("/api/v1/orgs/{org}")).await;
    assert_eq!(organization["approval_required"], false);
}

/// The matrix column of `rank` as the form sends it, with `changes` applied.
fn matrix_fields(rank: &Value, changes: &[(P, &str)]) -> Vec<(String, String)> {
    let has = |field: &str, key: &str| {
        rank[field]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k.as_str() == Some(key))
    };
    let mut fields = vec![("permissions".to_string(), "1".to_string())];
    for permission in P::ALL {
        let key = permission.key();
        let holding = match changes.iter().find(|(p, _)| *p == permission) {
            Some((_, holding)) => holding.to_string(),
            None => match (has("permissions", key), has("tri_state", key)) {
                (false, false) => "no".into(),
                (true, false) => "yes".into(),
                (false, true) => "allowable".into(),
                (true, true) => "deniable".into(),
            },
        };
        fields.push((format!("perm.{key}"), holding));
    }
    fields
}

async fn a_rank_is_saved_only_after_its_preview_is_confirmed(server: &TestServer) {
    let farm = farm(server, "Preview Lab", "preview.test").await;
    let org = farm.org;
    let rank = server.rank(&farm.owner, org, "Member").await;
    let rank_id = rank["id"].as_i64().unwrap();
    let matrix = text_of(server, &farm.page, &format!("/orgs/{org}/manage/ranks")).await;
    let token = csrf_of(&matrix);
    let fields = matrix_fields(&rank, &[(P::ApprovalReview, "yes"), (P::QueueSubmit, "no")]);
    let preview = post_form(
        server,
        &farm.page,
        &format!("/orgs/{org}/manage/ranks/{rank_id}/preview"),
        &token,
        &fields,
    )
    .await;
    assert_eq!(preview.status(), StatusCode::OK);
    assert_page(&preview);
    let html = preview.text().await.unwrap();
    assert!(html.contains("Nothing is saved yet"), "{html}");
    assert!(
        html.contains("member@preview.test"),
        "the member who changes: {html}"
    );
    let gains = html.find("Gains:").expect("gains");
    let loses = html.find("Loses:").expect("losses");
    assert!(
        html[gains..].contains(&escaped(P::ApprovalReview.title())),
        "{html}"
    );
    assert!(
        html[loses..].contains(&escaped(P::QueueSubmit.title())),
        "{html}"
    );
    assert!(html.contains("id=\"confirm-rank\""), "{html}");
    // Nothing saved yet.
    let unchanged = server.rank(&farm.owner, org, "Member").await;
    assert_eq!(unchanged["permissions"], rank["permissions"]);

    // The confirm form carries exactly the previewed change.
    let confirm_at = html.find("id=\"confirm-rank\"").unwrap();
    let form_start = html[..confirm_at].rfind("<form").unwrap();
    let carried: Vec<(String, String)> = html[form_start..confirm_at]
        .split("<input type=\"hidden\" name=\"")
        .skip(1)
        .map(|part| {
            let (name, rest) = part.split_once('"').unwrap();
            let value = rest
                .split("value=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            (name.to_string(), value.to_string())
        })
        .collect();
    assert!(
        carried
            .iter()
            .any(|(n, v)| n == "perm.approval.review" && v == "yes")
    );
    let saved = farm
        .page
        .post(format!("{}/orgs/{org}/manage/ranks/{rank_id}", server.base))
        .form(&carried)
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let after = server.rank(&farm.owner, org, "Member").await;
    let keys = after["permissions"].as_array().unwrap();
    assert!(keys.contains(&json!("approval.review")), "{after}");
    assert!(!keys.contains(&json!("queue.submit")), "{after}");
    assert!(
        audit_actions(&farm.owner, farm.org)
            .await
            .iter()
            .any(|a| a == "rank.update")
    );

    // Nobody raises their own rights: an admin previewing their own rank is told why not,
    // and a crafted save is refused in the page.
    server
        .member(&farm.owner, org, "Admin", "admin@preview.test")
        .await;
    let admin = browser();
    sign_in(server, &admin, "admin@preview.test", PASSWORD).await;
    let admin_rank = server.rank(&farm.owner, org, "Admin").await;
    let admin_id = admin_rank["id"].as_i64().unwrap();
    let admin_matrix = text_of(server, &admin, &format!("/orgs/{org}/manage/ranks")).await;
    assert!(
        !admin_matrix.contains(&format!("id=\"rank-{admin_id}\"")),
        "no form to edit one's own rank"
    );
    let token = csrf_of(&admin_matrix);
    let fields = matrix_fields(
        &admin_rank,
        &[(P::AuditExport, "yes"), (P::RanksManage, "yes")],
    );
    let preview = post_form(
        server,
        &admin,
        &format!("/orgs/{org}/manage/ranks/{admin_id}/preview"),
        &token,
        &fields,
    )
    .await;
    assert_eq!(preview.status(), StatusCode::OK);
    let html = preview.text().await.unwrap();
    assert!(html.contains("You cannot save this change"), "{html}");
    assert!(!html.contains("id=\"confirm-rank\""), "{html}");
    let crafted = post_form(
        server,
        &admin,
        &format!("/orgs/{org}/manage/ranks/{admin_id}"),
        &token,
        &fields,
    )
    .await;
    assert!(crafted.status().is_client_error(), "{}", crafted.status());
    assert_page(&crafted);
    let html = crafted.text().await.unwrap();
    assert!(
        html.contains("Manage"),
        "the refusal keeps the page's frame: {html}"
    );
    assert_eq!(server.rank(&farm.owner, org, "Admin").await, admin_rank);
}

async fn ranks_are_created_cloned_reordered_and_deleted_through_forms(server: &TestServer) {
    let farm = farm(server, "Rank Forms Lab", "rank-forms.test").await;
    let org = farm.org;
    let matrix = text_of(server, &farm.page, &format!("/orgs/{org}/manage/ranks")).await;
    let token = csrf_of(&matrix);
    let submit = |path: String, fields: Vec<(&'static str, String)>| {
        let token = token.clone();
        let page = farm.page.clone();
        async move { submitted(server, &page, &path, &token, &fields).await }
    };
    let to = submit(
        format!("/orgs/{org}/manage/ranks"),
        vec![
            ("name", "Lab assistant".into()),
            ("description", "Helps on Fridays".into()),
        ],
    )
    .await;
    assert!(to.contains("/manage/ranks/"), "{to}");
    let assistant = server.rank_id(&farm.owner, org, "Lab assistant").await;
    let page = text_of(
        server,
        &farm.page,
        &format!("/orgs/{org}/manage/ranks/{assistant}"),
    )
    .await;
    assert!(
        page.contains("Helps on Fridays") && page.contains("Printer scope"),
        "{page}"
    );

    // The rank page's own form: its scope, through the preview.
    let fields: Vec<(String, String)> = vec![
        ("scope".into(), "1".into()),
        ("scope_site".into(), farm.site.to_string()),
        ("out_of_scope".into(), "visible_locked".into()),
    ];
    let preview = post_form(
        server,
        &farm.page,
        &format!("/orgs/{org}/manage/ranks/{assistant}/preview"),
        &token,
        &fields,
    )
    .await;
    let html = preview.text().await.unwrap();
    assert!(
        html.contains("printer scope or member scope changes"),
        "{html}"
    );
    let saved = post_form(
        server,
        &farm.page,
        &format!("/orgs/{org}/manage/ranks/{assistant}"),
        &token,
        &fields,
    )
    .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let rank = server.rank(&farm.owner, org, "Lab assistant").await;
    assert_eq!(rank["scope"]["all"], false, "{rank}");
    assert_eq!(rank["scope"]["sites"], json!([farm.site]), "{rank}");
    assert_eq!(rank["out_of_scope"], "visible_locked", "{rank}");

    submit(
        format!("/orgs/{org}/manage/ranks/{assistant}/clone"),
        vec![("name", "Senior assistant".into())],
    )
    .await;
    let senior = server.rank_id(&farm.owner, org, "Senior assistant").await;
    submit(
        format!("/orgs/{org}/manage/rank-presets"),
        vec![("preset", "simplyprint_templates".into())],
    )
    .await;
    let (_, ranks) = farm.owner.get(&format!("/api/v1/orgs/{org}/ranks")).await;
    let names: Vec<&str> = ranks
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(
        names.len() >= 11,
        "the preset's ranks were added: {names:?}"
    );

    // Seniority: the clone first among the ranks the page offers to move.
    let matrix = text_of(server, &farm.page, &format!("/orgs/{org}/manage/ranks")).await;
    let order: Vec<(String, String)> = matrix
        .split("name=\"order.")
        .skip(1)
        .enumerate()
        .map(|(index, part)| {
            let id: i64 = part.split('"').next().unwrap().parse().unwrap();
            let place = if id == senior { 0 } else { index + 1 };
            (format!("order.{id}"), place.to_string())
        })
        .collect();
    assert!(order.len() >= 10, "{order:?}");
    let reordered = post_form(
        server,
        &farm.page,
        &format!("/orgs/{org}/manage/rank-order"),
        &token,
        &order,
    )
    .await;
    assert_eq!(
        reordered.status(),
        StatusCode::SEE_OTHER,
        "{}",
        reordered.text().await.unwrap()
    );
    let (_, ranks) = farm.owner.get(&format!("/api/v1/orgs/{org}/ranks")).await;
    // The owner rank stands above every other whatever its position.
    let first = ranks
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["is_owner"] == false)
        .unwrap();
    assert_eq!(first["name"], "Senior assistant", "{ranks}");

    submit(format!("/orgs/{org}/manage/ranks/{senior}/delete"), vec![]).await;
    let (_, ranks) = farm.owner.get(&format!("/api/v1/orgs/{org}/ranks")).await;
    assert!(
        !ranks
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "Senior assistant")
    );
    // A rank still held is refused with the app's reason, in the page.
    let member = server.rank_id(&farm.owner, org, "Member").await;
    let refused = post_form::<&str>(
        server,
        &farm.page,
        &format!("/orgs/{org}/manage/ranks/{member}/delete"),
        &token,
        &[],
    )
    .await;
    assert!(refused.status().is_client_error(), "{}", refused.status());
    assert!(refused.text().await.unwrap().contains("That did not work"));
    let actions = audit_actions(&farm.owner, farm.org).await;
    for action in [
        "rank.create",
        "rank.clone",
        "rank.import_preset",
        "rank.reorder",
        "rank.delete",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }
}

async fn a_member_is_allowed_or_denied_one_permission_alone(server: &TestServer) {
    let farm = farm(server, "Override Lab", "override.test").await;
    let org = farm.org;
    let member_rank = server.rank_id(&farm.owner, org, "Member").await;
    let (status, rank) = farm
        .owner
        .patch(
            &format!("/api/v1/orgs/{org}/ranks/{member_rank}"),
            json!({ "tri_state": ["approval.skip", "queue.submit"] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rank}");
    let path = format!("/orgs/{org}/manage/members/{}", farm.member_id);
    let page = text_of(server, &farm.page, &path).await;
    assert!(page.contains(&escaped(P::ApprovalSkip.title())), "{page}");
    assert!(page.contains("As the rank says (denied)"), "{page}");
    let token = csrf_of(&page);
    for (permission, effect) in [("approval.skip", "allow"), ("queue.submit", "deny")] {
        let response = post_form(
            server,
            &farm.page,
            &format!("{path}/overrides"),
            &token,
            &[
                ("permission", permission.to_string()),
                ("effect", effect.to_string()),
            ],
        )
        .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{permission}");
    }
    let page = text_of(server, &farm.page, &path).await;
    assert!(page.contains("<option value=\"allow\" selected>"), "{page}");
    assert!(page.contains("<option value=\"deny\" selected>"), "{page}");
    let (_, rights) = farm
        .owner
        .get(&format!(
            "/api/v1/orgs/{org}/members/{}/rights",
            farm.member_id
        ))
        .await;
    assert_eq!(rights["denied"], json!(["queue.submit"]), "{rights}");
    // Back to the rank's default.
    let response = post_form(
        server,
        &farm.page,
        &format!("{path}/overrides"),
        &token,
        &[
            ("permission", "queue.submit".to_string()),
            ("effect", "inherit".to_string()),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, rights) = farm
        .owner
        .get(&format!(
            "/api/v1/orgs/{org}/members/{}/rights",
            farm.member_id
        ))
        .await;
    assert_eq!(rights["denied"], json!([]), "{rights}");
    assert!(
        audit_actions(&farm.owner, farm.org)
            .await
            .iter()
            .any(|a| a == "member.override")
    );
}

/// The model's estimator settings as the API shows them.
async fn motion_of(farm: &Farm) -> Value {
    let (status, models) = farm
        .owner
        .get(&format!("/api/v1/orgs/{}/printer-models", farm.org))
        .await;
    assert_eq!(status, StatusCode::OK, "{models}");
    let model = models
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == farm.model);
    model.unwrap()["motion"].clone()
}

async fn a_printer_model_s_estimator_settings_are_edited_on_its_page(server: &TestServer) {
    let farm = farm(server, "Motion Lab", "motion.test").await;
    let (org, page) = (farm.org, &farm.page);
    // Set through the API: one shown on the page, one the page does not show.
    let (status, body) = farm
        .owner
        .put(
            &format!("/api/v1/orgs/{org}/printer-models/{}", farm.model),
            json!({ "name": "Mini", "build_volume_mm": [180, 180, 180],
                    "motion": { "print_acceleration": 900, "lookahead": 32 } }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let path = format!("/orgs/{org}/manage/printer-models/{}", farm.model);
    let html = text_of(server, page, &path).await;
    assert!(!html.contains("edited through the API"), "{html}");
    // The stored value in its field, the default it falls back to as the placeholder.
    assert!(
        html.contains(r#"id="motion-print_acceleration" name="motion.print_acceleration" value="900" placeholder="1250""#),
        "{html}"
    );
    assert!(
        html.contains(r#"name="motion.klipper.max_accel" value="" placeholder="3000""#),
        "{html}"
    );
    let csrf = csrf_of(&html);
    let base = |motion: &[(&str, &str)]| {
        let mut fields: Vec<(String, String)> = [
            ("name", "Mini"),
            ("x", "180"),
            ("y", "180"),
            ("z", "180"),
            ("nozzle", "0.4"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        fields.extend(motion.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        fields
    };

    // Bad values: the form again (422), each problem next to its field, nothing saved.
    let bad = base(&[
        ("motion.print_acceleration", "0"),
        ("motion.max_jerk.Z", "fast"),
        ("motion.klipper.minimum_cruise_ratio", "1.5"),
        ("motion.travel_acceleration", "2000"),
    ]);
    let response = post_form(server, page, &path, &csrf, &bad).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    for (id, said) in [
        ("motion-print_acceleration", "Must be a number above 0"),
        ("motion-max_jerk-Z", "Must be a number such as"),
        ("motion-klipper-minimum_cruise_ratio", "Must be"),
    ] {
        assert!(
            html.contains(&format!(r#"aria-describedby="{id}-problem""#)),
            "{id}: {html}"
        );
        let problem = format!(r#"<p class="problem" id="{id}-problem">{said}"#);
        assert!(html.contains(&problem), "{problem}: {html}");
    }
    assert!(
        !html.contains("motion-travel_acceleration-problem"),
        "{html}"
    );
    assert!(
        html.contains(r#"name="motion.travel_acceleration" value="2000""#),
        "what was typed stays: {html}"
    );
    assert_eq!(
        motion_of(&farm).await,
        json!({ "print_acceleration": 900, "lookahead": 32 })
    );

    // Good values are saved through the same use case as the API, and audited.
    let good = base(&[
        ("motion.firmware", "klipper"),
        ("motion.print_acceleration", ""),
        ("motion.klipper.max_accel", "5000"),
        ("motion.max_feedrate.Y", "250"),
    ]);
    let to = submitted(server, page, &path, &csrf, &good).await;
    assert!(to.ends_with("?done=saved"), "{to}");
    assert_eq!(
        motion_of(&farm).await,
        json!({
            "firmware": "klipper",
            "klipper": { "max_accel": 5000.0 },
            "max_feedrate": [200.0, 250.0, 12.0, 120.0],
            "lookahead": 32,
        })
    );
    assert!(
        audit_actions(&farm.owner, farm.org)
            .await
            .contains(&"printer_model.update".to_string())
    );
    let html = text_of(server, page, &path).await;
    assert!(
        html.contains(r#"<option value="klipper" selected>"#),
        "{html}"
    );
}

//! The slicing administration pages and the profile picker over plain HTTP: slicing profiles
//! created, edited and deleted through their form (a bad value refused next to its field, in
//! the app's words), setting locks set and removed through their page (and binding a member's
//! slice in between), both pages refused to whoever lacks their permission, and the slice
//! form's profile picker offered only with `slicer.change_profile`.

use authz::Permission as P;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Client, PASSWORD, TestServer};
use crate::ui::{assert_page, browser, csrf_of, location, open, sign_in};
use crate::ui_admin::{audit_actions, escaped};
use crate::ui_work::{page, post_form, upload_cube_model};

crate::on_both_backends!(
    profiles_are_created_edited_and_deleted_through_their_form,
    the_slicer_pages_refuse_whoever_lacks_their_permission,
    a_lock_set_on_its_page_binds_a_members_slice_until_removed,
    the_profile_picker_is_offered_with_change_profile_only,
);

/// An organization with a 200 mm printer model (one printer of it, in maintenance), a Member,
/// and its owner signed in through the form.
struct Lab {
    org: i64,
    owner: Client,
    page: reqwest::Client,
    model: i64,
}

async fn lab(server: &TestServer, name: &str, domain: &str) -> Lab {
    let owner_email = format!("owner@{domain}");
    let (org, owner) = server.org_with_owner(name, &owner_email).await;
    let model = server
        .workshop_in_maintenance(
            &owner,
            org,
            json!({ "name": "Cube 200", "build_volume_mm": [200, 200, 200],
                    "nozzle_diameter_mm": 0.4, "materials": ["PLA"] }),
            "Cube 1",
        )
        .await;
    server
        .member(&owner, org, "Member", &format!("member@{domain}"))
        .await;
    let page = browser();
    sign_in(server, &page, &owner_email, PASSWORD).await;
    Lab {
        org,
        owner,
        page,
        model,
    }
}

/// Someone of `rank` signed in through the form.
async fn signed_in(server: &TestServer, lab: &Lab, rank: &str, email: &str) -> reqwest::Client {
    server.member(&lab.owner, lab.org, rank, email).await;
    let client = browser();
    sign_in(server, &client, email, PASSWORD).await;
    client
}

/// Posts a form that must be accepted (303): where it sends the browser.
async fn accepted(
    server: &TestServer,
    client: &reqwest::Client,
    path: &str,
    token: &str,
    fields: &[(&str, &str)],
) -> String {
    let response = post_form(server, client, path, token, fields).await;
    let status = response.status();
    let to = location(&response);
    let body = response.text().await.unwrap();
    assert_eq!(status, StatusCode::SEE_OTHER, "{path}: {body}");
    to
}

/// Posts a form that must be refused with `status`: the page it answers with.
async fn refused(
    server: &TestServer,
    client: &reqwest::Client,
    path: &str,
    token: &str,
    fields: &[(&str, &str)],
    status: StatusCode,
) -> String {
    let response = post_form(server, client, path, token, fields).await;
    assert_eq!(response.status(), status, "{path}");
    assert_page(&response);
    response.text().await.unwrap()
}

/// The refusal shown next to a field (by the id the form gives it).
fn problem_at<'a>(html: &'a str, id: &str) -> &'a str {
    html.split(&format!("id=\"{id}\">"))
        .nth(1)
        .and_then(|after| after.split("</p>").next())
        .unwrap_or_else(|| panic!("no refusal at {id}: {html}"))
}

/// The calibration cube uploaded through the library's form: its ID.
async fn upload_model(client: &reqwest::Client, server: &TestServer, org: i64) -> i64 {
    let file_path = upload_cube_model(server, client, org).await;
    file_path.rsplit('/').next().unwrap().parse().unwrap()
}

async fn profiles_are_created_edited_and_deleted_through_their_form(server: &TestServer) {
    let lab = lab(server, "Profile Lab", "profiles.test").await;
    let (org, model) = (lab.org, lab.model);
    let base = format!("/orgs/{org}/manage/slicer-profiles");
    let api = format!("/api/v1/orgs/{org}/slicer/profiles");
    let hub = page(server, &lab.page, &format!("/orgs/{org}/manage")).await;
    assert!(hub.contains(&format!("href=\"{base}\"")), "{hub}");
    assert!(
        hub.contains(&format!("href=\"/orgs/{org}/manage/slicer-locks\"")),
        "{hub}"
    );
    let list = page(server, &lab.page, &base).await;
    assert!(list.contains("Cube 200"), "{list}");
    assert!(list.contains("No profile"), "{list}");

    // Every setting of the table has its input, with its bounds, grouped by tier.
    let form = page(server, &lab.page, &format!("{base}/new")).await;
    let token = csrf_of(&form);
    for tier in ["Basic settings", "Advanced settings", "Expert settings"] {
        assert!(form.contains(tier), "{tier}: {form}");
    }
    for setting in app::slicing::SETTINGS {
        assert!(
            form.contains(&format!("name=\"s.{}\"", setting.key)),
            "{}",
            setting.key
        );
    }
    assert!(
        form.contains("name=\"s.layer_height\" type=\"number\" min=\"0.05\" max=\"0.6\""),
        "{form}"
    );
    assert!(form.contains("<option value=\"gyroid\">"), "{form}");
    assert!(!form.contains("<textarea"), "{form}");

    let created = accepted(
        server,
        &lab.page,
        &base,
        &token,
        &[
            ("name", "PLA fine"),
            ("printer_model", &model.to_string()),
            ("material", "PLA"),
            ("s.layer_height", "0.15"),
            ("s.fill_density", "15"),
            ("s.support_material", "1"),
            ("s.fill_pattern", "gyroid"),
            ("s.perimeters", ""),
            ("lock.fill_density", "1"),
        ],
    )
    .await;
    assert!(
        created.starts_with(&format!("{base}/")) && created.ends_with("?done=created"),
        "{created}"
    );
    let path = created.split('?').next().unwrap().to_string();
    let id: i64 = path.rsplit('/').next().unwrap().parse().unwrap();
    let (status, profile) = lab.owner.get(&format!("{api}/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{profile}");
    assert_eq!(
        profile["settings"],
        json!({ "layer_height": "0.15", "fill_density": "15%", "support_material": "1",
                "fill_pattern": "gyroid" })
    );
    assert_eq!(profile["locked"], json!(["fill_density"]));
    assert_eq!(profile["material"], "PLA");
    assert_eq!(profile["printer_model_id"], model);

    let shown = page(server, &lab.page, &created).await;
    assert!(
        shown.contains("The slicing profile was created."),
        "{shown}"
    );
    assert!(shown.contains("value=\"0.15\""), "{shown}");
    assert!(
        shown.contains("<option value=\"gyroid\" selected>"),
        "{shown}"
    );
    assert!(
        shown.contains("name=\"lock.fill_density\" value=\"1\" checked"),
        "{shown}"
    );
    assert!(
        shown.contains("(default)") || shown.contains("default profile"),
        "{shown}"
    );
    let list = page(server, &lab.page, &base).await;
    assert!(list.contains("PLA fine"), "{list}");

    // A value out of bounds comes back next to its field, in the app's words, as entered.
    let bad = refused(
        server,
        &lab.page,
        &path,
        &token,
        &[
            ("name", "PLA fine"),
            ("printer_model", &model.to_string()),
            ("material", "PLA"),
            ("s.layer_height", "5"),
        ],
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let problem = problem_at(&bad, "problem-layer_height");
    assert!(
        problem.contains("layer_height") && problem.contains("must be from 0.05 to 0.6 mm"),
        "{problem}"
    );
    assert!(
        bad.contains("aria-invalid=\"true\" aria-describedby=\"problem-layer_height\""),
        "{bad}"
    );
    assert!(bad.contains("value=\"5\""), "{bad}");
    // A name another profile has is refused by the name.
    let second = refused(
        server,
        &lab.page,
        &base,
        &token,
        &[("name", "PLA fine"), ("printer_model", &model.to_string())],
        StatusCode::CONFLICT,
    )
    .await;
    assert!(
        problem_at(&second, "problem-name").contains("PLA fine"),
        "{second}"
    );
    let (_, unchanged) = lab.owner.get(&format!("{api}/{id}")).await;
    assert_eq!(unchanged["settings"]["layer_height"], "0.15");
    let (_, all) = lab.owner.get(&api).await;
    assert_eq!(all.as_array().unwrap().len(), 1, "{all}");

    // Edited: new values, one setting left out, the lock removed.
    let saved = accepted(
        server,
        &lab.page,
        &path,
        &token,
        &[
            ("name", "PETG draft"),
            ("printer_model", &model.to_string()),
            ("material", "PETG"),
            ("s.layer_height", "0.2"),
            ("s.fill_density", "15"),
            ("s.support_material", ""),
            ("s.perimeters", "4"),
        ],
    )
    .await;
    assert_eq!(saved, format!("{path}?done=saved"));
    let (_, profile) = lab.owner.get(&format!("{api}/{id}")).await;
    assert_eq!(profile["name"], "PETG draft");
    assert_eq!(profile["material"], "PETG");
    assert_eq!(
        profile["settings"],
        json!({ "layer_height": "0.2", "fill_density": "15%", "perimeters": "4" })
    );
    assert_eq!(profile["locked"], json!([]));

    let deleted = accepted(server, &lab.page, &format!("{path}/delete"), &token, &[]).await;
    assert_eq!(deleted, format!("{base}?done=deleted"));
    let (status, _) = lab.owner.get(&format!("{api}/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let list = page(server, &lab.page, &deleted).await;
    assert!(list.contains("The slicing profile was deleted."), "{list}");
    assert!(!list.contains("PETG draft"), "{list}");
    let actions = audit_actions(&lab.owner, lab.org).await;
    for action in [
        "slicer_profile.create",
        "slicer_profile.update",
        "slicer_profile.delete",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }
}

async fn the_slicer_pages_refuse_whoever_lacks_their_permission(server: &TestServer) {
    let lab = lab(server, "Denied Slicer Lab", "denied-slicer.test").await;
    let org = lab.org;
    let member = browser();
    sign_in(server, &member, "member@denied-slicer.test", PASSWORD).await;
    let dashboard = page(server, &member, &format!("/orgs/{org}")).await;
    let token = csrf_of(&dashboard);
    for (path, permission) in [
        (
            format!("/orgs/{org}/manage/slicer-profiles"),
            P::SlicerManageProfiles,
        ),
        (
            format!("/orgs/{org}/manage/slicer-profiles/new"),
            P::SlicerManageProfiles,
        ),
        (
            format!("/orgs/{org}/manage/slicer-locks"),
            P::SlicerLockSettings,
        ),
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
    }
    // Crafted forms with a valid token change nothing either.
    let html = refused(
        server,
        &member,
        &format!("/orgs/{org}/manage/slicer-profiles"),
        &token,
        &[
            ("name", "Sneaky"),
            ("printer_model", &lab.model.to_string()),
        ],
        StatusCode::FORBIDDEN,
    )
    .await;
    assert!(html.contains(P::SlicerManageProfiles.key()), "{html}");
    let rank = server.rank_id(&lab.owner, org, "Owner").await.to_string();
    let html = refused(
        server,
        &member,
        &format!("/orgs/{org}/manage/slicer-locks"),
        &token,
        &[
            ("setting", "perimeters"),
            ("value", "1"),
            ("below_rank", &rank),
        ],
        StatusCode::FORBIDDEN,
    )
    .await;
    assert!(html.contains(P::SlicerLockSettings.key()), "{html}");
    let (_, profiles) = lab
        .owner
        .get(&format!("/api/v1/orgs/{org}/slicer/profiles"))
        .await;
    assert_eq!(profiles, json!([]));
    let (_, locks) = lab
        .owner
        .get(&format!("/api/v1/orgs/{org}/slicer/locks"))
        .await;
    assert_eq!(locks, json!([]), "{locks}");
}

/// The slice form of `file` posted with `fields` after the printer model.
async fn slice_with(
    server: &TestServer,
    client: &reqwest::Client,
    lab: &Lab,
    file: i64,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let form_path = format!("/orgs/{}/files/{file}/slice", lab.org);
    let token = csrf_of(&page(server, client, &form_path).await);
    let model = lab.model.to_string();
    let mut all = vec![("printer_model", model.as_str())];
    all.extend_from_slice(fields);
    post_form(
        server,
        client,
        &format!("/orgs/{}/files/{file}/slices", lab.org),
        &token,
        &all,
    )
    .await
}

/// The slice a slice form's answer sent the browser to, through the API.
async fn slice_of(client: &Client, lab: &Lab, answer: reqwest::Response) -> Value {
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let to = location(&answer);
    let (status, slice) = client.get(&format!("/api/v1{to}")).await;
    assert_eq!(status, StatusCode::OK, "{to}: {slice}");
    assert_eq!(slice["printer_model_id"], lab.model);
    slice
}

async fn a_lock_set_on_its_page_binds_a_members_slice_until_removed(server: &TestServer) {
    let lab = lab(server, "Lock Lab", "locks.test").await;
    let org = lab.org;
    let locks = format!("/orgs/{org}/manage/slicer-locks");
    let html = page(server, &lab.page, &locks).await;
    let token = csrf_of(&html);
    assert!(html.contains("No setting is locked"), "{html}");
    assert!(
        html.contains("<option value=\"perimeters\">Perimeters (walls) (perimeters)</option>"),
        "the setting picker lists the table: {html}"
    );
    assert!(html.contains("a whole number from 1 to 20"), "{html}");
    let operator = server
        .rank_id(&lab.owner, org, "Operator")
        .await
        .to_string();
    assert!(
        html.contains(&format!("<option value=\"{operator}\">Operator</option>")),
        "the rank picker: {html}"
    );

    // A value that does not fit the setting comes back next to the value.
    let bad = refused(
        server,
        &lab.page,
        &locks,
        &token,
        &[
            ("setting", "perimeters"),
            ("value", "many"),
            ("below_rank", &operator),
        ],
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(
        problem_at(&bad, "problem-value").contains("must be a whole number"),
        "{bad}"
    );
    assert!(
        bad.contains("<option value=\"perimeters\" selected>"),
        "{bad}"
    );
    let done = accepted(
        server,
        &lab.page,
        &locks,
        &token,
        &[
            ("setting", "perimeters"),
            ("value", "2"),
            ("below_rank", &operator),
        ],
    )
    .await;
    assert_eq!(done, format!("{locks}?done=locked"));
    let html = page(server, &lab.page, &done).await;
    assert!(html.contains("The setting is locked."), "{html}");
    assert!(
        html.contains("<td>2</td><td>Operator</td>"),
        "the lock is listed with its value and rank: {html}"
    );
    assert!(
        html.contains(&format!("action=\"{locks}/perimeters/delete\"")),
        "{html}"
    );

    // The Member's slice form shows it locked, and a changed value is refused.
    let member = browser();
    sign_in(server, &member, "member@locks.test", PASSWORD).await;
    let member_api = server.client();
    member_api.sign_in("member@locks.test", PASSWORD).await;
    let file = upload_model(&member, server, org).await;
    let form = page(server, &member, &format!("/orgs/{org}/files/{file}/slice")).await;
    assert!(form.contains("Locked by the organization at 2"), "{form}");
    let answer = slice_with(server, &member, &lab, file, &[("s.perimeters", "5")]).await;
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
    let html = answer.text().await.unwrap();
    assert!(html.contains("perimeters"), "{html}");
    assert!(html.contains("for ranks below Operator"), "{html}");

    // Removed: the Member's value is taken.
    let removed = accepted(
        server,
        &lab.page,
        &format!("{locks}/perimeters/delete"),
        &token,
        &[],
    )
    .await;
    assert_eq!(removed, format!("{locks}?done=removed"));
    let html = page(server, &lab.page, &removed).await;
    assert!(html.contains("No setting is locked"), "{html}");
    let answer = slice_with(server, &member, &lab, file, &[("s.perimeters", "5")]).await;
    let slice = slice_of(&member_api, &lab, answer).await;
    assert_eq!(slice["settings"]["perimeters"], "5", "{slice}");
    let actions = audit_actions(&lab.owner, lab.org).await;
    for action in ["slicer_lock.set", "slicer_lock.remove"] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }
}

async fn the_profile_picker_is_offered_with_change_profile_only(server: &TestServer) {
    let lab = lab(server, "Picker Lab", "picker.test").await;
    let org = lab.org;
    let api = format!("/api/v1/orgs/{org}/slicer/profiles");
    let mut ids = Vec::new();
    for (name, settings) in [
        ("Everyday", json!({ "perimeters": 2 })),
        ("Fine", json!({ "layer_height": 0.15, "perimeters": 4 })),
    ] {
        let (status, profile) = lab
            .owner
            .post(
                &api,
                json!({ "name": name, "printer_model_id": lab.model, "settings": settings }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{profile}");
        ids.push(profile["id"].as_i64().unwrap());
    }
    let (everyday, fine) = (ids[0].to_string(), ids[1].to_string());

    // A Member slices with the default profile and is offered no other.
    let member = browser();
    sign_in(server, &member, "member@picker.test", PASSWORD).await;
    let member_file = upload_model(&member, server, org).await;
    let form_path = format!("/orgs/{org}/files/{member_file}/slice");
    let form = page(server, &member, &form_path).await;
    assert!(!form.contains("name=\"profile\""), "{form}");
    assert!(form.contains("<strong>Everyday</strong>"), "{form}");
    // Asking for another anyway, in the address or the form, changes nothing or is refused.
    let form = page(
        server,
        &member,
        &format!("{form_path}?printer_model={}&profile={fine}", lab.model),
    )
    .await;
    assert!(form.contains("<strong>Everyday</strong>"), "{form}");
    let answer = slice_with(server, &member, &lab, member_file, &[("profile", &fine)]).await;
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
    let html = answer.text().await.unwrap();
    assert!(html.contains(P::SlicerChangeProfile.key()), "{html}");

    // An Operator picks the profile, and the slice uses it.
    let operator = signed_in(server, &lab, "Operator", "operator@picker.test").await;
    let operator_api = server.client();
    operator_api.sign_in("operator@picker.test", PASSWORD).await;
    let file = upload_model(&operator, server, org).await;
    let form_path = format!("/orgs/{org}/files/{file}/slice");
    let form = page(server, &operator, &form_path).await;
    assert!(form.contains("name=\"profile\""), "{form}");
    assert!(
        form.contains(&format!(
            "<option value=\"{everyday}\" selected>Everyday (default)</option>"
        )),
        "{form}"
    );
    assert!(
        form.contains(&format!("<option value=\"{fine}\">Fine</option>")),
        "{form}"
    );
    let form = page(
        server,
        &operator,
        &format!("{form_path}?printer_model={}&profile={fine}", lab.model),
    )
    .await;
    assert!(form.contains("<strong>Fine</strong>"), "{form}");
    assert!(
        form.contains(&format!(
            "<input type=\"hidden\" name=\"profile\" value=\"{fine}\">"
        )),
        "{form}"
    );
    assert!(
        form.contains("name=\"s.layer_height\" type=\"number\" min=\"0.05\" max=\"0.6\" step=\"any\" value=\"0.15\""),
        "the profile's values are shown: {form}"
    );
    // The form sends the profile's values back unchanged and one change.
    let answer = slice_with(
        server,
        &operator,
        &lab,
        file,
        &[
            ("profile", &fine),
            ("s.layer_height", "0.15"),
            ("s.perimeters", "4"),
            ("s.fill_density", "30"),
        ],
    )
    .await;
    let slice = slice_of(&operator_api, &lab, answer).await;
    assert_eq!(slice["profile_id"], ids[1], "{slice}");
    assert_eq!(
        slice["settings"],
        json!({ "fill_density": "30%" }),
        "only the change is requested: the rest is the profile's"
    );
    // Without a pick, the default applies.
    let answer = slice_with(server, &operator, &lab, file, &[("s.perimeters", "4")]).await;
    let slice = slice_of(&operator_api, &lab, answer).await;
    assert_eq!(slice["profile_id"], ids[0], "{slice}");
    assert_eq!(slice["settings"], json!({ "perimeters": "4" }), "{slice}");
}

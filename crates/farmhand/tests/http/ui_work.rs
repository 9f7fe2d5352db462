//! The work pages of the web interface over plain HTTP: submitting with the analysis and the
//! estimate first and refusals next to what caused them, the queue's filters and reordering,
//! the queue's text search over every job (not just those listed), moving a job from its page,
//! the approval inbox (bulk decisions, send back, copy, reprint), the library with its projects
//! and shares (visible to whom it is shared with, invisible to others), slicing pages and
//! accepting invitations.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Client, PASSWORD, TestServer};
use crate::ui::{assert_page, browser, csrf_of, location, open, sign_in};

crate::on_both_backends!(
    submitting_reviews_the_estimate_and_refuses_next_to_the_cause,
    refusals_of_the_file_show_by_the_file_the_target_or_the_upload,
    the_queue_filters_and_reorders,
    the_queue_text_search_reads_every_job,
    a_job_moves_to_another_target_from_its_page,
    the_approval_inbox_decides_in_bulk_sends_back_copies_and_reprints,
    library_projects_are_seen_by_whom_they_are_shared_with_only,
    invitations_are_accepted_by_new_and_signed_in_people,
    a_model_is_sliced_from_its_page,
);

const CUBE: &[u8] = include_bytes!("../../../app/fixtures/demo/calibration_cube.gcode");
const CUBE_MODEL: &[u8] = include_bytes!("../../../app/fixtures/models/calibration_cube.stl");

/// An organization with one printer (of a 180 mm model, in maintenance: jobs stay queued).
async fn workshop(server: &TestServer, name: &str, owner_email: &str) -> (i64, Client, i64) {
    let (org, owner) = server.org_with_owner(name, owner_email).await;
    let model = server
        .workshop_in_maintenance(
            &owner,
            org,
            json!({ "name": "Mini", "build_volume_mm": [180, 180, 180],
                    "nozzle_diameter_mm": 0.4 }),
            "Mini 1",
        )
        .await;
    (org, owner, model)
}

async fn upload_gcode(client: &Client, org: i64, name: &str) -> i64 {
    let response = client
        .raw_post(
            &format!("/api/v1/orgs/{org}/files?name={name}"),
            CUBE.to_vec(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let file: Value = response.json().await.unwrap();
    file["id"].as_i64().unwrap()
}

async fn submit_job(client: &Client, org: i64, file: i64, note: &str) -> i64 {
    let (status, job) = client
        .post(
            &format!("/api/v1/orgs/{org}/jobs"),
            json!({ "file_id": file, "target": { "any": true }, "note": note }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    job["id"].as_i64().unwrap()
}

/// A page's HTML, which must be 200 with the page headers.
pub(crate) async fn page(server: &TestServer, client: &reqwest::Client, path: &str) -> String {
    let response = open(server, client, path).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    assert_page(&response);
    response.text().await.unwrap()
}

/// POSTs a URL-encoded form (the page's token first) and returns the response.
pub(crate) async fn post_form(
    server: &TestServer,
    client: &reqwest::Client,
    path: &str,
    token: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = vec![("csrf", token)];
    form.extend_from_slice(fields);
    client
        .post(format!("{}{path}", server.base))
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// The text of the first refusal shown on a page, and what follows it.
fn refusal_and_after(html: &str) -> &str {
    html.split("class=\"problem\"")
        .nth(1)
        .unwrap_or_else(|| panic!("no refusal on the page: {html}"))
}

async fn submitting_reviews_the_estimate_and_refuses_next_to_the_cause(server: &TestServer) {
    let (org, owner, _) = workshop(server, "Form Farm", "owner@farm.test").await;
    let (status, body) = owner
        .put(
            &format!("/api/v1/orgs/{org}/prices"),
            json!([{ "per_gram_minor": 5, "per_hour_minor": 0, "flat_fee_minor": 100 }]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, member_id) = server
        .member(&owner, org, "Member", "member@farm.test")
        .await;
    let member = browser();
    sign_in(server, &member, "member@farm.test", PASSWORD).await;
    let html = page(server, &member, &format!("/orgs/{org}/jobs/new")).await;
    assert!(html.contains("/assets/upload.js"), "{html}");
    assert!(html.contains("data-upload-progress"), "{html}");
    let token = csrf_of(&html);

    // Upload and review: nothing is submitted; the form comes back with the analysis.
    let form = reqwest::multipart::Form::new()
        .text("csrf", token.clone())
        .part(
            "upload",
            reqwest::multipart::Part::bytes(CUBE.to_vec()).file_name("cube.gcode"),
        )
        .text("target", "any")
        .text("copies", "2")
        .text("note", "for the lid")
        .text("action", "review");
    let reviewed = member
        .post(format!("{}/orgs/{org}/jobs", server.base))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(reviewed.status(), StatusCode::SEE_OTHER);
    let review_path = location(&reviewed);
    assert!(
        review_path.starts_with(&format!("/orgs/{org}/jobs/new?file=")),
        "{review_path}"
    );
    let html = page(server, &member, &review_path).await;
    assert!(html.contains("Printing time"), "{html}");
    assert!(html.contains("Estimated cost"), "{html}");
    assert!(html.contains("Flat fee per job"), "{html}");
    assert!(html.contains(" selected>cube.gcode</option>"), "{html}");
    assert!(html.contains("value=\"2\""), "copies kept: {html}");
    assert!(html.contains("for the lid"), "note kept: {html}");
    let (_, jobs) = owner.get(&format!("/api/v1/orgs/{org}/jobs")).await;
    assert_eq!(jobs["jobs"].as_array().unwrap().len(), 0, "{jobs}");
    let file_id: i64 = review_path
        .split("file=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .parse()
        .unwrap();

    // The final submit without money: refused next to the copies, with what was entered.
    let submit = |copies: &'static str| {
        member
            .post(format!("{}/orgs/{org}/jobs", server.base))
            .multipart(
                reqwest::multipart::Form::new()
                    .text("csrf", token.clone())
                    .text("file", file_id.to_string())
                    .text("target", "any")
                    .text("copies", copies)
                    .text("note", "for the lid")
                    .text("action", "submit"),
            )
            .send()
    };
    let refused = submit("2").await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    let after = refusal_and_after(&html);
    assert!(after.contains("top up your balance"), "{after}");
    assert!(
        after.find("Your balance is").unwrap() < after.find("<label for=\"copies\">").unwrap(),
        "the refusal sits by the copies: {after}"
    );
    assert!(html.contains(" selected>cube.gcode</option>"), "{html}");
    assert!(html.contains("Estimated cost"), "{html}");

    // With money it goes through; with a limit of one active job, the second is refused.
    let (status, entry) = owner
        .post(
            &format!("/api/v1/orgs/{org}/members/{member_id}/balance/top-ups"),
            json!({ "amount_minor": 10000, "reason": "semester credit" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{entry}");
    let (status, body) = owner
        .put(
            &format!("/api/v1/orgs/{org}/quotas"),
            json!([{ "kind": "max_active_jobs", "limit": 1 }]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let submitted = submit("1").await.unwrap();
    assert_eq!(submitted.status(), StatusCode::SEE_OTHER);
    assert!(location(&submitted).contains("?done=submitted"));
    let refused = submit("1").await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    let after = refusal_and_after(&html);
    assert!(
        after.contains("You have 1 job waiting or printing"),
        "{after}"
    );
    assert!(after.contains("<label for=\"copies\">"), "{after}");

    // A file of the library is chosen by its address (the library's "submit" link).
    let html = page(
        server,
        &member,
        &format!("/orgs/{org}/jobs/new?file={file_id}"),
    )
    .await;
    assert!(html.contains("id=\"review\""), "{html}");
    // Someone else's file is not offered, nor reviewed.
    let owners_file = upload_gcode(&owner, org, "secret.gcode").await;
    let html = page(
        server,
        &member,
        &format!("/orgs/{org}/jobs/new?file={owners_file}"),
    )
    .await;
    assert!(!html.contains("secret.gcode"), "{html}");
    assert!(!html.contains("id=\"review\""), "{html}");
    assert!(html.contains("class=\"problem\""), "{html}");
}

/// The refusal on a page, which must come before `before` (the field it is next to).
fn refusal_before<'a>(html: &'a str, before: &str) -> &'a str {
    let after = refusal_and_after(html);
    let end = after
        .find(before)
        .unwrap_or_else(|| panic!("the refusal is not before {before}: {after}"));
    &after[..end]
}

async fn refusals_of_the_file_show_by_the_file_the_target_or_the_upload(server: &TestServer) {
    // A printer taking only PETG: the PLA cube is refused next to where it may print.
    let (org, owner) = server.org_with_owner("PETG Farm", "owner@petg.test").await;
    server
        .workshop_in_maintenance(
            &owner,
            org,
            json!({ "name": "Mini", "build_volume_mm": [180, 180, 180],
                    "nozzle_diameter_mm": 0.4, "materials": ["PETG"] }),
            "Mini 1",
        )
        .await;
    let (member_api, _) = server
        .member(&owner, org, "Member", "member@petg.test")
        .await;
    let file = upload_gcode(&member_api, org, "cube.gcode").await;
    let member = browser();
    sign_in(server, &member, "member@petg.test", PASSWORD).await;
    let html = page(
        server,
        &member,
        &format!("/orgs/{org}/jobs/new?file={file}"),
    )
    .await;
    let refusal = refusal_before(&html, "<label for=\"target\">");
    assert!(refusal.contains("PLA"), "{refusal}");
    assert!(!html.contains("id=\"review\""), "{html}");

    // A printer too small for it: refused next to the file.
    let (org, owner) = server.org_with_owner("Tiny Farm", "owner@tiny.test").await;
    server
        .workshop_in_maintenance(
            &owner,
            org,
            json!({ "name": "Tiny", "build_volume_mm": [5, 5, 5], "nozzle_diameter_mm": 0.4 }),
            "Tiny 1",
        )
        .await;
    let (member_api, _) = server
        .member(&owner, org, "Member", "member@tiny.test")
        .await;
    let file = upload_gcode(&member_api, org, "cube.gcode").await;
    let member = browser();
    sign_in(server, &member, "member@tiny.test", PASSWORD).await;
    let html = page(
        server,
        &member,
        &format!("/orgs/{org}/jobs/new?file={file}"),
    )
    .await;
    let refusal = refusal_before(&html, "<label for=\"file\">");
    assert!(refusal.contains("mm"), "{refusal}");

    // G-code uploads restricted: refused next to the upload, naming the permission.
    let (status, body) = owner
        .patch(
            &format!("/api/v1/orgs/{org}"),
            json!({ "gcode_upload_restricted": true }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = csrf_of(&html);
    let refused = member
        .post(format!("{}/orgs/{org}/jobs", server.base))
        .multipart(
            reqwest::multipart::Form::new()
                .text("csrf", token)
                .part(
                    "upload",
                    reqwest::multipart::Part::bytes(CUBE.to_vec()).file_name("again.gcode"),
                )
                .text("target", "any")
                .text("copies", "1")
                .text("action", "review"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let html = refused.text().await.unwrap();
    let refusal = refusal_before(&html, "<label for=\"upload\">");
    assert!(refusal.contains("files.upload_gcode"), "{refusal}");
}

async fn the_queue_filters_and_reorders(server: &TestServer) {
    let (org, owner, _) = workshop(server, "Queue Farm", "owner@queue.test").await;
    let (member_api, member_id) = server
        .member(&owner, org, "Member", "member@queue.test")
        .await;
    let file = upload_gcode(&owner, org, "cube.gcode").await;
    let alpha = submit_job(&owner, org, file, "alpha").await;
    let beta = submit_job(&owner, org, file, "beta").await;
    let gamma = submit_job(&owner, org, file, "gamma").await;
    let member_file = upload_gcode(&member_api, org, "member-cube.gcode").await;
    let delta = submit_job(&member_api, org, member_file, "delta").await;

    let admin = browser();
    sign_in(server, &admin, "owner@queue.test", PASSWORD).await;
    let queue = format!("/orgs/{org}/jobs");
    let order = |html: &str, jobs: &[i64]| -> Vec<usize> {
        jobs.iter()
            .map(|j| {
                html.find(&format!("id=\"job-{j}\""))
                    .unwrap_or_else(|| panic!("job {j} not listed: {html}"))
            })
            .collect()
    };
    let html = page(server, &admin, &queue).await;
    // Targets and printers by their names; the printer filter offers "Mini 1".
    assert!(html.contains(">Mini 1</option>"), "{html}");
    assert!(html.contains("Any printer"), "{html}");
    let at = order(&html, &[alpha, beta, gamma, delta]);
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{at:?}");
    let token = csrf_of(&html);

    // Gamma to the front, then delta up one place.
    let moved = post_form(
        server,
        &admin,
        &format!("/orgs/{org}/jobs/{gamma}/reorder"),
        &token,
        &[("place", "to"), ("position", "1")],
    )
    .await;
    assert_eq!(moved.status(), StatusCode::SEE_OTHER);
    assert!(location(&moved).contains("done=reordered"));
    let moved = post_form(
        server,
        &admin,
        &format!("/orgs/{org}/jobs/{delta}/reorder"),
        &token,
        &[("place", "up")],
    )
    .await;
    assert_eq!(moved.status(), StatusCode::SEE_OTHER);
    let html = page(server, &admin, &queue).await;
    let at = order(&html, &[gamma, alpha, delta, beta]);
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{at:?}: {html}");
    let (_, listed) = owner.get(&format!("/api/v1/orgs/{org}/jobs")).await;
    let ids: Vec<i64> = listed["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![gamma, alpha, delta, beta]);

    // Filters: owner, text, state.
    let html = page(server, &admin, &format!("{queue}?owner={member_id}")).await;
    assert!(html.contains(&format!("id=\"job-{delta}\"")), "{html}");
    assert!(!html.contains(&format!("id=\"job-{alpha}\"")), "{html}");
    assert!(html.contains("Show all"), "{html}");
    let html = page(server, &admin, &format!("{queue}?text=BETA")).await;
    assert!(html.contains(&format!("id=\"job-{beta}\"")), "{html}");
    assert!(!html.contains(&format!("id=\"job-{gamma}\"")), "{html}");
    let html = page(server, &admin, &format!("{queue}?state=completed")).await;
    assert!(html.contains("No job in the queue matches."), "{html}");
    assert!(!html.contains(&format!("id=\"job-{beta}\"")), "{html}");
    let bad = open(server, &admin, &format!("{queue}?state=flying")).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);

    // A member sees only their own jobs, no owner filter and no reordering.
    let member = browser();
    sign_in(server, &member, "member@queue.test", PASSWORD).await;
    let html = page(server, &member, &queue).await;
    assert!(html.contains(&format!("id=\"job-{delta}\"")), "{html}");
    assert!(!html.contains(&format!("id=\"job-{alpha}\"")), "{html}");
    assert!(!html.contains("filter-owner"), "{html}");
    assert!(!html.contains("/reorder"), "{html}");
    let refused = post_form(
        server,
        &member,
        &format!("/orgs/{org}/jobs/{delta}/reorder"),
        &csrf_of(&html),
        &[("place", "to"), ("position", "1")],
    )
    .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused.text().await.unwrap().contains("queue.reorder"));
}

/// The ids of a page of the job listing.
fn listed_ids(page: &Value) -> Vec<i64> {
    page["jobs"]
        .as_array()
        .unwrap_or_else(|| panic!("no jobs: {page}"))
        .iter()
        .map(|j| j["id"].as_i64().unwrap())
        .collect()
}

async fn the_queue_text_search_reads_every_job(server: &TestServer) {
    let (org, owner, _) = workshop(server, "Search Farm", "owner@search.test").await;
    let (member_api, _) = server
        .member(&owner, org, "Member", "tarantula@search.test")
        .await;
    let (viewer_api, _) = server
        .member(&owner, org, "Viewer", "viewer@search.test")
        .await;
    let widget = upload_gcode(&owner, org, "widget.gcode").await;
    // `%` and `_` are plain characters: "50%" is not "500", "5_0" is not "500" either.
    let percent = submit_job(&owner, org, widget, "50% infill").await;
    let underscore = submit_job(&owner, org, widget, "5_0 walls").await;
    let plain = submit_job(&owner, org, widget, "500 grams").await;
    let other = submit_job(&owner, org, widget, "50x zoom").await;
    let member_file = upload_gcode(&member_api, org, "bracket.gcode").await;
    let members = submit_job(&member_api, org, member_file, "for the shelf").await;
    let finished = submit_job(&owner, org, widget, "old 50% run").await;
    let (status, body) = owner
        .post(
            &format!("/api/v1/orgs/{org}/jobs/{finished}/cancel"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // A page of one job still finds the match further down the queue: the store searches.
    let search = |list: &str, text: &str| {
        let text = text.replace('%', "%25").replace('#', "%23");
        format!("/api/v1/orgs/{org}/jobs{list}?limit=1&text={text}")
    };
    for (text, expected) in [
        ("50%", vec![percent]),
        ("5_0", vec![underscore]),
        ("FOR THE SHELF", vec![members]),
        ("Tarantula", vec![members]),
        ("bracket.GCODE", vec![members]),
        (&format!("#{other}"), vec![other]),
    ] {
        let (status, found) = owner.get(&search("", text)).await;
        assert_eq!(status, StatusCode::OK, "{text}: {found}");
        assert_eq!(listed_ids(&found), expected, "{text}: {found}");
        assert!(found["next_cursor"].is_null(), "{text}: {found}");
    }
    let (_, found) = owner.get(&search("", "0")).await;
    assert_eq!(listed_ids(&found), vec![percent], "{found}");
    let next = found["next_cursor"].as_str().expect("more than one match");
    let (_, found) = owner
        .get(&format!("{}&cursor={next}", search("", "0")))
        .await;
    assert_eq!(listed_ids(&found), vec![underscore], "{found}");
    // The history too.
    let (_, found) = owner.get(&search("/history", "50%")).await;
    assert_eq!(listed_ids(&found), vec![finished], "{found}");
    let (_, found) = owner.get(&search("/history", "infill")).await;
    assert_eq!(listed_ids(&found), Vec::<i64>::new(), "{found}");
    // Someone who sees every job but not the library does not find jobs by their files' names.
    let (_, found) = viewer_api.get(&search("", "widget")).await;
    assert_eq!(listed_ids(&found), Vec::<i64>::new(), "{found}");
    let (_, found) = viewer_api.get(&search("", "5_0")).await;
    assert_eq!(listed_ids(&found), vec![underscore], "{found}");
    // A member searches only their own jobs.
    let (_, found) = member_api.get(&search("", "50%")).await;
    assert_eq!(listed_ids(&found), Vec::<i64>::new(), "{found}");
    let long = "x".repeat(201);
    let (status, body) = owner.get(&search("", &long)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    // The queue page searches the same way, over the queue and the history.
    let admin = browser();
    sign_in(server, &admin, "owner@search.test", PASSWORD).await;
    let html = page(server, &admin, &format!("/orgs/{org}/jobs?text=50%25")).await;
    for (job, shown) in [
        (percent, true),
        (finished, true),
        (plain, false),
        (other, false),
    ] {
        assert_eq!(
            html.contains(&format!("/jobs/{job}\"")),
            shown,
            "job {job}: {html}"
        );
    }
    assert!(html.contains("value=\"50%\""), "{html}");
    let html = page(server, &admin, &format!("/orgs/{org}/jobs?text=tarantula")).await;
    assert!(html.contains(&format!("id=\"job-{members}\"")), "{html}");
    assert!(!html.contains(&format!("id=\"job-{percent}\"")), "{html}");
    assert!(html.contains("No finished job matches."), "{html}");
}

async fn a_job_moves_to_another_target_from_its_page(server: &TestServer) {
    let (org, owner, _) = workshop(server, "Move Farm", "owner@move.test").await;
    let (member_api, _) = server
        .member(&owner, org, "Member", "member@move.test")
        .await;
    let (_, sites) = owner.get(&format!("/api/v1/orgs/{org}/sites")).await;
    let site = sites.as_array().unwrap()[0]["id"].as_i64().unwrap();
    let (status, tiny) = owner
        .post(
            &format!("/api/v1/orgs/{org}/printer-models"),
            json!({ "name": "Tiny", "build_volume_mm": [5, 5, 5], "nozzle_diameter_mm": 0.4 }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{tiny}");
    let (status, tiny_printer) = owner
        .post(
            &format!("/api/v1/orgs/{org}/printers"),
            json!({ "name": "Tiny 1", "site_id": site, "model_id": tiny["id"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{tiny_printer}");
    let (_, printers) = owner.get(&format!("/api/v1/orgs/{org}/printers")).await;
    let mini = printers["printers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Mini 1")
        .unwrap_or_else(|| panic!("no Mini 1: {printers}"))["id"]
        .as_i64()
        .unwrap();
    let member_file = upload_gcode(&member_api, org, "cube.gcode").await;
    let job = submit_job(&member_api, org, member_file, "move me").await;

    // The owner of the job moves it to Mini 1 from its page.
    let member = browser();
    sign_in(server, &member, "member@move.test", PASSWORD).await;
    let job_page = format!("/orgs/{org}/jobs/{job}");
    let html = page(server, &member, &job_page).await;
    assert!(
        html.contains(&format!("action=\"/orgs/{org}/jobs/{job}/move\"")),
        "{html}"
    );
    assert!(
        html.contains(&format!("<option value=\"printer:{mini}\">Mini 1</option>")),
        "{html}"
    );
    assert!(html.contains("<option value=\"any\" selected>"), "{html}");
    let token = csrf_of(&html);
    let moved = post_form(
        server,
        &member,
        &format!("{job_page}/move"),
        &token,
        &[("target", &format!("printer:{mini}"))],
    )
    .await;
    assert_eq!(moved.status(), StatusCode::SEE_OTHER);
    assert!(location(&moved).ends_with(&format!("{job_page}?done=job-moved")));
    let (_, view) = member_api
        .get(&format!("/api/v1/orgs/{org}/jobs/{job}"))
        .await;
    assert_eq!(view["target"], json!({ "printer_id": mini }), "{view}");
    let html = page(server, &member, &format!("{job_page}?done=job-moved")).await;
    assert!(html.contains("The job was moved."), "{html}");
    assert!(
        html.contains(&format!("<option value=\"printer:{mini}\" selected>")),
        "{html}"
    );

    // Too small a printer: refused in the form, the job stays where it was.
    let refused = post_form(
        server,
        &member,
        &format!("{job_page}/move"),
        &token,
        &[("target", &format!("printer:{}", tiny_printer["id"]))],
    )
    .await;
    assert!(refused.status().is_client_error(), "{}", refused.status());
    let html = refused.text().await.unwrap();
    let form = html
        .split(&format!("action=\"/orgs/{org}/jobs/{job}/move\""))
        .nth(1)
        .unwrap_or_else(|| panic!("no move form: {html}"));
    let problem = form
        .split("id=\"move-problem\"")
        .nth(1)
        .unwrap_or_else(|| panic!("no refusal in the move form: {html}"))
        .split("</p>")
        .next()
        .unwrap();
    assert!(problem.contains("mm"), "{problem}");
    assert!(form.contains("aria-invalid=\"true\""), "{form}");
    let (_, view) = member_api
        .get(&format!("/api/v1/orgs/{org}/jobs/{job}"))
        .await;
    assert_eq!(view["target"], json!({ "printer_id": mini }), "{view}");

    // An operator sees everyone's jobs but moves only their own: no form on the owner's job,
    // and the permission-denied page when posting anyway.
    server
        .member(&owner, org, "Operator", "operator@move.test")
        .await;
    let widget = upload_gcode(&owner, org, "widget.gcode").await;
    let owners = submit_job(&owner, org, widget, "not yours").await;
    let operator = browser();
    sign_in(server, &operator, "operator@move.test", PASSWORD).await;
    let owners_page = format!("/orgs/{org}/jobs/{owners}");
    let html = page(server, &operator, &owners_page).await;
    assert!(!html.contains("/move\""), "{html}");
    let denied = post_form(
        server,
        &operator,
        &format!("{owners_page}/move"),
        &csrf_of(&html),
        &[("target", "any")],
    )
    .await;
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    assert!(denied.text().await.unwrap().contains("queue.move.all"));
    let (_, view) = owner
        .get(&format!("/api/v1/orgs/{org}/jobs/{owners}"))
        .await;
    assert_eq!(view["target"], json!({ "any": true }), "{view}");

    // Once cancelled, a job offers no move.
    let (status, body) = member_api
        .post(&format!("/api/v1/orgs/{org}/jobs/{job}/cancel"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let html = page(server, &member, &job_page).await;
    assert!(!html.contains("/move\""), "{html}");
}

async fn the_approval_inbox_decides_in_bulk_sends_back_copies_and_reprints(server: &TestServer) {
    let (org, owner, _) = workshop(server, "Approval Farm", "owner@approve.test").await;
    let (status, body) = owner
        .put(
            &format!("/api/v1/orgs/{org}/settings/approval"),
            json!({ "approval_required": true }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (member_api, _) = server
        .member(&owner, org, "Member", "student@approve.test")
        .await;
    let file = upload_gcode(&member_api, org, "bracket.gcode").await;
    let one = submit_job(&member_api, org, file, "first").await;
    let two = submit_job(&member_api, org, file, "second").await;
    let three = submit_job(&member_api, org, file, "third").await;

    let admin = browser();
    sign_in(server, &admin, "owner@approve.test", PASSWORD).await;
    let inbox = format!("/orgs/{org}/approvals");
    let html = page(server, &admin, &inbox).await;
    for job in [one, two, three] {
        assert!(
            html.contains(&format!("name=\"job\" value=\"{job}\" form=\"bulk\"")),
            "{html}"
        );
    }
    assert!(html.contains("student@approve.test"), "owner shown: {html}");
    assert!(html.contains("Printing time"), "estimate shown: {html}");
    assert!(html.contains("bracket.gcode"), "{html}");
    let token = csrf_of(&html);

    // Approve two at once: each outcome is listed.
    let one_text = one.to_string();
    let two_text = two.to_string();
    let decided = post_form(
        server,
        &admin,
        &format!("/orgs/{org}/approvals/decide"),
        &token,
        &[
            ("job", one_text.as_str()),
            ("job", two_text.as_str()),
            ("decision", "approve"),
            ("reason", ""),
        ],
    )
    .await;
    assert_eq!(decided.status(), StatusCode::SEE_OTHER);
    let html = page(server, &admin, &location(&decided)).await;
    assert!(html.contains(&format!("Job #{one}: done.")), "{html}");
    assert!(html.contains(&format!("Job #{two}: done.")), "{html}");
    assert!(
        !html.contains(&format!("name=\"job\" value=\"{one}\"")),
        "{html}"
    );
    for job in [one, two] {
        let (_, body) = owner.get(&format!("/api/v1/orgs/{org}/jobs/{job}")).await;
        assert_eq!(body["state"], "queued", "{body}");
    }
    // The outcome list shows only fixed sentences, never text from the address.
    let html = page(
        server,
        &admin,
        &format!("{inbox}?outcomes=1:<b>hi</b>,2:not_found"),
    )
    .await;
    assert!(!html.contains("<b>hi</b>"), "{html}");
    assert!(html.contains("Job #2: not decided"), "{html}");
    // Nothing checked: said in the page.
    let nothing = post_form(
        server,
        &admin,
        &format!("/orgs/{org}/approvals/decide"),
        &token,
        &[("decision", "approve")],
    )
    .await;
    assert_eq!(nothing.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        nothing
            .text()
            .await
            .unwrap()
            .contains("Check the jobs to decide first.")
    );

    // Send the third back with a reason: its owner reads it.
    let sent = post_form(
        server,
        &admin,
        &format!("/orgs/{org}/jobs/{three}/send-back"),
        &token,
        &[("reason", "Rotate it flat on the plate")],
    )
    .await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let (_, body) = member_api
        .get(&format!("/api/v1/orgs/{org}/jobs/{three}"))
        .await;
    assert_eq!(body["state"], "sent_back", "{body}");
    let member = browser();
    sign_in(server, &member, "student@approve.test", PASSWORD).await;
    let html = page(server, &member, &format!("/orgs/{org}/jobs/{three}")).await;
    assert!(html.contains("Rotate it flat on the plate"), "{html}");
    // A member may not approve.
    let refused = post_form(
        server,
        &member,
        &format!("/orgs/{org}/approvals/decide"),
        &csrf_of(&html),
        &[("job", one_text.as_str()), ("decision", "approve")],
    )
    .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    // The approver copies a job's file into their own library.
    let copied = post_form(
        server,
        &admin,
        &format!("/orgs/{org}/jobs/{one}/copy-to-library"),
        &token,
        &[("project", "")],
    )
    .await;
    assert_eq!(copied.status(), StatusCode::SEE_OTHER);
    let to = location(&copied);
    assert!(to.contains("?done=copied"), "{to}");
    let html = page(server, &admin, &to).await;
    assert!(html.contains("bracket.gcode"), "{html}");
    assert!(
        html.contains("The file was copied into the library."),
        "{html}"
    );

    // A cancelled job is printed again from its page.
    let (status, _) = owner
        .post_empty(&format!("/api/v1/orgs/{org}/jobs/{two}/cancel"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let html = page(server, &admin, &format!("/orgs/{org}/jobs/{two}")).await;
    assert!(html.contains("Print it again"), "{html}");
    let again = post_form(
        server,
        &admin,
        &format!("/orgs/{org}/jobs/{two}/reprint"),
        &token,
        &[],
    )
    .await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    let to = location(&again);
    assert!(to.ends_with("?done=reprinted"), "{to}");
    assert!(!to.contains(&format!("/jobs/{two}?")), "{to}");
}

async fn library_projects_are_seen_by_whom_they_are_shared_with_only(server: &TestServer) {
    let (org, owner, _) = workshop(server, "Library Farm", "owner@library.test").await;
    let (_, reader_id) = server
        .member(&owner, org, "Member", "reader@library.test")
        .await;
    server
        .member(&owner, org, "Member", "other@library.test")
        .await;
    let admin = browser();
    sign_in(server, &admin, "owner@library.test", PASSWORD).await;
    let html = page(server, &admin, &format!("/orgs/{org}/library")).await;
    assert!(
        html.contains(&format!(
            "href=\"/orgs/{org}/library\" aria-current=\"page\">Library</a>"
        )),
        "{html}"
    );
    let token = csrf_of(&html);

    // A project, then a file uploaded into it through the form.
    let created = post_form(
        server,
        &admin,
        &format!("/orgs/{org}/library/projects"),
        &token,
        &[("name", "Robot arm")],
    )
    .await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let project_path = location(&created).split('?').next().unwrap().to_string();
    let project_id = project_path.rsplit('/').next().unwrap().to_string();
    let taken = post_form(
        server,
        &admin,
        &format!("/orgs/{org}/library/projects"),
        &token,
        &[("name", "Robot arm")],
    )
    .await;
    assert_eq!(taken.status(), StatusCode::CONFLICT);
    let html = taken.text().await.unwrap();
    assert!(refusal_and_after(&html).contains("Robot arm"), "{html}");
    let form = reqwest::multipart::Form::new()
        .text("csrf", token.clone())
        .text("project", project_id.clone())
        .part(
            "upload",
            reqwest::multipart::Part::bytes(CUBE.to_vec()).file_name("gripper.gcode"),
        );
    let uploaded = admin
        .post(format!("{}/orgs/{org}/library/files", server.base))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), StatusCode::SEE_OTHER);
    let file_path = location(&uploaded).split('?').next().unwrap().to_string();
    let html = page(server, &admin, &location(&uploaded)).await;
    assert!(html.contains("The file is in the library."), "{html}");
    assert!(html.contains("Printing time"), "{html}");
    assert!(html.contains("Submit this file"), "{html}");
    assert!(html.contains("Robot arm"), "{html}");

    // Not shared yet: the reader sees neither the project nor its file.
    let reader = browser();
    sign_in(server, &reader, "reader@library.test", PASSWORD).await;
    let other = browser();
    sign_in(server, &other, "other@library.test", PASSWORD).await;
    for client in [&reader, &other] {
        let html = page(server, client, &format!("/orgs/{org}/library")).await;
        assert!(!html.contains("Robot arm"), "{html}");
        assert_eq!(
            open(server, client, &project_path).await.status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            open(server, client, &file_path).await.status(),
            StatusCode::NOT_FOUND
        );
    }

    // Shared with the reader: they see it; the other member still does not.
    let reader_subject = format!("member:{reader_id}");
    let shared = post_form(
        server,
        &admin,
        &format!("{project_path}/share"),
        &token,
        &[("with", reader_subject.as_str()), ("level", "view")],
    )
    .await;
    assert_eq!(shared.status(), StatusCode::SEE_OTHER);
    let html = page(server, &admin, &project_path).await;
    assert!(html.contains("reader@library.test"), "{html}");
    assert!(html.contains("may view"), "{html}");
    let html = page(server, &reader, &format!("/orgs/{org}/library")).await;
    assert!(html.contains("Robot arm"), "{html}");
    let html = page(server, &reader, &project_path).await;
    assert!(html.contains("gripper.gcode"), "{html}");
    assert!(!html.contains("/rename"), "only its owner renames: {html}");
    assert!(
        !html.contains("type=\"file\""),
        "a viewer does not upload: {html}"
    );
    let html = page(server, &reader, &file_path).await;
    assert!(html.contains("gripper.gcode"), "{html}");
    assert!(
        !html.contains("/delete"),
        "a viewer does not delete: {html}"
    );
    let html = page(server, &other, &format!("/orgs/{org}/library")).await;
    assert!(!html.contains("Robot arm"), "{html}");
    assert_eq!(
        open(server, &other, &project_path).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        open(server, &other, &file_path).await.status(),
        StatusCode::NOT_FOUND
    );
    // The reader cannot rename it.
    let refused = post_form(
        server,
        &reader,
        &format!("{project_path}/rename"),
        &csrf_of(&html),
        &[("name", "Mine now")],
    )
    .await;
    assert!(
        [StatusCode::FORBIDDEN, StatusCode::NOT_FOUND].contains(&refused.status()),
        "{}",
        refused.status()
    );

    // The reader copies the file into their own space.
    let reader_token = csrf_of(&page(server, &reader, &file_path).await);
    let copied = post_form(
        server,
        &reader,
        &format!("{file_path}/copy"),
        &reader_token,
        &[("project", "")],
    )
    .await;
    assert_eq!(copied.status(), StatusCode::SEE_OTHER);
    let html = page(server, &reader, &format!("/orgs/{org}/library")).await;
    assert!(html.contains("gripper.gcode"), "{html}");

    // The owner renames the project, moves the file out, stops sharing, deletes the project.
    let renamed = post_form(
        server,
        &admin,
        &format!("{project_path}/rename"),
        &token,
        &[("name", "Robot arm v2")],
    )
    .await;
    assert_eq!(renamed.status(), StatusCode::SEE_OTHER);
    let delete_path = format!("{project_path}/delete");
    let delete_project = || post_form(server, &admin, &delete_path, &token, &[]);
    let not_empty = delete_project().await;
    assert_eq!(not_empty.status(), StatusCode::CONFLICT);
    assert!(
        not_empty
            .text()
            .await
            .unwrap()
            .contains("class=\"problem\"")
    );
    let moved = post_form(
        server,
        &admin,
        &format!("{file_path}/move"),
        &token,
        &[("project", "")],
    )
    .await;
    assert_eq!(moved.status(), StatusCode::SEE_OTHER);
    let html = page(server, &admin, &project_path).await;
    assert!(html.contains("Robot arm v2"), "{html}");
    assert!(!html.contains("gripper.gcode"), "{html}");
    let unshared = post_form(
        server,
        &admin,
        &format!("{project_path}/unshare"),
        &token,
        &[("with", reader_subject.as_str())],
    )
    .await;
    assert_eq!(unshared.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        open(server, &reader, &project_path).await.status(),
        StatusCode::NOT_FOUND
    );
    let deleted = delete_project().await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    assert!(location(&deleted).ends_with("?done=project-deleted"));
    let deleted = post_form(server, &admin, &format!("{file_path}/delete"), &token, &[]).await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        open(server, &admin, &file_path).await.status(),
        StatusCode::NOT_FOUND
    );
    // The forms need the session's token.
    let forged = post_form(
        server,
        &admin,
        &format!("/orgs/{org}/library/projects"),
        "forged",
        &[("name", "Forged")],
    )
    .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
}

async fn invitations_are_accepted_by_new_and_signed_in_people(server: &TestServer) {
    let (org, owner) = server
        .org_with_owner("Invite Lab", "owner@invite.test")
        .await;
    let rank = server.rank_id(&owner, org, "Member").await;
    let (status, invitation) = owner
        .post(
            &format!("/api/v1/orgs/{org}/invitations"),
            json!({ "email": "newcomer@invite.test", "rank_id": rank }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{invitation}");
    let token = invitation["token"].as_str().unwrap();
    let path = format!("/invitations/{token}");

    let newcomer = browser();
    let html = page(server, &newcomer, &path).await;
    assert!(html.contains("Join Invite Lab"), "{html}");
    assert!(html.contains("newcomer@invite.test"), "{html}");
    let form_token = csrf_of(&html);
    let forged = post_form(
        server,
        &newcomer,
        &path,
        "0000",
        &[("name", "New Comer"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let short = post_form(
        server,
        &newcomer,
        &path,
        &form_token,
        &[("name", "New Comer"), ("password", "short")],
    )
    .await;
    assert_eq!(short.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = short.text().await.unwrap();
    assert!(refusal_and_after(&html).contains("10 characters"), "{html}");
    assert!(html.contains("value=\"New Comer\""), "{html}");
    let joined = post_form(
        server,
        &newcomer,
        &path,
        &form_token,
        &[("name", "New Comer"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(joined.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&joined), "/orgs?done=accepted");
    let html = page(server, &newcomer, &location(&joined)).await;
    assert!(html.contains("You joined the organization."), "{html}");
    assert!(html.contains(&format!("href=\"/orgs/{org}\"")), "{html}");
    // Used: the link says so.
    let html = page(server, &browser(), &path).await;
    assert!(html.contains("already accepted"), "{html}");
    assert_eq!(
        open(server, &browser(), "/invitations/no-such-token")
            .await
            .status(),
        StatusCode::NOT_FOUND
    );

    // Someone signed in answers from their organizations page.
    let (other_org, other_owner) = server
        .org_with_owner("Second Lab", "owner@second.test")
        .await;
    let other_rank = server.rank_id(&other_owner, other_org, "Member").await;
    for email in ["newcomer@invite.test"] {
        let (status, body) = other_owner
            .post(
                &format!("/api/v1/orgs/{other_org}/invitations"),
                json!({ "email": email, "rank_id": other_rank }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let html = page(server, &newcomer, "/orgs").await;
    assert!(html.contains("Invitations waiting for you"), "{html}");
    assert!(html.contains("Second Lab"), "{html}");
    let action = html
        .split("action=\"")
        .find(|part| part.starts_with("/invitations/mine/") && part.contains("/accept\""))
        .map(|part| part.split('"').next().unwrap().to_string())
        .unwrap_or_else(|| panic!("no accept form: {html}"));
    let accepted = post_form(server, &newcomer, &action, &csrf_of(&html), &[]).await;
    assert_eq!(accepted.status(), StatusCode::SEE_OTHER);
    let html = page(server, &newcomer, "/orgs").await;
    assert!(
        html.contains(&format!("href=\"/orgs/{other_org}\"")),
        "{html}"
    );
    assert!(!html.contains("Invitations waiting for you"), "{html}");
}

/// Uploads the calibration cube model through the library's form: the new file's page.
pub(crate) async fn upload_cube_model(
    server: &TestServer,
    client: &reqwest::Client,
    org: i64,
) -> String {
    let html = page(server, client, &format!("/orgs/{org}/library")).await;
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf_of(&html))
        .text("project", "")
        .part(
            "upload",
            reqwest::multipart::Part::bytes(CUBE_MODEL.to_vec()).file_name("cube.stl"),
        );
    let uploaded = client
        .post(format!("{}/orgs/{org}/library/files", server.base))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), StatusCode::SEE_OTHER);
    location(&uploaded).split('?').next().unwrap().to_string()
}

async fn a_model_is_sliced_from_its_page(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Slice Lab", "owner@slice.test").await;
    server
        .workshop_in_maintenance(
            &owner,
            org,
            json!({ "name": "Cube 200", "build_volume_mm": [200, 200, 200],
                    "nozzle_diameter_mm": 0.4, "materials": ["PLA"] }),
            "Cube 1",
        )
        .await;
    server
        .member(&owner, org, "Member", "maker@slice.test")
        .await;
    let member = browser();
    sign_in(server, &member, "maker@slice.test", PASSWORD).await;
    let file_path = upload_cube_model(server, &member, org).await;
    let html = page(server, &member, &file_path).await;
    let token = csrf_of(&html);
    assert!(html.contains("STL model"), "{html}");
    assert!(html.contains("Slice this model"), "{html}");
    assert!(!html.contains("Submit this file"), "{html}");

    // The member sees the basic settings only.
    let html = page(server, &member, &format!("{file_path}/slice")).await;
    assert!(html.contains("Basic settings"), "{html}");
    assert!(html.contains("name=\"s.layer_height\""), "{html}");
    assert!(!html.contains("Expert settings"), "{html}");
    // A Member may have the model laid on its largest flat face.
    assert!(html.contains("name=\"auto_rotate\""), "{html}");
    let model = html
        .split("name=\"printer_model\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    // An expert setting sent anyway is refused in the page, naming it.
    let refused = post_form(
        server,
        &member,
        &format!("{file_path}/slices"),
        &token,
        &[
            ("printer_model", model.as_str()),
            ("s.gcode_flavor", "klipper"),
        ],
    )
    .await;
    assert!(
        [StatusCode::FORBIDDEN, StatusCode::UNPROCESSABLE_ENTITY].contains(&refused.status()),
        "{}",
        refused.status()
    );
    let started = post_form(
        server,
        &member,
        &format!("{file_path}/slices"),
        &token,
        &[
            ("printer_model", model.as_str()),
            ("s.layer_height", "0.25"),
            ("auto_rotate", "1"),
        ],
    )
    .await;
    assert_eq!(started.status(), StatusCode::SEE_OTHER);
    let slice_path = location(&started);
    assert!(
        slice_path.starts_with(&format!("{file_path}/slices/")),
        "{slice_path}"
    );
    let html = page(server, &member, &slice_path).await;
    assert!(
        html.contains("layer_height"),
        "the changed setting is listed: {html}"
    );
    // Running: the live script and a refresh link; finished: no script.
    if html.contains("Cancel the slice") {
        assert!(html.contains("/assets/slice.js"), "{html}");
        assert!(html.contains("data-slice-events=\"/api/v1/orgs/"), "{html}");
        let cancelled = post_form(
            server,
            &member,
            &format!("{slice_path}/cancel"),
            &token,
            &[],
        )
        .await;
        // It may have finished in between: then it says so.
        assert!(
            [StatusCode::SEE_OTHER, StatusCode::CONFLICT].contains(&cancelled.status()),
            "{}",
            cancelled.status()
        );
    }
    let html = page(server, &member, &slice_path).await;
    assert!(
        [
            "Cancelled",
            "Done",
            "Failed",
            "Waiting for the slicer",
            "Slicing"
        ]
        .iter()
        .any(|state| html.contains(state)),
        "{html}"
    );
}

//! The web interface's live pages over plain HTTP: wall display links (made and revoked by
//! those who manage sites, stored hashed, showing one site's printers to whoever holds the
//! link, live, and nothing once revoked).

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Client, PASSWORD, TestServer};

const CUBE: &[u8] = include_bytes!("../../../app/fixtures/demo/calibration_cube.gcode");
use crate::ui::{assert_page, browser, csrf_of, location, open, sign_in};

crate::on_both_backends!(
    a_display_link_shows_its_site_live_until_it_is_revoked,
    only_those_who_manage_sites_make_display_links,
    pages_are_compressed_and_never_repeat_their_form_token,
    usage_reports_draw_their_charts_and_the_audit_log_filters,
    usage_report_filters_combine_and_the_export_follows_them,
);

/// A site with one simulated printer: (site ID, printer's API path, printer ID).
async fn site_with_printer(
    owner: &Client,
    org: i64,
    site: &str,
    printer: &str,
) -> (i64, String, i64) {
    let (status, site) = owner
        .post(
            &format!("/api/v1/orgs/{org}/sites"),
            json!({ "name": site }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{site}");
    let (status, created) = owner
        .post(
            &format!("/api/v1/orgs/{org}/printers"),
            json!({ "name": printer, "site_id": site["id"], "settings": { "speed": 60.0 } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_i64().unwrap();
    (
        site["id"].as_i64().unwrap(),
        format!("/api/v1/orgs/{org}/printers/{id}"),
        id,
    )
}

/// Makes a display link through the form: the link's path as the page shows it, once.
async fn make_link(
    server: &TestServer,
    web: &reqwest::Client,
    org: i64,
    site: i64,
    name: &str,
) -> String {
    let page = open(server, web, &format!("/orgs/{org}/displays")).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_page(&page);
    let csrf = csrf_of(&page.text().await.unwrap());
    let response = web
        .post(format!("{}/orgs/{org}/displays", server.base))
        .form(&[
            ("csrf", csrf.as_str()),
            ("site_id", &site.to_string()),
            ("name", name),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let html = response.text().await.unwrap();
    let marker = "href=\"/display/";
    let start = html.find(marker).expect("the new link on the page") + "href=\"".len();
    html[start..].split('"').next().unwrap().to_string()
}

/// Reads the event stream until `done` holds for what arrived, or the stream ends or falls
/// silent for a while: what arrived.
async fn read_events(response: &mut reqwest::Response, done: impl Fn(&str) -> bool) -> String {
    let mut text = String::new();
    while !done(&text) {
        match tokio::time::timeout(Duration::from_secs(20), response.chunk()).await {
            Ok(Ok(Some(chunk))) => text.push_str(&String::from_utf8_lossy(&chunk)),
            _ => break,
        }
    }
    text
}

async fn start_local(owner: &Client, printer: &str, file_name: &str) {
    let (status, body) = owner
        .post(
            &format!("{printer}/simulation/faults"),
            json!({ "fault": "start_local", "file_name": file_name, "duration_s": 3600 }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn a_display_link_shows_its_site_live_until_it_is_revoked(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Wall Lab", "owner@wall.test").await;
    let (lab, lab_printer, lab_id) = site_with_printer(&owner, org, "Lab", "Lab Printer").await;
    let (_, far_printer, far_id) = site_with_printer(&owner, org, "Annex", "Annex Printer").await;
    for printer in [&lab_printer, &far_printer] {
        server
            .wait_for(&owner, printer, "idle", |l: &Value| l["state"] == "idle")
            .await;
    }
    let web = browser();
    sign_in(server, &web, "owner@wall.test", PASSWORD).await;
    let link = make_link(server, &web, org, lab, "Entrance screen").await;
    let secret = link.trim_start_matches("/display/").to_string();
    assert!(secret.len() >= 40, "{secret}");

    // Only the secret's hash is stored.
    let (stored,): (String,) =
        sqlx::query_as("SELECT token_hash FROM display_links WHERE name = 'Entrance screen'")
            .fetch_one(server.app().store().pool())
            .await
            .unwrap();
    assert_ne!(stored, secret);
    assert!(!stored.contains(&secret));
    // Nor is it ever shown again.
    let list = open(server, &web, &format!("/orgs/{org}/displays")).await;
    let list = list.text().await.unwrap();
    assert!(
        list.contains("Entrance screen") && list.contains("Lab"),
        "{list}"
    );
    assert!(!list.contains(&secret));

    // A screen with no account opens it: the site's printer, not the other site's.
    let screen = browser();
    let page = open(server, &screen, &link).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_page(&page);
    let html = page.text().await.unwrap();
    assert!(html.contains("Lab Printer"), "{html}");
    assert!(!html.contains("Annex Printer"), "{html}");
    assert!(
        !html.contains("action="),
        "a display has no controls: {html}"
    );

    // Its events: a snapshot of the site's printers, then their changes; never the other
    // site's, even when it changes first.
    let mut events = open(server, &screen, &format!("{link}/events")).await;
    assert_eq!(events.status(), StatusCode::OK);
    assert_eq!(events.headers()["content-type"], "text/event-stream");
    start_local(&owner, &far_printer, "annex.gcode").await;
    start_local(&owner, &lab_printer, "lab.gcode").await;
    let text = read_events(&mut events, |t| t.contains("lab.gcode")).await;
    assert!(text.contains("event: printer"), "{text}");
    assert!(
        text.contains(&format!("\"printer_id\":{lab_id},")),
        "{text}"
    );
    assert!(text.contains("lab.gcode"), "{text}");
    assert!(
        !text.contains(&format!("\"printer_id\":{far_id},")),
        "{text}"
    );
    assert!(!text.contains("annex.gcode"), "{text}");

    // Revoked: the open stream ends, the page and its events are refused.
    let page = open(server, &web, &format!("/orgs/{org}/displays")).await;
    let html = page.text().await.unwrap();
    let csrf = csrf_of(&html);
    let revoke = html
        .split("action=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .find(|action| action.ends_with("/revoke"))
        .expect("a revoke form")
        .to_string();
    let response = web
        .post(format!("{}{revoke}", server.base))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response),
        format!("/orgs/{org}/displays?done=revoked")
    );
    let ended = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match events.chunk().await {
                Ok(Some(_)) => continue,
                _ => return,
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the revoked link's stream goes on");
    for path in [link.clone(), format!("{link}/events")] {
        let refused = open(server, &screen, &path).await;
        assert_eq!(refused.status(), StatusCode::NOT_FOUND, "{path}");
    }
    // Revoking twice says so.
    let again = web
        .post(format!("{}{revoke}", server.base))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT);

    // Both changes are in the audit log, without the secret.
    let (status, audit) = owner.get(&format!("/api/v1/orgs/{org}/audit-events")).await;
    assert_eq!(status, StatusCode::OK);
    let audit_text = audit.to_string();
    assert!(audit_text.contains("display_link.create"), "{audit}");
    assert!(audit_text.contains("display_link.revoke"), "{audit}");
    assert!(!audit_text.contains(&secret));
}

async fn only_those_who_manage_sites_make_display_links(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Wall Lab", "owner@wall.test").await;
    let (lab, _, _) = site_with_printer(&owner, org, "Lab", "Lab Printer").await;
    let web = browser();
    sign_in(server, &web, "owner@wall.test", PASSWORD).await;
    let link = make_link(server, &web, org, lab, "Entrance screen").await;

    // A member may not see or make links: the page names the permission.
    server
        .member(&owner, org, "Member", "member@wall.test")
        .await;
    let member = browser();
    sign_in(server, &member, "member@wall.test", PASSWORD).await;
    let refused = open(server, &member, &format!("/orgs/{org}/displays")).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused.text().await.unwrap().contains("sites.manage"));

    // Another organization's manager cannot revoke it, nor make one for its site.
    let (other, _) = server.org_with_owner("Elsewhere", "owner@else.test").await;
    let stranger = browser();
    sign_in(server, &stranger, "owner@else.test", PASSWORD).await;
    let page = open(server, &stranger, &format!("/orgs/{other}/displays")).await;
    let csrf = csrf_of(&page.text().await.unwrap());
    let (id,): (i64,) = sqlx::query_as("SELECT id FROM display_links")
        .fetch_one(server.app().store().pool())
        .await
        .unwrap();
    let response = stranger
        .post(format!("{}/orgs/{other}/displays/{id}/revoke", server.base))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = stranger
        .post(format!("{}/orgs/{other}/displays", server.base))
        .form(&[
            ("csrf", csrf.as_str()),
            ("site_id", &lab.to_string()),
            ("name", "Sneaky"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.text().await.unwrap().contains("does not exist"));
    // The link still works; a made-up one does not.
    assert_eq!(
        open(server, &browser(), &link).await.status(),
        StatusCode::OK
    );
    let made_up = open(server, &browser(), "/display/not-a-real-link").await;
    assert_eq!(made_up.status(), StatusCode::NOT_FOUND);

    // A nameless link is refused in the form, saying what is missing.
    let page = open(server, &web, &format!("/orgs/{org}/displays")).await;
    let csrf = csrf_of(&page.text().await.unwrap());
    let response = web
        .post(format!("{}/orgs/{org}/displays", server.base))
        .form(&[
            ("csrf", csrf.as_str()),
            ("site_id", &lab.to_string()),
            ("name", " "),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.text().await.unwrap().contains("class=\"problem\""));
}

async fn pages_are_compressed_and_never_repeat_their_form_token(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Wall Lab", "owner@wall.test").await;
    site_with_printer(&owner, org, "Lab", "Lab Printer").await;
    let web = browser();
    sign_in(server, &web, "owner@wall.test", PASSWORD).await;
    let dashboard = format!("{}/orgs/{org}", server.base);

    // Gzip for a browser that accepts it, the page as is for one that does not.
    let compressed = web
        .get(&dashboard)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(compressed.status(), StatusCode::OK);
    assert_eq!(compressed.headers()["content-encoding"], "gzip");
    assert!(
        compressed.headers()["vary"]
            .to_str()
            .unwrap()
            .contains("accept-encoding")
    );
    let bytes = compressed.bytes().await.unwrap();
    let mut html = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut html)
        .unwrap();
    assert!(html.contains("Lab Printer"), "{html}");
    let plain = open(server, &web, &format!("/orgs/{org}")).await;
    assert!(plain.headers().get("content-encoding").is_none());
    let plain = plain.text().await.unwrap();

    // Each page carries the session's form token masked afresh; each works.
    let (first, second) = (csrf_of(&html), csrf_of(&plain));
    assert_ne!(first, second);
    for token in [first, second] {
        let page = open(server, &web, &format!("/orgs/{org}/displays")).await;
        assert_eq!(page.status(), StatusCode::OK);
        let response = web
            .post(format!("{}/orgs/{org}/displays", server.base))
            .form(&[
                ("csrf", token.as_str()),
                ("site_id", "0"),
                ("name", "Screen"),
            ])
            .send()
            .await
            .unwrap();
        // Read past the token: the site is what is wrong.
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    // The sign-in form (it sets a cookie) is never compressed.
    let sign_in_page = browser()
        .get(format!("{}/sign-in", server.base))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert!(sign_in_page.headers().get("content-encoding").is_none());
}

/// The report page's CSV export link, as a browser follows it (the template writes `&` as
/// `&#38;`).
fn csv_link(html: &str) -> String {
    html.split("href=\"")
        .filter_map(|rest| rest.split('"').next())
        .find(|href| href.contains("usage.csv"))
        .expect("the CSV export link")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

async fn usage_reports_draw_their_charts_and_the_audit_log_filters(server: &TestServer) {
    let (org, owner) = server
        .org_with_owner("Report Lab", "owner@report.test")
        .await;
    let (_, _, printer) = site_with_printer(&owner, org, "Lab", "Lab Printer").await;
    let web = browser();
    sign_in(server, &web, "owner@report.test", PASSWORD).await;

    let page = open(server, &web, &format!("/orgs/{org}/reports")).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_page(&page);
    let html = page.text().await.unwrap();
    for part in [
        "id=\"spend\"",
        "id=\"hours\"",
        "id=\"utilisation\"",
        "<svg",
        "Lab Printer",
    ] {
        assert!(html.contains(part), "{part} is not on the page:\n{html}");
    }
    assert!(
        html.contains("/reports/usage.csv?group_by=member"),
        "{html}"
    );
    // The CSV export the page links works for the same session.
    let csv_path = csv_link(&html);
    let csv = open(server, &web, &csv_path).await;
    assert_eq!(csv.status(), StatusCode::OK, "{csv_path}");
    assert!(csv.text().await.unwrap().starts_with("group,id,name"));

    // One printer, per week: the utilisation chart shows only it.
    let one = open(
        server,
        &web,
        &format!("/orgs/{org}/reports?printer={printer}&period=week&from=2026-01-01&to=2026-03-31"),
    )
    .await;
    assert_eq!(one.status(), StatusCode::OK);
    assert!(
        one.text()
            .await
            .unwrap()
            .contains("Printing hours per week")
    );
    // Bad filters are said in the page, in words.
    for query in [
        "from=yesterday",
        "period=fortnight",
        "printer=galaxy",
        "from=2026-05-01&to=2026-01-01",
    ] {
        let bad = open(server, &web, &format!("/orgs/{org}/reports?{query}")).await;
        assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert!(
            bad.text().await.unwrap().contains("class=\"problem\""),
            "{query}"
        );
    }

    // The audit log by action and days, and its export of the same selection.
    let today = open(
        server,
        &web,
        &format!("/orgs/{org}/audit?action=site.create"),
    )
    .await;
    let html = today.text().await.unwrap();
    assert!(html.contains("<code>site.create</code>"), "{html}");
    assert!(!html.contains("<code>printer.create</code>"), "{html}");
    assert!(html.contains("export.csv?action=site.create"), "{html}");
    let long_ago = open(
        server,
        &web,
        &format!("/orgs/{org}/audit?action=site.create&from=2001-01-01&to=2001-01-31"),
    )
    .await;
    assert!(long_ago.text().await.unwrap().contains("No events match."));
    let bad = open(server, &web, &format!("/orgs/{org}/audit?from=soon")).await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // A member may not see the reports: the page names the permission.
    server
        .member(&owner, org, "Member", "member@report.test")
        .await;
    let member = browser();
    sign_in(server, &member, "member@report.test", PASSWORD).await;
    let refused = open(server, &member, &format!("/orgs/{org}/reports")).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("billing.view_reports")
    );
}

/// A printer on a site and of a model, idle: its ID.
async fn printer_of(
    server: &TestServer,
    owner: &Client,
    org: i64,
    name: &str,
    at: (&Value, &Value),
) -> i64 {
    let (site, model) = at;
    let (status, printer) = owner
        .post(
            &format!("/api/v1/orgs/{org}/printers"),
            json!({ "name": name, "site_id": site["id"], "model_id": model["id"],
                    "settings": { "speed": 1.0 } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{printer}");
    let path = format!("/api/v1/orgs/{org}/printers/{}", printer["id"]);
    server
        .wait_for(owner, &path, "idle", |l: &Value| l["state"] == "idle")
        .await;
    printer["id"].as_i64().unwrap()
}

/// Submits the cube to one printer as `who` and drives dispatch until it is on it.
async fn printed_on(server: &TestServer, who: &Client, org: i64, printer: i64) {
    let response = who
        .raw_post(
            &format!("/api/v1/orgs/{org}/files?name=cube.gcode"),
            CUBE.to_vec(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let file: Value = response.json().await.unwrap();
    let (status, job) = who
        .post(
            &format!("/api/v1/orgs/{org}/jobs"),
            json!({ "file_id": file["id"], "target": { "printer_id": printer } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let _ = server
            .app()
            .observe_printer_now(domain::PrinterId(printer))
            .await;
        server.app().dispatch_once().await.unwrap();
        let (_, seen) = who
            .get(&format!("/api/v1/orgs/{org}/jobs/{}", job["id"]))
            .await;
        if seen["printer_id"] == printer && seen["state"] != "queued" {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never dispatched: {seen}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The number of jobs the report page counts.
fn jobs_on(html: &str) -> i64 {
    let marker = "<dd data-field=\"jobs\">";
    let start = html.find(marker).expect("the jobs figure") + marker.len();
    html[start..].split('<').next().unwrap().parse().unwrap()
}

async fn usage_report_filters_combine_and_the_export_follows_them(server: &TestServer) {
    let (org, owner) = server
        .org_with_owner("Filter Lab", "owner@filter.test")
        .await;
    let api = |rest: &str| format!("/api/v1/orgs/{org}/{rest}");
    let mut made = Vec::new();
    for (path, name) in [
        ("sites", "North"),
        ("sites", "South"),
        ("printer-models", "Mini"),
        ("printer-models", "Maxi"),
    ] {
        let (status, body) = owner.post(&api(path), json!({ "name": name })).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        made.push(body);
    }
    let [north, south, mini, maxi] = &made[..] else {
        unreachable!()
    };
    let north_mini = printer_of(server, &owner, org, "North Mini", (north, mini)).await;
    let north_maxi = printer_of(server, &owner, org, "North Maxi", (north, maxi)).await;
    let south_mini = printer_of(server, &owner, org, "South Mini", (south, mini)).await;
    let (member, member_id) = server
        .member(&owner, org, "Member", "member@filter.test")
        .await;
    printed_on(server, &member, org, north_mini).await;
    printed_on(server, &owner, org, north_maxi).await;
    printed_on(server, &member, org, south_mini).await;

    let web = browser();
    sign_in(server, &web, "owner@filter.test", PASSWORD).await;
    let report = |query: String| {
        let web = web.clone();
        async move {
            let page = open(server, &web, &format!("/orgs/{org}/reports?{query}")).await;
            assert_eq!(page.status(), StatusCode::OK, "{query}");
            page.text().await.unwrap()
        }
    };
    let everyone = report(String::new()).await;
    assert_eq!(jobs_on(&everyone), 3);
    // Each filter is its own select (of what there is: no workgroups here), "any" first.
    assert!(!everyone.contains("id=\"workgroup\""), "{everyone}");
    for name in ["site", "member", "printer", "model"] {
        assert!(
            everyone.contains(&format!("<select id=\"{name}\" name=\"{name}\">")),
            "{name}: {everyone}"
        );
    }
    let (north, south) = (north["id"].as_i64().unwrap(), south["id"].as_i64().unwrap());
    let (mini, maxi) = (mini["id"].as_i64().unwrap(), maxi["id"].as_i64().unwrap());
    // Filters combine: each one narrows what the others let through.
    assert_eq!(jobs_on(&report(format!("site={north}")).await), 2);
    let north_member = report(format!("site={north}&member={member_id}&per=printer")).await;
    assert_eq!(jobs_on(&north_member), 1);
    assert!(
        north_member.contains("<td>North Mini</td>"),
        "{north_member}"
    );
    assert!(
        !north_member.contains("<td>North Maxi</td>"),
        "{north_member}"
    );
    assert!(
        !north_member.contains("<td>South Mini</td>"),
        "{north_member}"
    );
    // The chosen filters stay chosen.
    assert!(
        north_member.contains(&format!(
            "<option value=\"{north}\" selected>North</option>"
        )),
        "{north_member}"
    );
    assert!(
        north_member.contains(&format!("<option value=\"{member_id}\" selected>")),
        "{north_member}"
    );
    assert_eq!(
        jobs_on(&report(format!("model={mini}&member={member_id}")).await),
        2
    );
    assert_eq!(
        jobs_on(&report(format!("site={south}&model={mini}")).await),
        1
    );
    let none = report(format!("site={north}&member={member_id}&model={maxi}")).await;
    assert_eq!(jobs_on(&none), 0);
    assert!(none.contains("No use in this period."), "{none}");

    // The export the page links follows the same filters.
    let csv_path = csv_link(&north_member);
    assert!(csv_path.contains(&format!("site_id={north}")), "{csv_path}");
    assert!(
        csv_path.contains(&format!("member_id={member_id}")),
        "{csv_path}"
    );
    let csv = open(server, &web, &csv_path).await;
    assert_eq!(csv.status(), StatusCode::OK, "{csv_path}");
    let csv = csv.text().await.unwrap();
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(rows.len(), 1, "{csv}");
    assert!(
        rows[0].starts_with(&format!("printer,{north_mini},North Mini,")),
        "{csv}"
    );

    // A filter that is not from the list is said in words.
    let bad = open(
        server,
        &web,
        &format!("/orgs/{org}/reports?site={north}&member=someone"),
    )
    .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.text()
            .await
            .unwrap()
            .contains("Choose the member from the list.")
    );
}

//! The administration pages in a real browser: an admin changes a rank in the permission
//! matrix, reads the what-if preview and saves it, and a member of that rank then meets the
//! refusal naming the permission; a guest cannot start a print and a viewer cannot change
//! anything, whatever they post by hand.

use authz::Permission as P;
use reqwest::StatusCode;

use crate::common::TestServer;
use crate::harness::{Browser, Demo};
use crate::pages_admin::PAGES;

const DESKTOP: (u32, u32) = (1280, 900);
const PHONE: (u32, u32) = (360, 800);

/// Opens every administration page as the signed-in owner, desktop and phone width, saves
/// their screenshots and checks none scrolls sideways on the phone.
async fn screenshot_every_page(
    browser: &Browser,
    server: &TestServer,
    fill: impl Fn(&str) -> String,
) {
    for (size, suffix) in [(DESKTOP, ""), (PHONE, "-phone")] {
        browser.window(size.0, size.1).await;
        for (name, path) in PAGES {
            let path = fill(path);
            browser.open(server, &path).await;
            assert!(browser.text("h1").await.len() > 1, "{path} has no heading");
            browser.screenshot(&format!("{name}{suffix}")).await;
            if suffix.is_empty() {
                continue;
            }
            let overflow = browser
                .client
                .execute(
                    "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
                    vec![],
                )
                .await
                .unwrap();
            if overflow.as_i64().unwrap_or(1) > 0 {
                // Name what sticks out, for whoever fixes it.
                let wide = browser
                    .client
                    .execute(
                        "return Array.from(document.querySelectorAll('main *')).filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth).slice(0, 5).map(e => e.outerHTML.slice(0, 200));",
                        vec![],
                    )
                    .await
                    .unwrap();
                panic!("{path} scrolls sideways by {overflow} at 360 px: {wide}");
            }
        }
    }
    browser.window(DESKTOP.0, DESKTOP.1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_saves_a_rank_after_its_preview_and_its_member_is_refused() {
    let server = TestServer::start(store::Backend::Sqlite).await;
    let demo = Demo::create(&server).await;
    let org = demo.org;
    let member_rank = server.rank_id(&demo.owner, org, "Member").await;
    let browser = Browser::start().await;

    browser.open(&server, "/sign-in").await;
    browser.sign_in("owner@demo.farmhand.test").await;
    let printer = browser
        .attribute(".printer", "data-printer-id")
        .await
        .expect("a printer on the dashboard");
    let (status, models) = demo
        .owner
        .get(&format!("/api/v1/orgs/{org}/printer-models"))
        .await;
    assert_eq!(status, StatusCode::OK, "{models}");
    let model = models[0]["id"].as_i64().expect("a demo printer model");
    let (status, members) = demo.owner.get(&format!("/api/v1/orgs/{org}/members")).await;
    assert_eq!(status, StatusCode::OK);
    let member = members
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == "member@demo.farmhand.test")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let (status, profiles) = demo
        .owner
        .get(&format!("/api/v1/orgs/{org}/slicer/profiles"))
        .await;
    assert_eq!(status, StatusCode::OK, "{profiles}");
    let profile = profiles[0]["id"].as_i64().expect("a demo slicing profile");
    screenshot_every_page(&browser, &server, |path| {
        path.replace("{org}", &org.to_string())
            .replace("{member}", &member.to_string())
            .replace("{rank}", &member_rank.to_string())
            .replace("{printer}", &printer)
            .replace("{model}", &model.to_string())
            .replace("{slicer_profile}", &profile.to_string())
    })
    .await;

    // From the navigation to the matrix.
    browser.open(&server, &format!("/orgs/{org}")).await;
    browser.follow("nav a[href$=\"/manage\"]").await;
    browser.follow("a[href$=\"/manage/ranks\"]").await;
    let cell = format!("select[name=\"perm.queue.submit\"][form=\"rank-{member_rank}\"]");
    assert_eq!(browser.value(&cell).await, "yes");
    browser.select_value(&cell, "no").await;
    browser.follow(&format!("#rank-{member_rank} button")).await;

    // The what-if preview: who loses what; nothing saved yet.
    let preview = browser.text("main").await;
    assert!(preview.contains("Nothing is saved yet"), "{preview}");
    let members_change = browser.text("#members-change").await;
    assert!(members_change.contains("Demo Member"), "{members_change}");
    assert!(members_change.contains("Loses"), "{members_change}");
    assert!(
        members_change.contains(P::QueueSubmit.title()),
        "{members_change}"
    );
    browser.screenshot("manage-rank-preview").await;
    let rank = server.rank(&demo.owner, org, "Member").await;
    assert!(
        rank["permissions"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("queue.submit")),
        "saved before confirming: {rank}"
    );
    browser.follow("#confirm-rank").await;
    assert!(browser.text(".notice").await.contains("saved"));
    let rank = server.rank(&demo.owner, org, "Member").await;
    assert!(
        !rank["permissions"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("queue.submit")),
        "{rank}"
    );

    // The member of that rank is refused, told the permission and whom to ask.
    browser.follow("form[action=\"/sign-out\"] button").await;
    browser.find("form[action=\"/sign-in\"]").await;
    browser.sign_in("member@demo.farmhand.test").await;
    assert!(!browser.exists("nav a[href$=\"/jobs/new\"]").await);
    browser
        .open(&server, &format!("/orgs/{org}/jobs/new"))
        .await;
    let refusal = browser.text("main").await;
    assert!(refusal.contains("can't do this"), "{refusal}");
    assert!(refusal.contains("queue.submit"), "{refusal}");
    assert!(refusal.contains(P::QueueSubmit.title()), "{refusal}");
    assert!(refusal.contains("Who can grant it"), "{refusal}");
    assert!(refusal.contains("Demo Owner"), "{refusal}");
    browser.screenshot("rank-change-denied").await;

    browser.close().await;
    server.stop().await;
}

/// No control is offered, and a form posted by hand gets the refusal naming the permission.
async fn refused_by_hand(browser: &Browser, path: &str, permission: P, screenshot: &str) {
    browser.crafted_post(path).await;
    let refusal = browser.text("main").await;
    assert!(refusal.contains("can't do this"), "{path}: {refusal}");
    assert!(refusal.contains(permission.key()), "{path}: {refusal}");
    assert!(refusal.contains("Who can grant it"), "{path}: {refusal}");
    browser.screenshot(screenshot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_cannot_start_a_print_and_a_viewer_cannot_change_anything() {
    let server = TestServer::start(store::Backend::Sqlite).await;
    let demo = Demo::create(&server).await;
    let org = demo.org;
    let (status, waiting) = demo
        .owner
        .get(&format!("/api/v1/orgs/{org}/jobs?state=pending_approval"))
        .await;
    assert_eq!(status, StatusCode::OK, "{waiting}");
    let job = waiting["jobs"][0]["id"]
        .as_i64()
        .expect("a job waiting for approval");
    let browser = Browser::start().await;

    browser.open(&server, "/sign-in").await;
    browser.sign_in("guest@demo.farmhand.test").await;
    let printer = browser
        .attribute(".printer", "data-printer-id")
        .await
        .expect("the guest sees the printers");
    for control in [
        "button[formaction$=\"/pause\"]",
        "button[formaction$=\"/resume\"]",
        "form[action$=\"/approve\"]",
        "nav a[href$=\"/approvals\"]",
        "nav a[href$=\"/manage\"]",
    ] {
        assert!(
            !browser.exists(control).await,
            "the guest is offered {control}"
        );
    }
    browser.screenshot("guest-dashboard").await;
    // Approving the job would start it on a printer: refused, and the job still waits.
    refused_by_hand(
        &browser,
        &format!("/orgs/{org}/jobs/{job}/approve"),
        P::ApprovalReview,
        "guest-denied",
    )
    .await;
    let (_, body) = demo
        .owner
        .get(&format!("/api/v1/orgs/{org}/jobs/{job}"))
        .await;
    assert_eq!(body["state"], "pending_approval", "{body}");

    browser.open(&server, &format!("/orgs/{org}")).await;
    browser.follow("form[action=\"/sign-out\"] button").await;
    browser.find("form[action=\"/sign-in\"]").await;
    browser.sign_in("viewer@demo.farmhand.test").await;
    assert!(browser.text("main").await.contains("MK4 North 1"));
    let forms = browser
        .client
        .execute(
            "return document.querySelectorAll('main form[method=\"post\"]').length;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(forms.as_i64(), Some(0), "the viewer is offered a form");
    browser.screenshot("viewer-dashboard").await;
    refused_by_hand(
        &browser,
        &format!("/orgs/{org}/printers/{printer}/pause"),
        P::PrinterControlPauseResume,
        "viewer-denied",
    )
    .await;
    browser.open(&server, &format!("/orgs/{org}")).await;
    refused_by_hand(
        &browser,
        &format!("/orgs/{org}/manage/workgroups"),
        P::WorkgroupsManage,
        "viewer-denied-manage",
    )
    .await;

    browser.close().await;
    server.stop().await;
}

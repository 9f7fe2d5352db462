//! The web interface in a real browser: Debian's chromium, driven through chromedriver
//! (WebDriver), against the real server on a fresh SQLite database with the demo
//! organization and its simulated printers. These tests fail, never skip, when chromium or
//! chromedriver is missing (`scripts/test` installs them).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../http/common.rs"]
mod common;

mod admin;
mod harness;
mod pages;
mod pages_admin;
mod pages_work;
mod scenario;
mod walk;
mod work;

use std::time::Duration;

use serde_json::json;

use common::TestServer;
use harness::{Browser, Demo};

/// Signing in, the dashboard's printers by site, and a simulated print's state arriving live,
/// without reloading the page; then pausing it from the dashboard.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_printers_and_follows_a_print_live() {
    let server = TestServer::start(store::Backend::Sqlite).await;
    let demo = Demo::create(&server).await;
    let browser = Browser::start().await;

    browser.open(&server, "/").await;
    assert!(browser.path().await.starts_with("/sign-in"));
    browser.sign_in("owner@demo.farmhand.test").await;
    assert_eq!(browser.path().await, format!("/orgs/{}", demo.org));
    let page = browser.text("main").await;
    for shown in [
        "North Campus Lab",
        "Downtown Makerspace",
        "MK4 North 1",
        "Voron Downtown",
    ] {
        assert!(
            page.contains(shown),
            "{shown} is not on the dashboard:\n{page}"
        );
    }
    // Live updates are connected before the print starts.
    browser.wait_until_live().await;
    // The printers connect as the server starts: the page follows them to idle.
    demo.wait_until_dispatched().await;
    let printer = browser.idle_printer().await;
    browser.mark_page().await;

    // Someone starts a print at the printer itself.
    demo.start_local(&printer, "lid.gcode").await;
    browser.wait_until_printing(&printer, "lid.gcode").await;
    let card = format!(".printer[data-printer-id=\"{printer}\"]");
    browser
        .wait_for("the progress bar to move", |b| {
            let card = card.clone();
            async move {
                let value = b
                    .client
                    .execute(
                        "return document.querySelector(arguments[0] + ' progress').value;",
                        vec![json!(card)],
                    )
                    .await
                    .unwrap();
                value.as_f64().unwrap_or(0.0) >= 1.0
            }
        })
        .await;
    browser.assert_not_reloaded().await;

    // The owner may pause it: the form shows now that it prints.
    browser
        .follow(&format!("{card} button[formaction$=\"/pause\"]"))
        .await;
    assert!(browser.text(".notice").await.contains("Paused."));
    browser
        .wait_for("the printer to show paused", |b| {
            let card = card.clone();
            async move { b.attribute(&card, "data-state").await.as_deref() == Some("paused") }
        })
        .await;
    assert!(
        browser
            .visible(&format!("{card} button[formaction$=\"/resume\"]"))
            .await
    );
    browser.screenshot("dashboard").await;

    browser.close().await;
    server.stop().await;
}

/// A member submits a print through the form; it waits for approval; a manager approves it
/// in the inbox; the member without the permission is told, in words, that approving needs it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_submits_a_job_and_a_manager_approves_it() {
    let server = TestServer::start(store::Backend::Sqlite).await;
    let demo = Demo::create(&server).await;
    let browser = Browser::start().await;

    browser.open(&server, "/sign-in").await;
    browser.sign_in("member@demo.farmhand.test").await;
    browser.follow("nav a[href$=\"/jobs/new\"]").await;
    browser.find("form[enctype]").await;
    assert_eq!(browser.path().await, format!("/orgs/{}/jobs/new", demo.org));

    let course = browser
        .attribute("select[name^=\"q\"] option:nth-child(2)", "value")
        .await
        .expect("the demo's course question");
    browser.select_value("select[name^=\"q\"]", &course).await;
    browser.fill("#note", "Please print in blue").await;
    // Without a file the form says what is missing, next to the form, and keeps the rest.
    browser
        .follow("form[enctype] button[type=\"submit\"]")
        .await;
    let problem = browser.text(".problem").await;
    assert!(problem.contains("file"), "{problem}");
    assert_eq!(browser.value("#note").await, "Please print in blue");

    browser.select_index("#file", 1).await;
    browser.select_value("#target", "any").await;
    browser
        .follow("form[enctype] button[type=\"submit\"]")
        .await;
    let path = browser.path().await;
    let job: i64 = path
        .rsplit('/')
        .next()
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("not on the job's page: {path}"));
    assert!(browser.text(".notice").await.contains("submitted"));
    assert_eq!(browser.text(".job-state").await, "Waiting for approval");

    // The member may not approve: the page says which permission that needs.
    browser
        .open(&server, &format!("/orgs/{}/approvals", demo.org))
        .await;
    let refusal = browser.text("main").await;
    assert!(refusal.contains("can't do this"), "{refusal}");
    assert!(refusal.contains("approval.review"), "{refusal}");
    assert!(refusal.contains("Who can grant it"), "{refusal}");
    browser.screenshot("permission-denied").await;

    browser.follow("form[action=\"/sign-out\"] button").await;
    browser.find("form[action=\"/sign-in\"]").await;
    browser.sign_in("manager@demo.farmhand.test").await;
    browser.follow("nav a[href$=\"/approvals\"]").await;
    let item = format!("#job-{job}");
    assert!(browser.text(&item).await.contains("Demo Member"));
    browser.screenshot("approvals").await;
    browser
        .follow(&format!("{item} form[action$=\"/approve\"] button"))
        .await;
    assert!(browser.text(".notice").await.contains("approved"));
    assert!(!browser.exists(&item).await, "job {job} is still waiting");

    let (status, body) = demo
        .owner
        .get(&format!("/api/v1/orgs/{}/jobs/{job}", demo.org))
        .await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert_ne!(body["state"], "pending_approval", "{body}");

    browser.close().await;
    server.stop().await;
}

/// The browser enforces the Content-Security-Policy (an injected inline script does not run),
/// and a form posted without its CSRF token is refused with a page saying so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inline_scripts_do_not_run_and_forms_without_their_token_are_refused() {
    let server = TestServer::start(store::Backend::Sqlite).await;
    let demo = Demo::create(&server).await;
    let browser = Browser::start().await;

    browser.open(&server, "/sign-in").await;
    browser.sign_in("operator@demo.farmhand.test").await;
    browser
        .client
        .execute(
            "var s = document.createElement('script'); s.textContent = 'window.injected = 1;'; document.body.appendChild(s); return null;",
            vec![],
        )
        .await
        .unwrap();
    let injected = browser
        .client
        .execute("return window.injected === undefined;", vec![])
        .await
        .unwrap();
    assert_eq!(
        injected,
        json!(true),
        "an inline script ran despite the CSP"
    );

    // The sign-out form, stripped of its token.
    browser
        .client
        .execute(
            "document.querySelector('form[action=\"/sign-out\"] input[name=\"csrf\"]').remove(); return null;",
            vec![],
        )
        .await
        .unwrap();
    browser.follow("form[action=\"/sign-out\"] button").await;
    assert!(browser.text("h1").await.contains("This form has expired"));
    // Still signed in.
    browser.open(&server, &format!("/orgs/{}", demo.org)).await;
    assert_eq!(browser.path().await, format!("/orgs/{}", demo.org));
    assert!(browser.text("h1").await.contains("Dashboard"));

    // Phone width: nothing scrolls sideways.
    browser.client.set_window_size(360, 800).await.unwrap();
    browser.open(&server, &format!("/orgs/{}", demo.org)).await;
    let overflow = browser
        .client
        .execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        overflow.as_i64().unwrap_or(1) <= 0,
        "scrolls sideways by {overflow}"
    );
    browser.screenshot("dashboard-phone").await;

    browser.close().await;
    server.stop().await;
}

/// How long a browser test waits for something to appear.
pub(crate) const PATIENCE: Duration = Duration::from_secs(30);

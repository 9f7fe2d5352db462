//! The whole way of a print through the web interface, as the people who share the farm live
//! it: a member submits a job that needs approval; a manager approves it to a printer; an
//! operator watching the dashboard sees the simulated print run and end live, and confirms the
//! plate clear; the member sees the job completed and what it cost.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::PATIENCE;
use crate::common::TestServer;
use crate::harness::{Browser, Demo};

/// A demo printer that is idle with a clear plate (the printers connect as the server starts).
async fn idle_printer(demo: &Demo) -> i64 {
    let started = Instant::now();
    loop {
        let (status, page) = demo
            .owner
            .get(&format!("/api/v1/orgs/{}/printers", demo.org))
            .await;
        assert_eq!(status, reqwest::StatusCode::OK, "{page}");
        let idle = page["printers"].as_array().and_then(|printers| {
            printers.iter().find(|p| {
                p["live"]["state"] == "idle"
                    && p["live"]["bed_clear_pending"] != json!(true)
                    && p["maintenance"] != json!(true)
            })
        });
        if let Some(printer) = idle {
            return printer["id"].as_i64().unwrap();
        }
        assert!(
            started.elapsed() < PATIENCE,
            "no demo printer became idle: {page}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_goes_from_submission_through_approval_and_printing_to_its_charge() {
    let server = TestServer::start(store::Backend::Sqlite).await;
    let demo = Demo::create(&server).await;
    demo.wait_until_dispatched().await;
    let people = Browser::start().await;
    let operator = Browser::start().await;

    // The member submits a print; it waits for approval.
    people.open(&server, "/sign-in").await;
    people.sign_in("member@demo.farmhand.test").await;
    people
        .open(&server, &format!("/orgs/{}/jobs/new", demo.org))
        .await;
    let course = people
        .attribute("select[name^=\"q\"] option:nth-child(2)", "value")
        .await
        .expect("the demo's course question");
    people.select_value("select[name^=\"q\"]", &course).await;
    people.select_index("#file", 1).await;
    people.select_value("#target", "any").await;
    people.follow("form[enctype] button[type=\"submit\"]").await;
    let path = people.path().await;
    let job: i64 = path
        .rsplit('/')
        .next()
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("not on the job's page: {path}"));
    assert_eq!(people.text(".job-state").await, "Waiting for approval");
    assert!(
        people.text(".job-cost").await.contains("estimated"),
        "the estimate is shown while it waits"
    );

    // The operator watches the dashboard.
    operator.open(&server, "/sign-in").await;
    operator.sign_in("operator@demo.farmhand.test").await;
    assert_eq!(operator.path().await, format!("/orgs/{}", demo.org));
    operator.wait_until_live().await;
    operator.mark_page().await;

    // A manager approves it to the idle printer.
    people.follow("form[action=\"/sign-out\"] button").await;
    people.find("form[action=\"/sign-in\"]").await;
    people.sign_in("manager@demo.farmhand.test").await;
    people
        .open(&server, &format!("/orgs/{}/approvals", demo.org))
        .await;
    // An idle printer as the manager decides (the demo's own jobs keep the others busy).
    let printer = idle_printer(&demo).await;
    people
        .select_value(&format!("#printer-{job}"), &printer.to_string())
        .await;
    people
        .follow(&format!("#job-{job} form[action$=\"/approve\"] button"))
        .await;
    assert!(people.text(".notice").await.contains("approved"));

    // The operator's dashboard follows the print on that printer, live, to its end.
    let card = format!(".printer[data-printer-id=\"{printer}\"]");
    operator
        .wait_for("the approved job to print", |b| {
            let card = card.clone();
            async move {
                b.attribute(&card, "data-state").await.as_deref() == Some("printing")
                    && !b
                        .text(&format!("{card} [data-field=\"file\"]"))
                        .await
                        .is_empty()
            }
        })
        .await;
    operator.screenshot("scenario-printing").await;
    let clear = format!("{card} button[formaction$=\"/bed-clear\"]");
    operator
        .wait_for("the print to end and ask for a clear plate", |b| {
            let clear = clear.clone();
            async move { b.exists(&clear).await && b.visible(&clear).await }
        })
        .await;
    operator.assert_not_reloaded().await;

    // The operator confirms the plate is clear.
    operator.follow(&clear).await;
    assert!(
        operator
            .text(".notice")
            .await
            .contains("plate is marked clear")
    );
    operator
        .wait_for("the plate-clear form to go", |b| {
            let clear = clear.clone();
            async move { !b.visible(&clear).await }
        })
        .await;
    operator.screenshot("scenario-plate-cleared").await;

    // The member sees the job completed and what it cost, on the job and in the ledger.
    people.follow("form[action=\"/sign-out\"] button").await;
    people.find("form[action=\"/sign-in\"]").await;
    people.sign_in("member@demo.farmhand.test").await;
    people
        .open(&server, &format!("/orgs/{}/jobs/{job}", demo.org))
        .await;
    assert_eq!(people.text(".job-state").await, "Completed");
    let cost = people.text(".job-cost").await;
    assert!(cost.ends_with("charged"), "{cost}");
    people.screenshot("scenario-job-completed").await;
    people
        .open(&server, &format!("/orgs/{}/account", demo.org))
        .await;
    let charge = format!("a[href$=\"/jobs/{job}\"]");
    assert!(
        people.exists(&charge).await,
        "no ledger line for job {job}:\n{}",
        people.text("main").await
    );
    let (status, ledger) = demo
        .owner
        .get(&format!("/api/v1/orgs/{}/jobs/{job}", demo.org))
        .await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert_eq!(ledger["state"], "completed", "{ledger}");

    people.close().await;
    operator.close().await;
    server.stop().await;
}

/// A lab's screen opens a display link with no account: the site's printers, no controls, and
/// a print starting at one of them arrives live, without reloading the page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wall_display_follows_its_site_live_without_an_account() {
    let server = TestServer::start(store::Backend::Sqlite).await;
    let demo = Demo::create(&server).await;
    demo.wait_until_dispatched().await;
    let browser = Browser::start().await;

    // The owner makes a link for the first site, then leaves: the screen has no account.
    browser.open(&server, "/sign-in").await;
    browser.sign_in("owner@demo.farmhand.test").await;
    let (link, site) = browser.make_display_link(&server, demo.org).await;
    browser.follow("form[action=\"/sign-out\"] button").await;
    browser.find("form[action=\"/sign-in\"]").await;

    browser.open(&server, &link).await;
    assert_eq!(browser.text("h1").await, site);
    assert!(!browser.exists("form").await, "a display has no controls");
    browser.wait_until_live().await;
    let printer = browser.idle_printer().await;
    browser.mark_page().await;

    demo.start_local(&printer, "wall.gcode").await;
    browser.wait_until_printing(&printer, "wall.gcode").await;
    browser.assert_not_reloaded().await;
    browser.screenshot("wall-display-printing").await;

    browser.close().await;
    server.stop().await;
}

//! Submitting and slicing in the browser: a refused upload shown in place, a G-code upload with
//! its progress bar, the analysis and estimate before submitting; a demo model sliced with basic settings, its progress
//! followed live, and the G-code it made submitted.

use serde_json::Value;

use crate::common::TestServer;
use crate::harness::{Browser, Demo};

const CUBE: &[u8] = include_bytes!("../../../app/fixtures/demo/calibration_cube.gcode");

/// Answers the demo's required course question on the submission form.
async fn answer_the_course(browser: &Browser) {
    let course = browser
        .attribute("select[name^=\"q\"] option:nth-child(2)", "value")
        .await
        .expect("the demo's course question");
    browser.select_value("select[name^=\"q\"]", &course).await;
}

/// Records, across the next page loads of this tab, the highest value the upload progress bar
/// showed (the page's own script sets it).
async fn watch_the_progress_bar(browser: &Browser) {
    browser
        .client
        .execute(
            "var bar = document.querySelector('[data-upload-progress] progress');
             sessionStorage.setItem('farmhandUploadSeen', '-1');
             new MutationObserver(function () {
               var box = document.querySelector('[data-upload-progress]');
               if (box && !box.hidden) {
                 var seen = Number(sessionStorage.getItem('farmhandUploadSeen'));
                 sessionStorage.setItem('farmhandUploadSeen', String(Math.max(seen, bar.value)));
               }
             }).observe(document.querySelector('form[data-upload-form]'),
                        { attributes: true, subtree: true, characterData: true, childList: true });
             return null;",
            vec![],
        )
        .await
        .unwrap();
}

/// Sends a file the library refuses (text, not G-code): the form comes back in place of the old
/// one with the refusal focused (for screen readers) and what was entered kept, while the page
/// around it stays the same document (the script swaps the main part; it does not rewrite the
/// page).
async fn refused_upload_shows_in_place(browser: &Browser, file: &std::path::Path) {
    let run =
        |script: &'static str| async move { browser.client.execute(script, vec![]).await.unwrap() };
    run("document.querySelector('header.top').dataset.farmhandKept = 'yes'; return null;").await;
    let path = browser.path().await;
    browser
        .find("#upload")
        .await
        .send_keys(file.to_str().unwrap())
        .await
        .unwrap();
    browser.click("button[value=\"review\"]").await;
    let problem = browser.text("#problem").await;
    assert!(problem.contains("not G-code"), "{problem}");
    assert_eq!(
        run("return document.activeElement.id;").await,
        serde_json::json!("problem"),
        "the refusal has the focus"
    );
    assert_eq!(
        run("return document.querySelector('header.top').dataset.farmhandKept || null;").await,
        serde_json::json!("yes"),
        "the page was rewritten instead of its main part swapped"
    );
    assert_eq!(
        run("return document.querySelectorAll('main').length;").await,
        serde_json::json!(1)
    );
    assert_eq!(browser.path().await, path);
    assert_eq!(browser.value("#note").await, "The lid, please");
    assert_eq!(
        browser
            .attribute("#upload", "aria-invalid")
            .await
            .as_deref(),
        Some("true")
    );
    browser.screenshot("work-submit-refused-upload").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_uploads_g_code_sees_the_estimate_and_submits() {
    let server = TestServer::start(store::Backend::Sqlite).await;
    let demo = Demo::create(&server).await;
    let browser = Browser::start().await;
    let dir = tempfile::tempdir().unwrap();
    let gcode = dir.path().join("lid.gcode");
    std::fs::write(&gcode, CUBE).unwrap();
    let notes = dir.path().join("notes.gcode");
    std::fs::write(&notes, "eggs, milk and a spool of PLA\n").unwrap();

    browser.open(&server, "/sign-in").await;
    browser.sign_in("member@demo.farmhand.test").await;
    browser.follow("nav a[href$=\"/jobs/new\"]").await;
    answer_the_course(&browser).await;
    browser.fill("#note", "The lid, please").await;
    refused_upload_shows_in_place(&browser, &notes).await;
    browser
        .find("#upload")
        .await
        .send_keys(gcode.to_str().unwrap())
        .await
        .unwrap();
    watch_the_progress_bar(&browser).await;
    browser.follow("button[value=\"review\"]").await;
    browser.find("#review").await;
    let seen = browser
        .client
        .execute(
            "return sessionStorage.getItem('farmhandUploadSeen');",
            vec![],
        )
        .await
        .unwrap();
    let seen: f64 = seen.as_str().unwrap_or("-1").parse().unwrap();
    assert!(seen >= 0.0, "the progress bar never showed");
    // The analysis and the estimate, before anything is submitted.
    let review = browser.text("#review").await;
    assert!(review.contains("lid.gcode"), "{review}");
    assert!(review.contains("Printing time"), "{review}");
    assert!(review.contains("Material"), "{review}");
    assert!(
        review.contains("Estimated cost") || review.contains("Printing is free here."),
        "{review}"
    );
    assert_eq!(browser.value("#note").await, "The lid, please");
    let chosen = browser.value("#file").await;
    assert!(!chosen.is_empty(), "the uploaded file is chosen");
    let (_, jobs) = demo
        .owner
        .get(&format!("/api/v1/orgs/{}/jobs?limit=200", demo.org))
        .await;
    // The demo's printers keep printing meanwhile: jobs leave this list as they end, so the
    // new job is told apart by its id, not by counting.
    let ids = |jobs: &Value| -> Vec<i64> {
        jobs["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|job| job["id"].as_i64())
            .collect()
    };
    let before = ids(&jobs);
    browser.screenshot("work-submit-review").await;

    browser.follow("button[value=\"submit\"]").await;
    assert!(
        browser
            .text(".notice")
            .await
            .contains("Your job was submitted."),
        "{}",
        browser.text("main").await
    );
    assert!(browser.text("main").await.contains("lid.gcode"));
    let (_, jobs) = demo
        .owner
        .get(&format!("/api/v1/orgs/{}/jobs?limit=200", demo.org))
        .await;
    let new: Vec<&Value> = jobs["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|job| job["id"].as_i64().is_some_and(|id| !before.contains(&id)))
        .collect();
    assert_eq!(new.len(), 1, "exactly one job submitted: {jobs}");
    assert_eq!(new[0]["note"], "The lid, please", "{jobs}");

    browser.close().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_slices_a_demo_model_and_submits_the_g_code() {
    let server = TestServer::start(store::Backend::Sqlite).await;
    let demo = Demo::create(&server).await;
    let browser = Browser::start().await;
    let (_, files) = demo
        .owner
        .get(&format!("/api/v1/orgs/{}/files?limit=200", demo.org))
        .await;
    let model: &Value = files["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "calibration_cube.stl")
        .unwrap_or_else(|| panic!("no demo model: {files}"));

    browser.open(&server, "/sign-in").await;
    browser.sign_in("member@demo.farmhand.test").await;
    browser.follow("nav a[href$=\"/library\"]").await;
    // The demo's models are in the Member's project.
    browser
        .follow(&format!(
            "a[href$=\"/library/projects/{}\"]",
            model["project_id"]
        ))
        .await;
    browser
        .follow(&format!("a[href$=\"/files/{}\"]", model["id"]))
        .await;
    browser.follow("a[href$=\"/slice\"]").await;
    let settings = browser.text("main").await;
    assert!(settings.contains("Basic settings"), "{settings}");
    assert!(!settings.contains("Expert settings"), "{settings}");
    browser.screenshot("work-slice-settings").await;
    browser.fill("input[name=\"s.layer_height\"]", "0.25").await;
    browser
        .follow("form[action$=\"/slices\"] button[type=\"submit\"]")
        .await;
    assert!(browser.path().await.contains("/slices/"));
    // The page follows the slice to its end by itself (its events; no one reloads it).
    browser
        .wait_for("the slice to finish", |b| async move {
            b.exists("a[href*=\"/jobs/new?file=\"]").await || b.exists(".problem").await
        })
        .await;
    let page = browser.text("main").await;
    assert!(page.contains("Done"), "{page}");
    assert!(page.contains("layer_height"), "{page}");
    browser.screenshot("work-slice-done").await;

    browser.follow("a[href*=\"/jobs/new?file=\"]").await;
    browser.find("#review").await;
    let review = browser.text("#review").await;
    assert!(review.contains("Printing time"), "{review}");
    answer_the_course(&browser).await;
    browser.follow("button[value=\"submit\"]").await;
    assert!(
        browser
            .text(".notice")
            .await
            .contains("Your job was submitted."),
        "{}",
        browser.text("main").await
    );
    // The job records which model made its G-code.
    let job_path = browser.path().await;
    let job_id = job_path.rsplit('/').next().unwrap().to_string();
    let (_, job) = demo
        .owner
        .get(&format!("/api/v1/orgs/{}/jobs/{job_id}", demo.org))
        .await;
    let (_, file) = demo
        .owner
        .get(&format!(
            "/api/v1/orgs/{}/files/{}",
            demo.org, job["file_id"]
        ))
        .await;
    assert_eq!(file["sliced_from"]["model_file_id"], model["id"], "{file}");

    browser.close().await;
    server.stop().await;
}

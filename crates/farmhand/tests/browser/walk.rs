//! Every page of the web interface in the browser, at desktop and phone width: an automated
//! accessibility check (axe-core, installed from the npm registry by `scripts/test`), no
//! sideways scrolling at 360 px, and a screenshot of each for people to look at.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::{Client, TestServer};
use crate::harness::{Browser, Demo};
use crate::{pages, pages_admin, pages_work};

/// Every list of pages the walk opens: one line per list.
const PAGE_LISTS: &[&[(&str, &str)]] = &[pages::PAGES, pages_admin::PAGES, pages_work::PAGES];

/// The narrowest phone the interface is made for.
const PHONE_WIDTH: u32 = 360;
const PHONE_HEIGHT: u32 = 800;
const DESKTOP: (u32, u32) = (1280, 900);

/// Where `scripts/test` installs axe-core (`npm install --prefix target/npm axe-core@4`).
fn axe_core_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/npm/node_modules/axe-core/axe.min.js")
}

fn axe_core_source() -> String {
    let path = axe_core_path();
    std::fs::read_to_string(&path).unwrap_or_else(|error| {
        panic!(
            "axe-core is missing at {} ({error}): the accessibility test needs it from the npm \
             registry (npm install --prefix target/npm axe-core@4; scripts/test installs it)",
            path.display()
        )
    })
}

/// The first `id` of a list the API answers with (a bare array, or the first array field of
/// a page such as `{"files": [...]}`), optionally the first matching `wanted`.
fn first_id(body: &Value, wanted: impl Fn(&Value) -> bool) -> Option<i64> {
    let items = match body {
        Value::Array(items) => items,
        Value::Object(fields) => fields.values().find_map(Value::as_array)?,
        _ => return None,
    };
    items.iter().find(|item| wanted(item))?["id"].as_i64()
}

async fn listed_id(owner: &Client, path: &str, wanted: impl Fn(&Value) -> bool) -> String {
    let (status, body) = owner.get(path).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{path}: {body}");
    first_id(&body, wanted)
        .unwrap_or_else(|| panic!("the demo has nothing at {path} for the page walk: {body}"))
        .to_string()
}

/// The placeholders of the page lists, resolved from the demo organization.
async fn placeholders(demo: &Demo) -> BTreeMap<&'static str, String> {
    let api = format!("/api/v1/orgs/{}", demo.org);
    let any = |_: &Value| true;
    let owner = &demo.owner;
    let mut values = BTreeMap::new();
    values.insert("{org}", demo.org.to_string());
    values.insert("{job}", listed_id(owner, &format!("{api}/jobs"), any).await);
    values.insert(
        "{printer}",
        listed_id(owner, &format!("{api}/printers"), any).await,
    );
    values.insert(
        "{member}",
        listed_id(owner, &format!("{api}/members"), |m| {
            m["email"] == "member@demo.farmhand.test"
        })
        .await,
    );
    values.insert(
        "{file}",
        listed_id(owner, &format!("{api}/files"), any).await,
    );
    let named = |suffixes: &'static [&'static str]| {
        move |f: &Value| {
            f["name"]
                .as_str()
                .is_some_and(|name| suffixes.iter().any(|s| name.ends_with(s)))
        }
    };
    values.insert(
        "{gcode_file}",
        listed_id(owner, &format!("{api}/files"), named(&[".gcode"])).await,
    );
    values.insert(
        "{model_file}",
        listed_id(
            owner,
            &format!("{api}/files"),
            named(&[".stl", ".3mf", ".obj"]),
        )
        .await,
    );
    values.insert(
        "{project}",
        listed_id(owner, &format!("{api}/projects"), any).await,
    );
    values.insert(
        "{model}",
        listed_id(owner, &format!("{api}/printer-models"), any).await,
    );
    values.insert(
        "{slicer_profile}",
        listed_id(owner, &format!("{api}/slicer/profiles"), any).await,
    );
    values.insert(
        "{rank}",
        listed_id(owner, &format!("{api}/ranks"), any).await,
    );
    values.insert(
        "{site}",
        listed_id(owner, &format!("{api}/sites"), any).await,
    );
    values
}

fn resolved(path: &str, values: &BTreeMap<&'static str, String>) -> String {
    let mut path = path.to_string();
    for (placeholder, value) in values {
        path = path.replace(placeholder, value);
    }
    assert!(
        !path.contains('{'),
        "{path} has a placeholder the walk does not know"
    );
    path
}

/// What is wrong with the page open in the browser: its serious and critical accessibility
/// violations, and sideways scrolling when the window is phone-wide.
async fn problems(browser: &Browser, axe: &str, phone: bool) -> Vec<String> {
    let mut found = Vec::new();
    // WebDriver scripts run outside the page's Content-Security-Policy (which forbids inline
    // scripts): this is how axe-core gets into a page that would refuse it otherwise.
    browser
        .client
        .execute(&format!("{axe}\nreturn null;"), vec![])
        .await
        .unwrap();
    let violations = browser
        .client
        .execute_async(
            "var done = arguments[arguments.length - 1];
             axe.run(document, { resultTypes: ['violations'] }).then(function (result) {
               done(result.violations
                 .filter(function (v) { return v.impact === 'serious' || v.impact === 'critical'; })
                 .map(function (v) {
                   return v.impact + ' ' + v.id + ': ' + v.help + ' at ' +
                     v.nodes.map(function (n) { return n.target.join(' '); }).join(', ');
                 }));
             }, function (error) { done(['axe-core failed: ' + error]); });",
            vec![],
        )
        .await
        .unwrap();
    for violation in violations.as_array().cloned().unwrap_or_default() {
        found.push(violation.as_str().unwrap_or_default().to_string());
    }
    if phone {
        let widths = browser
            .client
            .execute(
                "return [document.documentElement.scrollWidth, window.innerWidth];",
                vec![],
            )
            .await
            .unwrap();
        let (scroll, inner) = (widths[0].as_i64().unwrap(), widths[1].as_i64().unwrap());
        if scroll > inner {
            found.push(format!(
                "scrolls sideways at {inner} px: the page is {scroll} px wide"
            ));
        }
    }
    found
}

/// Opens one page at both widths: checks it and saves its screenshots.
async fn walk_page(
    browser: &Browser,
    server: &TestServer,
    axe: &str,
    name: &str,
    path: &str,
) -> Vec<String> {
    let mut found = Vec::new();
    for phone in [false, true] {
        let (width, height) = if phone {
            (PHONE_WIDTH, PHONE_HEIGHT)
        } else {
            DESKTOP
        };
        browser.client.set_window_size(width, height).await.unwrap();
        browser.open(server, path).await;
        if browser.exists("[data-problem-page]").await {
            found.push(format!("shows a problem: {}", browser.text("main").await));
            break;
        }
        for problem in problems(browser, axe, phone).await {
            found.push(format!("{} px: {problem}", width));
        }
        let suffix = if phone { "phone" } else { "desktop" };
        browser.screenshot(&format!("pages/{name}-{suffix}")).await;
    }
    found
        .into_iter()
        .map(|problem| format!("{name} ({path}) {problem}"))
        .collect()
}

/// Signed in as the demo's owner, every GET page of the interface (and the sign-in page
/// before that): no serious or critical accessibility violation, no sideways scrolling at
/// 360 px, and a screenshot at desktop and phone width under `target/screenshots/pages/`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_is_accessible_and_fits_a_phone() {
    let axe = axe_core_source();
    let server = TestServer::start(store::Backend::Sqlite).await;
    let demo = Demo::create(&server).await;
    let browser = Browser::start().await;

    let mut found = walk_page(&browser, &server, &axe, "sign-in", "/sign-in").await;
    browser
        .client
        .set_window_size(DESKTOP.0, DESKTOP.1)
        .await
        .unwrap();
    browser.sign_in("owner@demo.farmhand.test").await;
    let mut values = placeholders(&demo).await;
    let (link, _) = browser.make_display_link(&server, demo.org).await;
    values.insert(
        "{display}",
        link.trim_start_matches("/display/").to_string(),
    );
    let mut walked = 0;
    for list in PAGE_LISTS {
        for (name, path) in *list {
            let path = resolved(path, &values);
            found.extend(walk_page(&browser, &server, &axe, name, &path).await);
            walked += 1;
        }
    }
    assert!(walked > 0, "no pages to walk");
    assert!(
        found.is_empty(),
        "{} problems on the pages:\n{}",
        found.len(),
        found.join("\n")
    );

    browser.close().await;
    server.stop().await;
}

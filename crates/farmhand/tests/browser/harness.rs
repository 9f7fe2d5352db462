//! Chromium through chromedriver, and the demo organization to look at.

use std::future::Future;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fantoccini::{ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use crate::PATIENCE;
use crate::common::{Client, TestServer};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The demo organization on the test server, and its owner signed in to the API.
pub struct Demo {
    pub org: i64,
    pub owner: Client,
}

impl Demo {
    pub async fn create(server: &TestServer) -> Demo {
        let info = server.app().console().ensure_demo().await.unwrap();
        let owner = server.client();
        owner
            .sign_in("owner@demo.farmhand.test", app::demo::DEMO_PASSWORD)
            .await;
        Demo {
            org: info.org.get(),
            owner,
        }
    }

    /// Waits until the dispatcher has sent the demo's queued job to a printer, so it takes
    /// no printer a test is about to use.
    pub async fn wait_until_dispatched(&self) {
        let started = Instant::now();
        loop {
            let (status, page) = self
                .owner
                .get(&format!("/api/v1/orgs/{}/jobs?state=queued", self.org))
                .await;
            assert_eq!(status, reqwest::StatusCode::OK, "{page}");
            if page["jobs"].as_array().is_some_and(Vec::is_empty) {
                return;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "the demo's queued job was never dispatched: {page}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Demo {
    /// Someone starts a print of `file_name` at the printer itself (a simulated fault).
    pub async fn start_local(&self, printer: &str, file_name: &str) {
        let (status, body) = self
            .owner
            .post(
                &format!(
                    "/api/v1/orgs/{}/printers/{printer}/simulation/faults",
                    self.org
                ),
                json!({ "fault": "start_local", "file_name": file_name, "duration_s": 3600 }),
            )
            .await;
        assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    }
}

/// chromedriver, ended when the last handle to it goes.
struct Driver {
    child: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A browser session: cheap to clone (the tests' waiting conditions take one).
#[derive(Clone)]
pub struct Browser {
    pub client: fantoccini::Client,
    base: Arc<std::sync::Mutex<String>>,
    _driver: Arc<Driver>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Browser {
    /// Starts chromedriver on a free port and a headless chromium with a fresh profile.
    /// Fails (never skips) when either is missing.
    pub async fn start() -> Browser {
        for needed in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(needed).exists(),
                "{needed} is missing: the browser tests need Debian's chromium and chromium-driver \
                 (apt-get install chromium chromium-driver; scripts/test installs them)"
            );
        }
        let profile = tempfile::tempdir().unwrap();
        let port = free_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let driver = Driver {
            child,
            _profile: profile,
        };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not listen on port {port}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile_dir = driver._profile.path().display().to_string();
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--disable-dev-shm-usage",
                    "--window-size=1280,900",
                    format!("--user-data-dir={profile_dir}"),
                ],
            }),
        );
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("chromium starts under chromedriver");
        Browser {
            client,
            base: Arc::new(std::sync::Mutex::new(String::new())),
            _driver: Arc::new(driver),
        }
    }

    pub async fn open(&self, server: &TestServer, path: &str) {
        *self.base.lock().unwrap() = server.base.clone();
        self.client
            .goto(&format!("{}{path}", server.base))
            .await
            .unwrap();
    }

    /// The current page's path (without the query).
    pub async fn path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_string()
    }

    /// Signs in on the sign-in page with the demo password, and waits to leave it.
    pub async fn sign_in(&self, email: &str) {
        self.fill("#email", email).await;
        self.fill("#password", app::demo::DEMO_PASSWORD).await;
        self.follow("form[action=\"/sign-in\"] button").await;
        assert!(
            !self.path().await.starts_with("/sign-in"),
            "{email} could not sign in"
        );
    }

    /// Waits for the element.
    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        match self
            .client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(error) => panic!(
                "no {css} on {:?}: {error}\n{}",
                self.client.current_url().await,
                self.client.source().await.unwrap_or_default()
            ),
        }
    }

    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap()
    }

    pub async fn exists(&self, css: &str) -> bool {
        !self
            .client
            .find_all(Locator::Css(css))
            .await
            .unwrap()
            .is_empty()
    }

    pub async fn visible(&self, css: &str) -> bool {
        self.find(css).await.is_displayed().await.unwrap()
    }

    /// An attribute of the first element matching, if there is one.
    pub async fn attribute(&self, css: &str, name: &str) -> Option<String> {
        let element = self.client.find(Locator::Css(css)).await.ok()?;
        element.attr(name).await.ok().flatten()
    }

    /// A form field's current value.
    pub async fn value(&self, css: &str) -> String {
        self.find(css)
            .await
            .prop("value")
            .await
            .unwrap()
            .unwrap_or_default()
    }

    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap();
    }

    /// Clicks something that loads another page (a link, a form's button) and waits until the
    /// new page has loaded.
    pub async fn follow(&self, css: &str) {
        self.client
            .execute("window.farmhandLeaving = true; return null;", vec![])
            .await
            .unwrap();
        self.click(css).await;
        self.wait_for_next_page().await;
    }

    /// Waits until the page marked as being left (`window.farmhandLeaving`) has been replaced
    /// by the next one, fully loaded.
    async fn wait_for_next_page(&self) {
        self.wait_for("the next page", |b| async move {
            let state = b
                .client
                .execute(
                    "return window.farmhandLeaving === undefined && document.readyState === 'complete';",
                    vec![],
                )
                .await;
            matches!(state, Ok(serde_json::Value::Bool(true)))
        })
        .await;
    }

    pub async fn fill(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        element.clear().await.unwrap();
        element.send_keys(text).await.unwrap();
    }

    pub async fn select_index(&self, css: &str, index: usize) {
        self.find(css).await.select_by_index(index).await.unwrap();
    }

    pub async fn select_value(&self, css: &str, value: &str) {
        self.find(css).await.select_by_value(value).await.unwrap();
    }

    /// Polls `check` until it holds; fails naming `what` after [`PATIENCE`].
    pub async fn wait_for<F, Fut>(&self, what: &str, check: F)
    where
        F: Fn(Browser) -> Fut,
        Fut: Future<Output = bool>,
    {
        let started = Instant::now();
        while !check(self.clone()).await {
            assert!(
                started.elapsed() < PATIENCE,
                "waited {PATIENCE:?} for {what}; the page is {:?}:\n{}",
                self.client.current_url().await,
                self.client.source().await.unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Sets the window's size: 1280 × 900 for the desktop screenshots, 360 wide for a phone.
    pub async fn window(&self, width: u32, height: u32) {
        self.client.set_window_size(width, height).await.unwrap();
    }

    /// Posts a form the page does not offer (with the session's CSRF token, taken from the
    /// sign-out form), as someone crafting it by hand would, and waits for the answer's page.
    pub async fn crafted_post(&self, path: &str) {
        self.client
            .execute(
                "var f = document.createElement('form'); f.method = 'post'; f.action = arguments[0];
                 var t = document.createElement('input'); t.type = 'hidden'; t.name = 'csrf';
                 t.value = document.querySelector('form[action=\"/sign-out\"] input[name=\"csrf\"]').value;
                 f.appendChild(t); document.body.appendChild(f);
                 window.farmhandLeaving = true; f.submit(); return null;",
                vec![serde_json::Value::String(path.to_string())],
            )
            .await
            .unwrap();
        self.wait_for_next_page().await;
    }

    /// Waits until the page's live updates (`.fleet`) are connected.
    pub async fn wait_until_live(&self) {
        self.wait_for("the live updates to connect", |b| async move {
            b.attribute(".fleet", "data-live").await.as_deref() == Some("connected")
        })
        .await;
    }

    /// Waits for an idle printer's card: its printer's ID.
    pub async fn idle_printer(&self) -> String {
        self.wait_for("an idle printer", |b| async move {
            b.exists(".printer[data-state=\"idle\"]").await
        })
        .await;
        self.attribute(".printer[data-state=\"idle\"]", "data-printer-id")
            .await
            .expect("an idle printer's card")
    }

    /// Waits until the printer's card shows it printing `file_name`, with the time left.
    pub async fn wait_until_printing(&self, printer: &str, file_name: &str) {
        let card = format!(".printer[data-printer-id=\"{printer}\"]");
        self.wait_for("the printer to show printing", |b| {
            let card = card.clone();
            async move {
                b.attribute(&card, "data-state").await.as_deref() == Some("printing")
                    && b.text(&format!("{card} [data-field=\"file\"]")).await == file_name
                    && b.text(&format!("{card} [data-field=\"remaining\"]"))
                        .await
                        .ends_with("left")
            }
        })
        .await;
        assert_eq!(
            self.text(&format!("{card} [data-field=\"state\"]")).await,
            "Printing"
        );
    }

    /// Marks the page open now: a reload would lose the mark (see `assert_not_reloaded`).
    pub async fn mark_page(&self) {
        self.client
            .execute("window.farmhandMark = 'kept'; return null;", vec![])
            .await
            .unwrap();
    }

    /// Fails when the page marked by `mark_page` was reloaded since.
    pub async fn assert_not_reloaded(&self) {
        let mark = self
            .client
            .execute("return window.farmhandMark || null;", vec![])
            .await
            .unwrap();
        assert_eq!(mark, json!("kept"), "the page was reloaded");
    }

    /// Makes a wall display link through its form (signed in as someone who manages sites),
    /// for the first site offered: the link's path and the site's name.
    pub async fn make_display_link(&self, server: &TestServer, org: i64) -> (String, String) {
        self.open(server, &format!("/orgs/{org}/displays")).await;
        let site = self.text("#site_id option:checked").await;
        self.fill("#name", "Lab entrance").await;
        self.follow("form[action$=\"/displays\"] button[type=\"submit\"]")
            .await;
        let link = self
            .attribute("[data-field=\"display-link\"]", "href")
            .await
            .expect("the new display link on the page");
        (link, site)
    }

    /// Saves a screenshot under `target/screenshots/`, for people to look at.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        let file = screenshots_dir().join(format!("{name}.png"));
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, png).unwrap();
    }

    pub async fn close(self) {
        self.client.clone().close().await.unwrap();
    }
}

fn screenshots_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("screenshots")
}

//! A real Farmhand server on a fresh database, and a client with a cookie jar.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use app::PasswordHasher;
use domain::{ManualClock, Timestamp};
use farmhand::{Config, Server, ServerOptions};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use store::Backend;
use testkit::TestDatabase;

pub const PASSWORD: &str = "correct horse battery";

pub struct TestServer {
    pub base: String,
    pub server: Option<Server>,
    pub clock: Arc<ManualClock>,
    pub db: Option<TestDatabase>,
    pub backend: Backend,
    /// The data directory (the credential key lives there).
    pub data_dir: tempfile::TempDir,
    /// Changes to the default configuration, applied at every (re)start.
    configure: fn(&mut Config),
}

impl TestServer {
    pub async fn start(backend: Backend) -> TestServer {
        TestServer::start_with(backend, |_| {}).await
    }

    /// Starts with `configure` applied to the test configuration (limits, …).
    pub async fn start_with(backend: Backend, configure: fn(&mut Config)) -> TestServer {
        let db = TestDatabase::new(backend).await;
        let data_dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(
            Timestamp::parse_rfc3339("2026-11-22T09:00:00Z").unwrap(),
        ));
        let server = launch(&db, &data_dir, clock.clone(), configure).await;
        TestServer {
            base: format!("http://{}", server.addr()),
            server: Some(server),
            clock,
            db: Some(db),
            backend,
            data_dir,
            configure,
        }
    }

    /// The directory uploads are staged in while they arrive.
    pub fn staging_dir(&self) -> std::path::PathBuf {
        self.data_dir.path().join("tmp")
    }

    /// The files in the staging directory now.
    pub fn staged_files(&self) -> Vec<std::path::PathBuf> {
        std::fs::read_dir(self.staging_dir())
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect()
    }

    /// Stops the server and starts a new one on the same database and data directory, as after
    /// a reboot; the address changes, so clients must be made anew.
    pub async fn restart(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await.unwrap();
        }
        let server = launch(
            self.db.as_ref().unwrap(),
            &self.data_dir,
            self.clock.clone(),
            self.configure,
        )
        .await;
        self.base = format!("http://{}", server.addr());
        self.server = Some(server);
    }

    pub fn app(&self) -> &app::App {
        self.server.as_ref().unwrap().app()
    }

    pub fn client(&self) -> Client {
        Client {
            base: self.base.clone(),
            http: reqwest::Client::builder()
                .cookie_store(true)
                .build()
                .unwrap(),
            bearer: None,
        }
    }

    pub fn token_client(&self, secret: &str) -> Client {
        Client {
            base: self.base.clone(),
            http: reqwest::Client::new(),
            bearer: Some(secret.to_string()),
        }
    }

    /// A site "Workshop" with one printer of a new model (`model`: the model's JSON), put in
    /// maintenance so that jobs stay queued (the dispatcher's own tests send them): returns
    /// the model's ID.
    pub async fn workshop_in_maintenance(
        &self,
        owner: &Client,
        org: i64,
        model: Value,
        printer_name: &str,
    ) -> i64 {
        let (status, site) = owner
            .post(
                &format!("/api/v1/orgs/{org}/sites"),
                json!({ "name": "Workshop" }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{site}");
        let (status, model) = owner
            .post(&format!("/api/v1/orgs/{org}/printer-models"), model)
            .await;
        assert_eq!(status, StatusCode::CREATED, "{model}");
        let (status, printer) = owner
            .post(
                &format!("/api/v1/orgs/{org}/printers"),
                json!({ "name": printer_name, "site_id": site["id"], "model_id": model["id"] }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{printer}");
        let (status, _) = owner
            .put(
                &format!("/api/v1/orgs/{org}/printers/{}/maintenance", printer["id"]),
                json!({ "on": true }),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        model["id"].as_i64().unwrap()
    }

    /// Creates an organization from the console and signs its owner in (changing the
    /// one-time password first, as the server demands).
    pub async fn org_with_owner(&self, name: &str, email: &str) -> (i64, Client) {
        org_with_owner_on(self.app(), self.client(), name, email).await
    }

    /// The rank named `name`, as `owner` sees it.
    pub async fn rank(&self, owner: &Client, org: i64, name: &str) -> Value {
        let (_, ranks) = owner.get(&format!("/api/v1/orgs/{org}/ranks")).await;
        ranks
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("no rank {name}: {ranks}"))
            .clone()
    }

    pub async fn rank_id(&self, owner: &Client, org: i64, name: &str) -> i64 {
        self.rank(owner, org, name).await["id"].as_i64().unwrap()
    }

    /// Invites `email` with `rank` and accepts as a new account: returns the signed-in client
    /// and the member's ID.
    pub async fn member(
        &self,
        inviter: &Client,
        org: i64,
        rank: &str,
        email: &str,
    ) -> (Client, i64) {
        let rank_id = self.rank_id(inviter, org, rank).await;
        let (status, invitation) = inviter
            .post(
                &format!("/api/v1/orgs/{org}/invitations"),
                json!({ "email": email, "rank_id": rank_id }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{invitation}");
        let client = self.client();
        let token = invitation["token"].as_str().unwrap();
        let (status, member) = client
            .post(
                &format!("/api/v1/invitations/{token}/accept"),
                json!({ "name": email, "password": PASSWORD }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{member}");
        (client, member["id"].as_i64().unwrap())
    }

    /// Drives the printer's supervision a step at a time (an observation now, as its next poll
    /// would take) until the live state, read through the API, satisfies `check`.
    pub async fn wait_for(
        &self,
        owner: &Client,
        printer: &str,
        what: &str,
        check: impl Fn(&Value) -> bool,
    ) -> Value {
        self.wait_within(owner, printer, what, Duration::from_secs(15), check)
            .await
    }

    pub async fn wait_within(
        &self,
        owner: &Client,
        printer: &str,
        what: &str,
        within: Duration,
        check: impl Fn(&Value) -> bool,
    ) -> Value {
        let id: i64 = printer.rsplit('/').next().unwrap().parse().unwrap();
        let deadline = tokio::time::Instant::now() + within;
        let mut last = Value::Null;
        while tokio::time::Instant::now() < deadline {
            // A step fails while the printer is away (the observation records it); keep driving.
            let _ = self.app().observe_printer_now(domain::PrinterId(id)).await;
            let (status, live) = owner.get(&format!("{printer}/live")).await;
            if status == StatusCode::OK && check(&live) {
                return live;
            }
            last = live;
            // The simulated printer moves with time; give it a moment between steps.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("{printer} never became {what} within {within:?}; last: {last}");
    }

    pub async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await.unwrap();
        }
        if let Some(db) = self.db.take() {
            db.drop_database().await;
        }
    }
}

#[derive(Clone)]
pub struct Client {
    pub base: String,
    pub http: reqwest::Client,
    pub bearer: Option<String>,
}

impl Client {
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let response = self.send(method, path, body).await;
        let status = response.status();
        let text = response.text().await.unwrap();
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, value)
    }

    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> reqwest::Response {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(bearer) = &self.bearer {
            request = request.bearer_auth(bearer);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }

    /// POSTs JSON with an extra header (an `Idempotency-Key`).
    pub async fn post_with_header(
        &self,
        path: &str,
        body: Value,
        (name, value): (&str, &str),
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .header(name, value)
            .json(&body);
        if let Some(bearer) = &self.bearer {
            request = request.bearer_auth(bearer);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// POSTs raw bytes (a G-code file).
    pub async fn raw_post(&self, path: &str, body: Vec<u8>) -> reqwest::Response {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/octet-stream")
            .body(body);
        if let Some(bearer) = &self.bearer {
            request = request.bearer_auth(bearer);
        }
        request.send().await.unwrap()
    }

    /// GETs without reading the body (a stream).
    pub async fn raw_get(&self, path: &str) -> reqwest::Response {
        self.send(Method::GET, path, None).await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.request(Method::GET, path, None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.request(Method::POST, path, Some(body)).await
    }
    pub async fn post_empty(&self, path: &str) -> (StatusCode, Value) {
        self.request(Method::POST, path, None).await
    }
    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.request(Method::PATCH, path, Some(body)).await
    }
    pub async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.request(Method::PUT, path, Some(body)).await
    }
    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.request(Method::DELETE, path, None).await
    }

    pub async fn sign_in(&self, email: &str, password: &str) {
        let (status, body) = self
            .post(
                "/api/v1/auth/sign-in",
                json!({ "email": email, "password": password }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
}

/// A server on `db` with its data in `data_dir`.
pub async fn launch(
    db: &TestDatabase,
    data_dir: &tempfile::TempDir,
    clock: Arc<dyn domain::Clock>,
    configure: fn(&mut Config),
) -> Server {
    let mut config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: data_dir.path().to_path_buf(),
        database_url: match &db.url {
            store::DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
            store::DatabaseUrl::Postgres(url) => url.clone(),
        },
        ..Config::default()
    };
    configure(&mut config);
    let store = farmhand::open_store(&config).await.unwrap();
    let options = ServerOptions {
        clock,
        hasher: PasswordHasher::fast_for_tests().unwrap(),
    };
    let app = farmhand::build_app(store, &config, options).unwrap();
    Server::start(&config, app).await.unwrap()
}

/// Creates an organization from `app`'s console and signs its owner in with `owner` (changing
/// the one-time password first, as the server demands).
pub async fn org_with_owner_on(
    app: &app::App,
    owner: Client,
    name: &str,
    email: &str,
) -> (i64, Client) {
    let created = app
        .console()
        .create_org(name, email, Some("Owner"), authz::Preset::Farmhand)
        .await
        .unwrap();
    owner
        .sign_in(email, created.one_time_password.as_deref().unwrap())
        .await;
    let (status, body) = owner.get(&format!("/api/v1/orgs/{}", created.org.id)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], "password_change_required");
    let (status, _) = owner
            .post(
                "/api/v1/me/password",
                json!({ "current_password": created.one_time_password.unwrap(), "new_password": PASSWORD }),
            )
            .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    (created.org.id.get(), owner)
}

/// Runs an async test body against a fresh server on each backend; with `configure = f;`
/// first, each server starts with `f` applied to its configuration.
#[macro_export]
macro_rules! on_both_backends {
    (configure = $configure:path; $($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() {
                   let server = $crate::common::TestServer::start_with(
                       store::Backend::Sqlite, $configure).await;
                   super::$name(&server).await;
                   server.stop().await;
               } )*
        }
        mod postgres {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() {
                   let server = $crate::common::TestServer::start_with(
                       store::Backend::Postgres, $configure).await;
                   super::$name(&server).await;
                   server.stop().await;
               } )*
        }
    };
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() {
                   let server = $crate::common::TestServer::start(store::Backend::Sqlite).await;
                   super::$name(&server).await;
                   server.stop().await;
               } )*
        }
        mod postgres {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() {
                   let server = $crate::common::TestServer::start(store::Backend::Postgres).await;
                   super::$name(&server).await;
                   server.stop().await;
               } )*
        }
    };
}

//! The API against its OpenAPI document. Schemathesis (pinned, from PyPI, through
//! `scripts/schemathesis`) sends generated requests, valid and invalid, to every operation of a
//! real Farmhand server holding the demo data, authenticated as the demo Owner, and checks every
//! answer against the document with all of its checks: each status and error code documented,
//! each response body and header as described, valid requests accepted, invalid ones refused,
//! authentication enforced. The test lists what failed.
//!
//! Every operation runs; none is excluded. Two are bounded: the live event stream is read for a
//! few seconds, and token revocation aims at a decoy. IDs are drawn mostly from those the demo
//! holds (see `tests/schemathesis/schemathesis.toml`).
//! Rules that JSON Schema cannot state, and the document states in words, are taught to the
//! generator in `tests/schemathesis/hooks.py`.
//!
//! Schemathesis comes from `SCHEMATHESIS_SCRIPT` (`scripts/test` sets it) or this repository's
//! `scripts/schemathesis`, installed on first use; when it cannot be had, the test fails: it is
//! never skipped. `SCHEMATHESIS_SEED` replays another seed; `SCHEMATHESIS_MAX_EXAMPLES` changes
//! the number of examples per operation (default 10); `SCHEMATHESIS_REPORT_DIR` keeps every
//! request and answer there (a HAR file).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::PasswordHasher;
use domain::SystemClock;
use farmhand::{Config, Server, ServerOptions};
use serde_json::{Value, json};

/// A G-code file the run may delete.
const SPARE_GCODE: &str = "; spare\nG28\nG1 X10 Y10 Z0.2 E1 F1200\n";

/// The seed of the run, so that a failure in CI replays at a desk.
const SEED: &str = "20261206";
const MAX_EXAMPLES: &str = "10";
/// Far beyond the ~2 minutes a run takes on two cores, for a loaded machine.
const RUN_LIMIT: Duration = Duration::from_secs(20 * 60);

fn script() -> PathBuf {
    std::env::var_os("SCHEMATHESIS_SCRIPT").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/schemathesis"),
        PathBuf::from,
    )
}

fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemathesis")
}

/// The pinned schemathesis, installed if need be.
fn schemathesis() -> PathBuf {
    let output = Command::new(script())
        .arg("ensure")
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script().display()));
    assert!(
        output.status.success(),
        "{} ensure failed; schemathesis is needed for this test",
        script().display()
    );
    PathBuf::from(String::from_utf8(output.stdout).unwrap().trim())
}

/// `farmhand serve --demo` on a free port, SQLite in a temporary directory.
async fn demo_server(data_dir: &Path) -> Server {
    let config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: data_dir.to_path_buf(),
        database_url: format!("sqlite://{}", data_dir.join("farmhand.db").display()),
        ..Config::default()
    };
    let store = farmhand::open_store(&config).await.unwrap();
    let options = ServerOptions {
        // Token expiry is checked against the time the generator sees.
        clock: Arc::new(SystemClock),
        hasher: PasswordHasher::fast_for_tests().unwrap(),
    };
    let app = farmhand::build_app(store, &config, options).unwrap();
    app.console().ensure_demo().await.unwrap();
    Server::start(&config, app).await.unwrap()
}

/// Signs the demo Owner in and makes two API tokens with all of their rights: the run's, and a
/// decoy to revoke. Returns (the run's secret, the decoy's ID).
async fn owner_tokens(base: &str) -> (String, i64) {
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let owner = app::demo::demo_email("Owner");
    let response = http
        .post(format!("{base}/api/v1/auth/sign-in"))
        .json(&json!({ "email": owner, "password": app::demo::DEMO_PASSWORD }))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{response:?}");
    let token = |name: &'static str| {
        let http = http.clone();
        async move {
            let response = http
                .post(format!("{base}/api/v1/orgs/1/api-tokens"))
                .json(&json!({ "name": name }))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 201);
            response.json::<Value>().await.unwrap()
        }
    };
    let decoy = token("decoy for schemathesis to revoke").await;
    let run = token("schemathesis").await;
    (
        run["secret"].as_str().unwrap().to_string(),
        decoy["token"]["id"].as_i64().unwrap(),
    )
}

/// Adds to the demo what the run needs, and returns the `[dictionaries]` of its configuration:
/// the IDs the demo holds, by kind, which `schemathesis.toml` binds to the parameters of those
/// names, and the spares it binds to the deleting operations (so that the demo's own sites,
/// printers and the rest last for the other operations).
async fn prepare_demo(base: &str, token: &str) -> String {
    let http = reqwest::Client::new();
    let create = |path: &'static str, body: Value| {
        let http = http.clone();
        async move {
            let response = http
                .post(format!("{base}/api/v1/orgs/1/{path}"))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 201, "{path}");
            response.json::<Value>().await.unwrap()["id"].to_string()
        }
    };
    let mut toml = String::from("\n[dictionaries]\norg = { values = [1] }\n");
    let spares = [
        ("spare_site", "sites", json!({ "name": "Spare site" })),
        (
            "spare_model",
            "printer-models",
            json!({ "name": "Spare model" }),
        ),
        // The demo has none: this one is also the group the other operations work on.
        (
            "spare_group",
            "printer-groups",
            json!({ "name": "Spare group" }),
        ),
        (
            "spare_workgroup",
            "workgroups",
            json!({ "name": "Spare workgroup" }),
        ),
    ];
    for (name, path, body) in spares {
        let id = create(path, body).await;
        toml.push_str(&format!("{name} = {{ values = [{id}] }}\n"));
    }
    let spare_question = json!({ "label": "Spare question", "kind": "text" });
    let id = create("submission-questions", spare_question).await;
    toml.push_str(&format!("spare_question = {{ values = [{id}] }}\n"));
    let id = create("projects", json!({ "name": "Spare project" })).await;
    toml.push_str(&format!("spare_project = {{ values = [{id}] }}\n"));
    let spare_file = http
        .post(format!("{base}/api/v1/orgs/1/files?name=spare.gcode"))
        .bearer_auth(token)
        .body(SPARE_GCODE)
        .send()
        .await
        .unwrap();
    assert_eq!(spare_file.status(), 201, "spare file");
    let id = spare_file.json::<Value>().await.unwrap()["id"].to_string();
    toml.push_str(&format!("spare_file = {{ values = [{id}] }}\n"));
    // A display link for the revoking operation (its answer nests the link: `link.id`).
    let display = http
        .post(format!("{base}/api/v1/orgs/1/displays"))
        .bearer_auth(token)
        .json(&json!({ "site_id": 1, "name": "Spare screen" }))
        .send()
        .await
        .unwrap();
    assert_eq!(display.status(), 201, "spare display link");
    let id = display.json::<Value>().await.unwrap()["link"]["id"].to_string();
    toml.push_str(&format!("display = {{ values = [{id}] }}\n"));
    create("printer-groups", json!({ "name": "Printers under test" })).await;
    let mut printers = Vec::new();
    for n in 1..=2 {
        let body = json!({ "name": format!("Spare printer {n}"), "site_id": 1 });
        printers.push(create("printers", body).await);
    }
    toml.push_str(&format!(
        "spare_printer = {{ values = [{}] }}\n",
        printers.join(", ")
    ));
    let lists = [
        ("site", "sites", None),
        ("printer", "printers", Some("printers")),
        ("model", "printer-models", None),
        ("group", "printer-groups", None),
        ("rank", "ranks", None),
        ("member", "members", None),
        ("workgroup", "workgroups", None),
        ("grant", "printer-access", None),
        ("job", "jobs", Some("jobs")),
        ("file", "files", Some("files")),
        ("project", "projects", None),
        ("question", "submission-questions", None),
    ];
    for (name, path, field) in lists {
        let body: Value = http
            .get(format!("{base}/api/v1/orgs/1/{path}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let items = field.map_or(&body, |f| &body[f]).as_array().unwrap();
        let ids: Vec<String> = items.iter().map(|i| i["id"].to_string()).collect();
        assert!(!ids.is_empty(), "the demo has no {path}");
        toml.push_str(&format!("{name} = {{ values = [{}] }}\n", ids.join(", ")));
    }
    toml
}

/// The part of schemathesis's report between two `=== TITLE ===` rules.
fn section<'a>(report: &'a str, title: &str) -> Option<&'a str> {
    let start = report.find(&format!(" {title} ="))?;
    let rest = &report[start..];
    let body = &rest[rest.find('\n')? + 1..];
    let end = body
        .match_indices("\n=")
        .map(|(i, _)| i)
        .next()
        .unwrap_or(body.len());
    Some(&body[..end])
}

/// The operations schemathesis's warnings say answered only 401 or 403.
fn refused_throughout(report: &str) -> Vec<&str> {
    section(report, "WARNINGS")
        .and_then(|w| w.split("Authentication failed").nth(1))
        .map(|w| w.split("💡").next().unwrap_or_default())
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- "))
        .collect()
}

#[test]
fn the_report_is_read_right() {
    let report = "\
=================================== FAILURES ===================================
___ GET /x ___
1. Test Case ID: abc
- ST103 Undocumented status code
=================================== WARNINGS ===================================

Authentication failed: 2 operations returned only 401/403 responses

403 Forbidden (1 operation):
  - POST /api/v1/auth/sign-out
401 Unauthorized (1 operation):
  - DELETE /api/v1/orgs/{org_id}/sites/{site_id}

💡 Ensure valid authentication credentials are set via `--auth` or `-H`

Missing test data: 1 operation repeatedly returned 404 Not Found
  - POST /api/v1/orgs/{org_id}/members

=================================== SUMMARY ====================================

API Operations:
  Selected: 78/78
  Tested: 78
";
    assert_eq!(
        refused_throughout(report),
        [
            "POST /api/v1/auth/sign-out",
            "DELETE /api/v1/orgs/{org_id}/sites/{site_id}"
        ]
    );
    assert!(section(report, "FAILURES").unwrap().contains("ST103"));
    assert!(!section(report, "FAILURES").unwrap().contains("WARNINGS"));
    assert!(section(report, "SUMMARY").unwrap().contains("Tested: 78"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_answers_as_its_openapi_document_says() {
    let executable = tokio::task::spawn_blocking(schemathesis).await.unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let server = demo_server(scratch.path()).await;
    let base = format!("http://{}", server.addr());
    let (token, decoy) = owner_tokens(&base).await;
    let config = scratch.path().join("schemathesis.toml");
    let committed = std::fs::read_to_string(tests_dir().join("schemathesis.toml")).unwrap();
    std::fs::write(&config, committed + &prepare_demo(&base, &token).await).unwrap();

    let seed = std::env::var("SCHEMATHESIS_SEED").unwrap_or_else(|_| SEED.into());
    let examples =
        std::env::var("SCHEMATHESIS_MAX_EXAMPLES").unwrap_or_else(|_| MAX_EXAMPLES.into());
    let mut command = Command::new(&executable);
    command
        .arg("--config-file")
        .arg(&config)
        .args(["run", &format!("{base}/api/v1/openapi.json")])
        .args([
            "--checks",
            "all",
            "--max-examples",
            &examples,
            "--seed",
            &seed,
        ])
        .args(["--generation-database", ":memory:", "--no-color"]);
    if let Some(dir) = std::env::var_os("SCHEMATHESIS_REPORT_DIR") {
        // Every request and answer, to look into a run.
        command
            .args(["--report", "har"])
            .arg("--report-dir")
            .arg(dir);
    }
    command
        .env("ST_TOKEN", &token)
        .env("ST_DECOY_TOKEN_ID", decoy.to_string())
        .env("SCHEMATHESIS_HOOKS", "hooks")
        .env("PYTHONPATH", tests_dir())
        // Anything it writes (reports, caches) stays out of the repository.
        .current_dir(scratch.path())
        .stdin(Stdio::null());
    let started = Instant::now();
    let run = tokio::task::spawn_blocking(move || command.output());
    let output = tokio::time::timeout(RUN_LIMIT, run)
        .await
        .expect("schemathesis finished in time")
        .unwrap()
        .expect("schemathesis ran");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!(
        "schemathesis ran for {:.0?}:\n{}\n{}",
        started.elapsed(),
        section(&report, "WARNINGS").unwrap_or_default(),
        section(&report, "SUMMARY").unwrap_or(&report)
    );

    // The run's own token must have lasted: otherwise every answer was a (documented) 401.
    let me = reqwest::Client::new()
        .get(format!("{base}/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200, "the run's API token stopped working");
    server.stop().await.unwrap();

    // Only the operations that need a session may have been refused to the token throughout:
    // anything else means the run did not reach the API's logic.
    let refused = refused_throughout(&report);
    // (A token never mints tokens: a leaked one could outlive its revocation through them.)
    let session_only = [
        "POST /api/v1/auth/sign-out",
        "POST /api/v1/me/password",
        "POST /api/v1/orgs/{org_id}/api-tokens",
    ];
    assert!(
        refused.iter().all(|op| session_only.contains(op)),
        "operations refused to the Owner's token throughout: {refused:?}\n{report}"
    );
    let operations = web::declarations()
        .iter()
        .filter(|d| d.path.starts_with("/api/v1/") && d.path != "/api/v1/openapi.json")
        .count();
    assert!(
        report.contains(&format!("Tested: {operations}\n")),
        "not every one of the {operations} operations was tested:\n{report}"
    );
    assert!(
        output.status.success(),
        "the API and its OpenAPI document disagree (seed {seed}):\n{}{}",
        section(&report, "FAILURES").unwrap_or_default(),
        section(&report, "ERRORS").unwrap_or(&report)
    );
}

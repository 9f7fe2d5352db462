//! The `farmhand` binary as an administrator runs it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

use store::Backend;
use testkit::TestDatabase;

fn farmhand(args: &[&str], dir: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_farmhand"))
        .args(args)
        .current_dir(dir)
        .env_remove("FARMHAND_CONFIG")
        .env_remove("FARMHAND_DATABASE_URL")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run farmhand")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn url_arg(db: &TestDatabase) -> String {
    match &db.url {
        store::DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
        store::DatabaseUrl::Postgres(url) => url.clone(),
    }
}

#[test]
fn config_default_is_printed_and_unknown_keys_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let out = farmhand(&["config", "default"], dir.path());
    assert!(out.status.success());
    let printed = String::from_utf8(out.stdout).unwrap();
    assert!(printed.contains("listen = \"127.0.0.1:8080\""));
    std::fs::write(dir.path().join("bad.toml"), "lisen = \"0.0.0.0:1\"\n").unwrap();
    let out = farmhand(&["--config", "bad.toml", "config", "show"], dir.path());
    assert!(!out.status.success());
    assert!(
        text(&out).contains("unknown field: found `lisen`"),
        "{}",
        text(&out)
    );
}

#[test]
fn unknown_schemes_and_missing_directories_are_start_up_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = farmhand(
        &["--database-url", "mysql://root@localhost/farm", "serve"],
        dir.path(),
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("unknown database URL scheme \"mysql\""),
        "{}",
        text(&out)
    );

    let out = farmhand(
        &["--database-url", "sqlite://./nowhere/farmhand.db", "serve"],
        dir.path(),
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("./nowhere for the SQLite database does not exist"),
        "{}",
        text(&out)
    );
    assert!(!dir.path().join("nowhere").exists(), "nothing was created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_org_reset_password_and_backup_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let out = farmhand(
        &[
            "admin",
            "create-org",
            "--name",
            "Fab Lab",
            "--owner-email",
            "Boss@Lab.test",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("one-time password"), "{}", text(&out));
    assert!(
        dir.path().join("farmhand-data/farmhand.db").exists(),
        "the default data directory is created"
    );

    let out = farmhand(&["admin", "reset-password", "boss@lab.test"], dir.path());
    assert!(out.status.success(), "{}", text(&out));
    let out = farmhand(&["admin", "reset-password", "nobody@lab.test"], dir.path());
    assert!(!out.status.success());
    assert!(text(&out).contains("user not found"), "{}", text(&out));

    // The server's own audit chain (sign-ins, password resets) is readable at the console.
    let out = farmhand(&["audit", "list"], dir.path());
    assert!(out.status.success(), "{}", text(&out));
    let listed = String::from_utf8(out.stdout).unwrap();
    let mut lines = listed.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("id,seq,occurred_at,actor_kind")
    );
    let reset = lines.next().unwrap();
    assert!(reset.contains("auth.password_reset"), "{listed}");
    assert!(reset.contains(r#"{""sessions_revoked"":0}"#), "{listed}");
    assert_eq!(lines.next(), None, "{listed}");

    let out = farmhand(&["backup", "--to", "copy.db"], dir.path());
    assert!(out.status.success(), "{}", text(&out));
    let out = farmhand(&["backup", "--to", "copy.db"], dir.path());
    assert!(!out.status.success(), "never overwrites");
    assert!(text(&out).contains("already exists"));
    // The copy is a working database with the organization and an intact audit log.
    let out = farmhand(
        &["--database-url", "sqlite://copy.db", "audit", "verify"],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("organization 1: intact (2 events)"),
        "{}",
        text(&out)
    );
}

async fn tampering_is_named_by_audit_verify(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let url = url_arg(&db);
    let dir = tempfile::tempdir().unwrap();
    for name in ["One", "Two"] {
        let email = format!("owner@{}.test", name.to_lowercase());
        let out = farmhand(
            &[
                "--database-url",
                &url,
                "admin",
                "create-org",
                "--name",
                name,
                "--owner-email",
                &email,
            ],
            dir.path(),
        );
        assert!(out.status.success(), "{}", text(&out));
    }
    let out = farmhand(&["--database-url", &url, "audit", "verify"], dir.path());
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("organization 2: intact (2 events)"),
        "{}",
        text(&out)
    );
    let out = farmhand(
        &[
            "--database-url",
            &url,
            "audit",
            "list",
            "--org",
            "2",
            "--action",
            "organization.create",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    let listed = String::from_utf8(out.stdout).unwrap();
    assert_eq!(listed.lines().count(), 2, "{listed}");
    assert!(listed.contains(r#"""name"":""Two"""#), "{listed}");

    // Someone with database access rewrites history.
    let store = store::Store::connect(&db.url, &store::StoreOptions::default())
        .await
        .unwrap();
    let guard_off = match backend {
        Backend::Sqlite => "DROP TRIGGER audit_events_no_update",
        Backend::Postgres => "ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only",
    };
    sqlx::query(guard_off).execute(store.pool()).await.unwrap();
    sqlx::query(
        "UPDATE audit_events SET actor_label = 'someone else' WHERE chain_key = 2 AND seq = 2",
    )
    .execute(store.pool())
    .await
    .unwrap();
    let id: (i64,) = sqlx::query_as("SELECT id FROM audit_events WHERE chain_key = 2 AND seq = 2")
        .fetch_one(store.pool())
        .await
        .unwrap();
    store.close().await;

    let out = farmhand(&["--database-url", &url, "audit", "verify"], dir.path());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let report = text(&out);
    assert!(report.contains("organization 1: intact"), "{report}");
    assert!(
        report.contains(&format!("organization 2: BROKEN at event {} (seq 2)", id.0)),
        "{report}"
    );
    let out = farmhand(
        &["--database-url", &url, "audit", "verify", "--org", "1"],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    db.drop_database().await;
}

testkit::on_both_backends!(tampering_is_named_by_audit_verify);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_backups_point_to_pg_dump() {
    let db = TestDatabase::new(Backend::Postgres).await;
    let dir = tempfile::tempdir().unwrap();
    let out = farmhand(
        &["--database-url", &url_arg(&db), "backup", "--to", "x.db"],
        dir.path(),
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("pg_dump"), "{}", text(&out));
    db.drop_database().await;
}

#[test]
fn serve_demo_creates_the_demo_once_and_answers() {
    let dir = tempfile::tempdir().unwrap();
    for expected in ["created", "already present"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_farmhand"))
            .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
            .current_dir(dir.path())
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
        let mut seen = Vec::new();
        // Read the banner: the listening line, then the demo block up to the password line.
        for line in lines.by_ref() {
            let line = line.unwrap();
            let done = line.starts_with("Password for all demo accounts");
            seen.push(line);
            if done {
                break;
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let banner = seen.join("\n");
        assert!(
            banner.contains("Farmhand is listening on http://127.0.0.1:"),
            "{banner}"
        );
        assert!(
            banner.contains(&format!(
                "Demo organization Farmhand Demo Lab (id 1) {expected}"
            )),
            "{banner}"
        );
        for email in ["owner@demo.farmhand.test", "viewer@demo.farmhand.test"] {
            assert!(banner.contains(email), "{banner}");
        }
    }
}

#[test]
fn gcode_analyze_reports_time_filament_layers_and_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let gcode = "; generated by PrusaSlicer 2.7.1+linux-x64\nG21\nG90\nM83\n;LAYER_CHANGE\n;Z:0.2\nG1 Z0.2 F600\n\
                 ;TYPE:Perimeter\nG1 X10 Y0 E1 F1200\nG1 X10 Y10 E1\nXYZ123\n\
                 ; estimated printing time (normal mode) = 1m 2s\n";
    std::fs::write(dir.path().join("part.gcode"), gcode).unwrap();
    let out = farmhand(&["gcode", "analyze", "part.gcode"], dir.path());
    assert!(out.status.success(), "{}", text(&out));
    let report = text(&out);
    for expected in [
        "estimated time",
        "slicer's estimate 0h 01m 02s",
        "filament         2.0 mm",
        "Perimeter",
        "warnings         1",
    ] {
        assert!(report.contains(expected), "{expected:?} in {report}");
    }
    let out = farmhand(&["gcode", "analyze", "part.gcode", "--json"], dir.path());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["layer_count"], 1);
    assert_eq!(json["filament_length_mm"], 2.0);
    assert_eq!(json["warnings"][0]["line"], 11);
    assert!(json["estimated_time_s"].as_f64().unwrap() > 0.5);

    // A profile file overrides the defaults; a missing file is a clear error.
    std::fs::write(dir.path().join("slow.toml"), "print_acceleration = 50.0\n").unwrap();
    let out = farmhand(
        &[
            "gcode",
            "analyze",
            "part.gcode",
            "--json",
            "--profile",
            "slow.toml",
        ],
        dir.path(),
    );
    let slow: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        slow["estimated_time_s"].as_f64() > json["estimated_time_s"].as_f64(),
        "{slow}"
    );
    // A Klipper profile: its own planner, and its own limits from the [klipper] table.
    std::fs::write(
        dir.path().join("klipper.toml"),
        "firmware = \"klipper\"\n[klipper]\nmax_accel = 50.0\nsquare_corner_velocity = 2.0\n",
    )
    .unwrap();
    let klipper = |profile: &str| -> serde_json::Value {
        let out = farmhand(
            &[
                "gcode",
                "analyze",
                "part.gcode",
                "--json",
                "--profile",
                profile,
            ],
            dir.path(),
        );
        assert!(out.status.success(), "{}", text(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let slow_klipper = klipper("klipper.toml");
    assert!(
        slow_klipper["move_time_s"].as_f64() > json["move_time_s"].as_f64(),
        "{slow_klipper}"
    );
    std::fs::write(
        dir.path().join("typo.toml"),
        "firmware = \"klipper\"\n[klipper]\nmax_acel = 1.0\n",
    )
    .unwrap();
    let out = farmhand(
        &["gcode", "analyze", "part.gcode", "--profile", "typo.toml"],
        dir.path(),
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("max_acel"), "{}", text(&out));
    // Limits that would make the estimate meaningless are refused, naming the field.
    std::fs::write(dir.path().join("zero.toml"), "travel_acceleration = 0.0\n").unwrap();
    let out = farmhand(
        &["gcode", "analyze", "part.gcode", "--profile", "zero.toml"],
        dir.path(),
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("travel_acceleration must be a number above 0"),
        "{}",
        text(&out)
    );

    let out = farmhand(&["gcode", "analyze", "missing.gcode"], dir.path());
    assert!(!out.status.success());
    assert!(
        text(&out).contains("cannot open missing.gcode"),
        "{}",
        text(&out)
    );
}

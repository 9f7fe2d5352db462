//! The API's document is committed (`crates/web/openapi.json`), so every change to the public
//! API shows in review. After an intended change, refresh it with
//! `UPDATE_OPENAPI_SNAPSHOT=1 cargo test -p web --test openapi_snapshot` and commit the file.

#![allow(clippy::expect_used)]

use std::path::PathBuf;

fn snapshot_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("openapi.json")
}

/// The document as committed: keys sorted, pretty, one final newline.
fn published() -> String {
    let value = serde_json::to_value(web::openapi()).expect("the document serializes");
    serde_json::to_string_pretty(&sorted(value)).expect("a value serializes") + "\n"
}

/// `value` with every object's keys in order. `serde_json::Value` sorts them by itself unless
/// its `preserve_order` feature is on, which a dependency of another crate turns on when
/// several crates' tests are built together (`cargo test -p web -p authz`: cedar-policy).
fn sorted(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(object) => {
            let mut entries: Vec<_> = object.into_iter().collect();
            entries.sort_by(|(a, _), (b, _)| a.cmp(b));
            serde_json::Value::Object(
                entries
                    .into_iter()
                    .map(|(key, value)| (key, sorted(value)))
                    .collect(),
            )
        }
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.into_iter().map(sorted).collect())
        }
        other => other,
    }
}

#[test]
fn the_published_api_matches_the_committed_snapshot() {
    let published = published();
    let path = snapshot_path();
    if std::env::var_os("UPDATE_OPENAPI_SNAPSHOT").is_some() {
        std::fs::write(&path, &published).expect("the snapshot is writable");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed == published {
        return;
    }
    let first_difference = committed
        .lines()
        .zip(published.lines())
        .enumerate()
        .find(|(_, (a, b))| a != b)
        .map(|(n, (a, b))| format!("line {}:\n  committed: {a}\n  published: {b}", n + 1))
        .unwrap_or_else(|| "one document is a prefix of the other".to_string());
    panic!(
        "the API changed: {} differs from what the server publishes ({first_difference}).\n\
         If the change is intended, run UPDATE_OPENAPI_SNAPSHOT=1 cargo test -p web --test \
         openapi_snapshot and commit the file.",
        path.display()
    );
}

//! Helpers shared by the driver tests.
// Each test binary uses some of them.
#![allow(dead_code, clippy::unwrap_used)]

use std::time::Duration;

use printers::{Driver, DriverError, Snapshot};
use tokio::time::{Instant, timeout};

/// Looks (with `look`) until `done` holds, woken by the driver's pushes and every 100 ms in case
/// none come; fails the test after `limit`, showing the last look.
pub async fn wait_for(
    what: &str,
    limit: Duration,
    printer: &impl Driver,
    look: impl AsyncFn() -> Result<Snapshot, DriverError>,
    done: impl Fn(&Result<Snapshot, DriverError>) -> bool,
) -> Result<Snapshot, DriverError> {
    let deadline = Instant::now() + limit;
    loop {
        let snapshot = look().await;
        if done(&snapshot) {
            return snapshot;
        }
        assert!(
            Instant::now() < deadline,
            "waited {limit:?} for {what}; last: {snapshot:?}"
        );
        let _ = timeout(Duration::from_millis(100), printer.changed()).await;
    }
}

/// A G-code file on disk for `Driver::upload`, removed with its directory when dropped.
pub struct TestFile {
    _dir: tempfile::TempDir,
    file: printers::UploadFile,
}

impl TestFile {
    pub fn new(bytes: &[u8]) -> TestFile {
        use sha2::Digest;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("upload.gcode");
        std::fs::write(&path, bytes).unwrap();
        let sha256: [u8; 32] = sha2::Sha256::digest(bytes).into();
        let file = printers::UploadFile::new(path, bytes.len() as u64, sha256);
        TestFile { _dir: dir, file }
    }
}

impl std::ops::Deref for TestFile {
    type Target = printers::UploadFile;
    fn deref(&self) -> &printers::UploadFile {
        &self.file
    }
}

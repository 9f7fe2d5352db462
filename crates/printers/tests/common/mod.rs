//! Helpers shared by the driver tests.

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

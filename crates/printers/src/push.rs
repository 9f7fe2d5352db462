//! What the drivers with a push channel (OctoPrint, Moonraker) share: the `changed()` signal,
//! reconnect backoff, and a handle that stops the background task with its driver.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::Url;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::AbortHandle;
use tokio_tungstenite::tungstenite::{self, protocol::WebSocketConfig};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::DriverError;
use crate::http::describe;

pub(crate) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How often to ping a quiet websocket; no frame for this plus the timeout means it is dead.
pub(crate) const PING_EVERY: Duration = Duration::from_secs(10);
/// Largest websocket message accepted (OctoPrint's history message is the biggest, ~10 kB).
const MAX_MESSAGE: usize = 16 << 20;

/// Opens a websocket within `timeout`. The URL may carry a token: it goes into no message.
pub(crate) async fn open_socket(url: &Url, timeout: Duration) -> Result<Socket, DriverError> {
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_MESSAGE));
    let connecting =
        tokio_tungstenite::connect_async_with_config(url.as_str(), Some(config), false);
    let (socket, _) = tokio::time::timeout(timeout, connecting)
        .await
        .map_err(|_| DriverError::Timeout(timeout))?
        .map_err(socket_error)?;
    Ok(socket)
}

pub(crate) fn socket_error(error: tungstenite::Error) -> DriverError {
    match &error {
        tungstenite::Error::Http(response) if matches!(response.status().as_u16(), 401 | 403) => {
            DriverError::Unauthorized
        }
        _ => DriverError::Unreachable(describe(&error)),
    }
}

/// Counts pushed news; `changed()` resolves once the count differs from where the last call
/// left it, so news that arrives between two calls is not lost.
pub(crate) struct Changes {
    count: watch::Sender<u64>,
    seen: AtomicU64,
}

impl Changes {
    pub fn new() -> Self {
        Self {
            count: watch::Sender::new(0),
            seen: AtomicU64::new(0),
        }
    }

    pub fn bump(&self) {
        self.count.send_modify(|n| *n = n.wrapping_add(1));
    }

    pub async fn changed(&self) {
        let mut rx = self.count.subscribe();
        loop {
            let now = *rx.borrow_and_update();
            if self.seen.swap(now, Ordering::AcqRel) != now {
                return;
            }
            // The sender lives in `self`, which outlives this borrow: `changed` cannot fail.
            if rx.changed().await.is_err() {
                return std::future::pending().await;
            }
        }
    }
}

/// Exponential reconnect delays with jitter, so a fleet that lost its network does not
/// reconnect in lockstep.
pub(crate) struct Backoff {
    next: Duration,
}

const BACKOFF_MIN: Duration = Duration::from_millis(200);
const BACKOFF_MAX: Duration = Duration::from_secs(15);

impl Backoff {
    pub fn new() -> Self {
        Self { next: BACKOFF_MIN }
    }

    pub fn reset(&mut self) {
        self.next = BACKOFF_MIN;
    }

    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next.mul_f64(rand::random_range(0.75..1.25));
        self.next = (self.next * 2).min(BACKOFF_MAX);
        delay
    }
}

/// The driver's background task, started on first use and aborted when the driver is dropped.
pub(crate) struct Task(Mutex<Option<AbortHandle>>);

impl Task {
    pub fn new() -> Self {
        Self(Mutex::new(None))
    }

    /// Runs `start` once (it spawns the task and returns its handle).
    pub fn ensure(&self, start: impl FnOnce() -> AbortHandle) {
        let mut slot = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if slot.as_ref().is_none_or(AbortHandle::is_finished) {
            *slot = Some(start());
        }
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        let slot = self.0.get_mut().unwrap_or_else(|p| p.into_inner());
        if let Some(handle) = slot.take() {
            handle.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn changed_reports_news_between_calls_once() {
        let changes = Changes::new();
        changes.bump();
        tokio::time::timeout(Duration::from_secs(1), changes.changed())
            .await
            .expect("news before the call wakes it at once");
        assert!(
            tokio::time::timeout(Duration::from_millis(50), changes.changed())
                .await
                .is_err(),
            "no news since: waits"
        );
        let (woken, ()) = tokio::join!(
            tokio::time::timeout(Duration::from_secs(1), changes.changed()),
            async {
                tokio::time::sleep(Duration::from_millis(20)).await;
                changes.bump();
            }
        );
        woken.expect("news while waiting wakes it");
    }

    #[test]
    fn backoff_grows_to_a_cap_and_resets() {
        let mut backoff = Backoff::new();
        let first = backoff.next_delay();
        assert!(first <= BACKOFF_MIN.mul_f64(1.25));
        for _ in 0..20 {
            assert!(backoff.next_delay() <= BACKOFF_MAX.mul_f64(1.25));
        }
        backoff.reset();
        assert!(backoff.next_delay() <= BACKOFF_MIN.mul_f64(1.25));
    }
}

//! The websocket task: connect (with a one-shot token when a key is set), subscribe, keep the
//! objects current, carry calls, and reconnect with backoff when anything fails.

use std::collections::HashMap;
use std::sync::Arc;

use futures::{SinkExt, StreamExt};
use serde_json::{Map, Value, json};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::{Call, OBJECTS, RESUBSCRIBE, Shared, rpc_error, status};
use crate::DriverError;
use crate::push::{self, Backoff, PING_EVERY, Socket, socket_error};

/// Runs until the driver is dropped (which aborts it).
pub(super) async fn run(shared: Arc<Shared>) {
    let mut backoff = Backoff::new();
    loop {
        if let Err(error) = session(&shared, &mut backoff).await {
            tracing::debug!(%error, "Moonraker websocket down");
        }
        shared.set_rpc(None);
        let had_status = shared.cached_status().is_some();
        shared.set_status(None);
        shared.set_latest_job(None);
        if shared.live.send_replace(false) || had_status {
            shared.changes.bump();
        }
        tokio::time::sleep(backoff.next_delay()).await;
    }
}

/// Who waits for the answer to a request.
enum Waiter {
    Caller(oneshot::Sender<Result<Value, DriverError>>),
    Subscribe,
    /// The newest history job, asked for with each subscription.
    LatestJob,
    /// A subscription renewed for a caller: the copy is replaced and then the newest job read,
    /// before the caller hears back.
    Renewal(oneshot::Sender<Result<Value, DriverError>>),
    /// The newest job read for a renewal.
    RenewedJob(oneshot::Sender<Result<Value, DriverError>>),
}

struct Session<'a> {
    shared: &'a Shared,
    socket: Socket,
    next_id: u64,
    pending: HashMap<u64, Waiter>,
}

async fn session(shared: &Shared, backoff: &mut Backoff) -> Result<(), DriverError> {
    let timeout = shared.http.timeout();
    let socket = open(shared).await?;
    let (calls, mut queue) = mpsc::channel::<Call>(32);
    shared.set_rpc(Some(calls));
    let mut session = Session {
        shared,
        socket,
        next_id: 1,
        pending: HashMap::new(),
    };
    session.subscribe().await?;
    let mut ping = tokio::time::interval_at(Instant::now() + PING_EVERY, PING_EVERY);
    let mut last_heard = Instant::now();
    let mut hangup = shared.hangup.subscribe();
    hangup.borrow_and_update();
    loop {
        tokio::select! {
            // The key was refused over HTTP: this connection only works because it is old.
            Ok(()) = hangup.changed() => return Err(DriverError::Unauthorized),
            call = queue.recv() => {
                let Some(call) = call else { return Ok(()) };
                if call.method == RESUBSCRIBE {
                    session.send_subscribe(Waiter::Renewal(call.reply)).await?;
                } else {
                    session.send(call.method, call.params, Waiter::Caller(call.reply)).await?;
                }
            }
            message = session.socket.next() => {
                let Some(message) = message else { return Ok(()) };
                last_heard = Instant::now();
                match message.map_err(socket_error)? {
                    Message::Text(text) => session.handle(text.as_str(), backoff).await?,
                    Message::Close(_) => return Ok(()),
                    _ => {}
                }
            }
            _ = ping.tick() => {
                if last_heard.elapsed() > PING_EVERY + timeout {
                    return Err(DriverError::Timeout(timeout));
                }
                session.socket.send(Message::Ping(Default::default())).await.map_err(socket_error)?;
            }
        }
    }
}

/// Connects to `/websocket`, with `?token=` from `/access/oneshot_token` when a key is set.
async fn open(shared: &Shared) -> Result<Socket, DriverError> {
    let timeout = shared.http.timeout();
    let mut url = shared.http.ws_url("websocket")?;
    if shared.has_key {
        let answer = shared
            .http
            .send_ok(shared.http.get("access/oneshot_token")?)
            .await?;
        let body: Value = answer.json()?;
        let token = body.get("result").and_then(Value::as_str).ok_or_else(|| {
            DriverError::Protocol("a one-shot token answer without result".into())
        })?;
        url.query_pairs_mut().append_pair("token", token);
    }
    push::open_socket(&url, timeout).await
}

impl Session<'_> {
    async fn send(
        &mut self,
        method: &str,
        params: Value,
        waiter: Waiter,
    ) -> Result<(), DriverError> {
        let id = self.next_id;
        self.next_id += 1;
        let request = json!({"jsonrpc": "2.0", "method": method, "params": params, "id": id});
        self.pending.insert(id, waiter);
        self.socket
            .send(Message::text(request.to_string()))
            .await
            .map_err(socket_error)
    }

    async fn subscribe(&mut self) -> Result<(), DriverError> {
        self.send_subscribe(Waiter::Subscribe).await?;
        self.send_newest_job(Waiter::LatestJob).await
    }

    /// Subscribes to every field of [`OBJECTS`] (replacing this connection's subscription).
    async fn send_subscribe(&mut self, waiter: Waiter) -> Result<(), DriverError> {
        let objects: Map<String, Value> = OBJECTS
            .iter()
            .map(|name| ((*name).to_owned(), Value::Null))
            .collect();
        self.send(RESUBSCRIBE, json!({ "objects": objects }), waiter)
            .await
    }

    async fn send_newest_job(&mut self, waiter: Waiter) -> Result<(), DriverError> {
        let newest = json!({"limit": 1, "order": "desc"});
        self.send("server.history.list", newest, waiter).await
    }

    async fn handle(&mut self, text: &str, backoff: &mut Backoff) -> Result<(), DriverError> {
        let Ok(message) = serde_json::from_str::<Value>(text) else {
            tracing::debug!("Moonraker sent a frame that is not JSON");
            return Ok(());
        };
        if let Some(id) = message.get("id").and_then(Value::as_u64) {
            let result = match (message.get("error"), message.get("result")) {
                (Some(error), _) => Err(rpc_error(error)),
                (None, Some(result)) => Ok(result.clone()),
                (None, None) => Err(DriverError::Protocol(
                    "an answer with neither result nor error".into(),
                )),
            };
            match self.pending.remove(&id) {
                Some(Waiter::Caller(reply)) => {
                    // The caller may have timed out and gone: nothing to do then.
                    let _ = reply.send(result);
                }
                Some(Waiter::Subscribe) => self.subscribed(result, backoff),
                Some(Waiter::LatestJob) => self.newest_job(result),
                Some(Waiter::Renewal(reply)) => {
                    if result.is_ok() {
                        self.subscribed(result, backoff);
                        self.send_newest_job(Waiter::RenewedJob(reply)).await?;
                    } else {
                        // The caller may have timed out and gone: nothing to do then.
                        let _ = reply.send(result);
                    }
                }
                Some(Waiter::RenewedJob(reply)) => {
                    self.newest_job(result);
                    let _ = reply.send(Ok(Value::Null));
                }
                None => {}
            }
            return Ok(());
        }
        match message.get("method").and_then(Value::as_str) {
            Some("notify_status_update") => {
                if let Some(update) = message.pointer("/params/0") {
                    self.update(|s| status::merge(s, update));
                }
            }
            // A job started or ended: it is the newest one now.
            Some("notify_history_changed") => {
                if let Some(job) = message.pointer("/params/0/job").and_then(status::past_job) {
                    self.shared.set_latest_job(Some(job));
                    self.shared.changes.bump();
                }
            }
            // Klipper restarted: the subscription starts afresh.
            Some("notify_klippy_ready") => self.subscribe().await?,
            // (A shutdown arrives as a `webhooks` update with its message.)
            Some("notify_klippy_disconnected") => {
                self.update(|s| set_klippy_state(s, "disconnected"));
            }
            _ => {}
        }
        Ok(())
    }

    fn subscribed(&self, result: Result<Value, DriverError>, backoff: &mut Backoff) {
        match result.map(|mut r| r.get_mut("status").map(Value::take)) {
            Ok(Some(status @ Value::Object(_))) => {
                self.shared.set_status(Some(status));
                self.shared.live.send_replace(true);
                backoff.reset();
            }
            Ok(_) => tracing::debug!("Moonraker subscription answer without status"),
            // Klipper not ready yet: snapshots use HTTP until `notify_klippy_ready`.
            Err(error) => {
                tracing::debug!(%error, "Moonraker subscription refused");
                self.shared.set_status(None);
                self.shared.live.send_replace(false);
            }
        }
        self.shared.changes.bump();
    }

    /// The answer to `server.history.list` for the newest job.
    fn newest_job(&self, result: Result<Value, DriverError>) {
        let newest = result
            .ok()
            .and_then(|r| r.pointer("/jobs/0").and_then(status::past_job));
        self.shared.set_latest_job(newest);
        self.shared.changes.bump();
    }

    fn update(&self, change: impl FnOnce(&mut Value)) {
        {
            let mut status = self.shared.status.lock().unwrap_or_else(|p| p.into_inner());
            match status.as_mut() {
                Some(status) => change(status),
                None => return,
            }
        }
        self.shared.changes.bump();
    }
}

/// Klipper gone from Moonraker: no updates will say so, so the copy is marked by hand.
fn set_klippy_state(status: &mut Value, state: &str) {
    status::merge(status, &json!({"webhooks": {"state": state}}));
}

//! The push socket task: a passive login turns the API key into a session, the socket is
//! authenticated with it, `current` messages become the cached reading and print events become
//! remembered outcomes. It reconnects with backoff when anything fails.

use std::sync::Arc;

use futures::{SinkExt, StreamExt};
use serde_json::{Map, Value, json};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::Shared;
use super::state::{Current, Reading};
use crate::push::{self, Backoff, PING_EVERY, socket_error};
use crate::{DriverError, JobPhase, Temperatures};

/// Runs until the driver is dropped (which aborts it).
pub(super) async fn run(shared: Arc<Shared>) {
    let mut backoff = Backoff::new();
    loop {
        if let Err(error) = session(&shared, &mut backoff).await {
            tracing::debug!(%error, "OctoPrint push socket down");
        }
        let had_reading = shared
            .pushed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .is_some();
        if shared.live.send_replace(false) || had_reading {
            shared.changes.bump();
        }
        tokio::time::sleep(backoff.next_delay()).await;
    }
}

async fn session(shared: &Shared, backoff: &mut Backoff) -> Result<(), DriverError> {
    let timeout = shared.http.timeout();
    let auth = login(shared).await?;
    let mut socket = push::open_socket(&shared.http.ws_url("sockjs/websocket")?, timeout).await?;
    socket
        .send(Message::text(json!({ "auth": auth }).to_string()))
        .await
        .map_err(socket_error)?;
    let mut ping = tokio::time::interval_at(Instant::now() + PING_EVERY, PING_EVERY);
    let mut last_heard = Instant::now();
    let mut hangup = shared.hangup.subscribe();
    hangup.borrow_and_update();
    loop {
        tokio::select! {
            // The key was refused over REST: this socket only works because it logged in before.
            Ok(()) = hangup.changed() => return Err(DriverError::Unauthorized),
            message = socket.next() => {
                let Some(message) = message else { return Ok(()) };
                last_heard = Instant::now();
                match message.map_err(socket_error)? {
                    Message::Text(text) => handle(shared, text.as_str(), backoff)?,
                    Message::Close(_) => return Ok(()),
                    _ => {}
                }
            }
            _ = ping.tick() => {
                if last_heard.elapsed() > PING_EVERY + timeout {
                    return Err(DriverError::Timeout(timeout));
                }
                socket.send(Message::Ping(Default::default())).await.map_err(socket_error)?;
            }
        }
    }
}

/// `POST /api/login {"passive": true}` with the key → `"name:session"` for the socket.
async fn login(shared: &Shared) -> Result<String, DriverError> {
    let request = shared
        .http
        .post_json("api/login", &json!({"passive": true}))?;
    let user: Value = shared.checked(shared.http.send_ok(request).await)?.json()?;
    match (
        user.get("name").and_then(Value::as_str),
        user.get("session").and_then(Value::as_str),
    ) {
        (Some(name), Some(session)) => Ok(format!("{name}:{session}")),
        _ => Err(DriverError::Protocol(
            "a login answer without name and session".into(),
        )),
    }
}

/// One message: an object with one key (`connected`, `history`, `current`, `event`, …).
fn handle(shared: &Shared, text: &str, backoff: &mut Backoff) -> Result<(), DriverError> {
    let Ok(Value::Object(message)) = serde_json::from_str::<Value>(text) else {
        tracing::debug!("OctoPrint sent a frame that is not a JSON object");
        return Ok(());
    };
    for (kind, payload) in message {
        match kind.as_str() {
            "current" | "history" => current(shared, payload, backoff),
            "event" => event(shared, &payload),
            "reauthRequired" => {
                return Err(DriverError::Unreachable(
                    "OctoPrint asked the push socket to log in again".into(),
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

fn current(shared: &Shared, payload: Value, backoff: &mut Backoff) {
    let mut reading = match serde_json::from_value::<Current>(payload) {
        Ok(current) => Reading::from_push(current),
        Err(error) => {
            tracing::debug!(%error, "OctoPrint sent a current message this driver cannot read");
            return;
        }
    };
    let changed = {
        let mut pushed = shared.pushed.lock().unwrap_or_else(|p| p.into_inner());
        // `temps` holds only samples new since the last message, often none: keep the last.
        if let Some(previous) = pushed.as_ref()
            && reading.temperatures == Temperatures::default()
        {
            reading.temperatures = previous.temperatures;
        }
        let changed = pushed.as_ref() != Some(&reading);
        *pushed = Some(reading);
        changed
    };
    let was_live = shared.live.send_replace(true);
    if !was_live {
        backoff.reset();
    }
    if changed || !was_live {
        shared.changes.bump();
    }
}

/// Print events tell how a job ended, which OctoPrint's state does not.
fn event(shared: &Shared, event: &Value) {
    let kind = event
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let payload = event.get("payload").and_then(Value::as_object);
    let path = payload.and_then(|p| text(p, "path").or_else(|| text(p, "name")));
    let outcome = match kind {
        "PrintStarted" => {
            shared.memory().started();
            None
        }
        "PrintDone" => Some(JobPhase::Completed),
        "PrintCancelled" => Some(JobPhase::Cancelled),
        "PrintFailed" => Some(
            if payload.and_then(|p| text(p, "reason")).as_deref() == Some("cancelled") {
                JobPhase::Cancelled
            } else {
                JobPhase::Failed
            },
        ),
        _ => return,
    };
    if let Some(phase) = outcome {
        shared.memory().ended_as(path, phase);
    }
    shared.changes.bump();
}

fn text(object: &Map<String, Value>, key: &str) -> Option<String> {
    object.get(key).and_then(Value::as_str).map(str::to_owned)
}

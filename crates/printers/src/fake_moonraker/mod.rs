//! An in-process Moonraker for tests: the HTTP endpoints and the JSON-RPC websocket the
//! [`crate::moonraker`] driver uses, answering in the shapes Moonraker's documentation shows
//! (`{"result": …}` over HTTP, JSON-RPC 2.0 over `/websocket`, `notify_status_update` with only
//! the fields that changed, every 250 ms as Moonraker sends them), with a printer whose prints
//! take [`FakeMoonraker::set_print_duration`] seconds of real time, and Moonraker's job history.
//! The quirks of real Klipper and Moonraker it keeps are listed in `printer.rs`.
//!
//! ```no_run
//! # async fn demo() {
//! use printers::fake_moonraker::FakeMoonraker;
//! let fake = FakeMoonraker::start_with_api_key("secret").await;
//! let url = fake.url(); // http://127.0.0.1:PORT, for `Connection::url`
//! fake.set_print_duration(2.0);
//! // … drive a `Moonraker` at it …
//! assert!(fake.methods().iter().any(|m| m == "printer.print.start"));
//! fake.stop().await; // nothing answers on the port
//! fake.restart().await; // the same port again, printer state kept
//! # }
//! ```

mod printer;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{DefaultBodyLimit, Multipart, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde_json::{Map, Value, json};
use tokio::sync::{broadcast, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use printer::{Event, Printer, RpcError, changes, eventtime, requested};

/// How often websocket clients get status updates (Moonraker's own rate): a client's copy of the
/// printer's objects lags by up to this much.
const UPDATE_EVERY: Duration = Duration::from_millis(250);
/// One-shot tokens expire after this, as in Moonraker.
const TOKEN_LIFETIME: Duration = Duration::from_secs(5);

/// A method the fake was asked to run, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeCall {
    /// The JSON-RPC method (`printer.print.start`); uploads are `server.files.upload`.
    pub method: String,
    /// True over the websocket, false over HTTP.
    pub over_websocket: bool,
}

/// A running fake Moonraker on 127.0.0.1. Dropping it stops it.
pub struct FakeMoonraker {
    inner: Arc<Inner>,
    addr: SocketAddr,
    server: Mutex<Option<Server>>,
}

struct Server {
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

struct Inner {
    printer: Mutex<Printer>,
    /// Changeable, as when someone rotates the key in Moonraker's configuration.
    api_key: Mutex<Option<String>>,
    /// While true, no status updates go out (a busy Moonraker, a slow network).
    updates_held: watch::Sender<bool>,
    tokens: Mutex<Vec<(String, Instant)>>,
    calls: Mutex<Vec<FakeCall>>,
    /// Bumped to make every websocket connection drop.
    hangup: watch::Sender<u64>,
    events: broadcast::Sender<Event>,
    sockets: AtomicUsize,
    next_token: AtomicU64,
}

impl FakeMoonraker {
    /// Starts a fake that trusts every client (no API key).
    pub async fn start() -> Self {
        Self::launch(None).await
    }

    /// Starts a fake that wants `X-Api-Key: key` (or a one-shot token) on every request.
    pub async fn start_with_api_key(key: &str) -> Self {
        Self::launch(Some(key.to_owned())).await
    }

    #[allow(clippy::expect_used)] // Test tooling: without a socket there is nothing to test.
    async fn launch(api_key: Option<String>) -> Self {
        let inner = Arc::new(Inner {
            printer: Mutex::new(Printer::new()),
            api_key: Mutex::new(api_key),
            updates_held: watch::Sender::new(false),
            tokens: Mutex::new(Vec::new()),
            calls: Mutex::new(Vec::new()),
            hangup: watch::Sender::new(0),
            events: broadcast::channel(64).0,
            sockets: AtomicUsize::new(0),
            next_token: AtomicU64::new(1),
        });
        let any_port = SocketAddr::from(([127, 0, 0, 1], 0));
        let (server, addr) = serve(inner.clone(), any_port)
            .await
            .expect("the fake Moonraker binds 127.0.0.1:0");
        Self {
            inner,
            addr,
            server: Mutex::new(Some(server)),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How long prints take, in real seconds (default 10); applies to the current print too.
    pub fn set_print_duration(&self, seconds: f64) {
        self.inner.with_printer(|p| p.duration_s = seconds.max(0.0));
    }

    /// Ends the current print as complete.
    pub fn finish_current_print(&self) {
        self.inner.with_printer(Printer::finish);
    }

    /// Ends the current print with Klipper's `error` state and this message.
    pub fn fail_current_print(&self, message: &str) {
        self.inner.with_printer(|p| p.fail(message));
    }

    /// Starts a print at the printer itself (its screen, a macro, another client), as Farmhand
    /// did not ask for; the file is put on the printer first when it is not there.
    pub fn start_print_directly(&self, name: &str) {
        let started = self.inner.with_printer(|p| p.start_directly(name));
        if let Err(error) = started {
            tracing::debug!(?error, "the fake Moonraker did not start {name}");
        }
    }

    /// Moonraker's job history, oldest first, as `server.history.list` shows each job
    /// (`job_id`, `filename`, `status`, `start_time`, `end_time`, …).
    pub fn history(&self) -> Vec<Value> {
        self.inner.with_printer(|p| p.history())
    }

    /// Changes the API key, as when someone rotates it on the printer: every HTTP request with
    /// the old key is refused with 401, while websockets already open keep working.
    pub fn set_api_key(&self, key: &str) {
        *lock(&self.inner.api_key) = Some(key.to_owned());
    }

    /// Holds status updates back (true) or lets them flow again (false): a client's copy of the
    /// printer's objects then stays as it was, as it does for up to 250 ms with a real Moonraker.
    pub fn hold_updates(&self, held: bool) {
        self.inner.updates_held.send_replace(held);
    }

    /// Drops every websocket connection at once, without a close frame.
    pub fn disconnect_all(&self) {
        self.inner.hangup.send_modify(|n| *n += 1);
    }

    /// Websocket connections open now.
    pub fn websocket_count(&self) -> usize {
        self.inner.sockets.load(Ordering::SeqCst)
    }

    /// Every method run so far, in order.
    pub fn calls(&self) -> Vec<FakeCall> {
        lock(&self.inner.calls).clone()
    }

    /// The names of [`Self::calls`].
    pub fn methods(&self) -> Vec<String> {
        self.calls().into_iter().map(|c| c.method).collect()
    }

    /// G-code lines received through `printer.gcode.script`.
    pub fn gcode_lines(&self) -> Vec<String> {
        self.inner.with_printer(|p| p.scripts.clone())
    }

    /// Uploaded files (paths under the `gcodes` root).
    pub fn files(&self) -> Vec<String> {
        self.inner.with_printer(|p| p.file_names())
    }

    /// The size in bytes of an uploaded file, as received.
    pub fn file_size(&self, path: &str) -> Option<usize> {
        self.inner.with_printer(|p| p.file_size(path))
    }

    /// Stops answering: the listener closes and every connection drops.
    pub async fn stop(&self) {
        let server = lock(&self.server).take();
        self.disconnect_all();
        if let Some(server) = server {
            let _ = server.shutdown.send(());
            let mut task = server.task;
            if tokio::time::timeout(Duration::from_secs(2), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }

    /// Starts answering again on the same port, with the printer as it was.
    #[allow(clippy::expect_used)] // Test tooling: the port was ours a moment ago.
    pub async fn restart(&self) {
        self.stop().await;
        let (server, _) = serve(self.inner.clone(), self.addr)
            .await
            .expect("the fake Moonraker binds its port again");
        *lock(&self.server) = Some(server);
    }
}

impl Drop for FakeMoonraker {
    fn drop(&mut self) {
        self.disconnect_all();
        if let Some(server) = lock(&self.server).take() {
            server.task.abort();
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl Inner {
    /// Runs `f` on the printer, then tells websocket clients what it set off (a print that
    /// completed while nobody looked is noticed by whoever looks next).
    fn with_printer<R>(&self, f: impl FnOnce(&mut Printer) -> R) -> R {
        let (result, events) = {
            let mut printer = lock(&self.printer);
            let result = f(&mut printer);
            (result, std::mem::take(&mut printer.events))
        };
        for event in events {
            // No websocket client is fine.
            let _ = self.events.send(event);
        }
        result
    }

    fn call(&self, method: &str, params: &Value, over_websocket: bool) -> Result<Value, RpcError> {
        lock(&self.calls).push(FakeCall {
            method: method.to_owned(),
            over_websocket,
        });
        self.with_printer(|p| p.call(method, params))
    }

    fn new_token(&self) -> String {
        let n = self.next_token.fetch_add(1, Ordering::SeqCst);
        let token = format!("FAKETOKEN{n:023}");
        lock(&self.tokens).push((token.clone(), Instant::now()));
        token
    }

    /// A valid one-shot token is used up by the check.
    fn take_token(&self, token: &str) -> bool {
        let mut tokens = lock(&self.tokens);
        tokens.retain(|(_, at)| at.elapsed() < TOKEN_LIFETIME);
        let before = tokens.len();
        tokens.retain(|(t, _)| t != token);
        tokens.len() < before
    }
}

async fn serve(inner: Arc<Inner>, addr: SocketAddr) -> std::io::Result<(Server, SocketAddr)> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    // Restarting on the same port must not wait for the old connections' TIME_WAIT.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    let listener = socket.listen(1024)?;
    let addr = listener.local_addr()?;
    let (shutdown, stopped) = oneshot::channel::<()>();
    let app = router(inner);
    let task = tokio::spawn(async move {
        let serving = axum::serve(listener, app).with_graceful_shutdown(async {
            let _ = stopped.await;
        });
        if let Err(error) = serving.await {
            tracing::debug!(%error, "fake Moonraker stopped");
        }
    });
    Ok((Server { shutdown, task }, addr))
}

fn router(inner: Arc<Inner>) -> Router {
    Router::new()
        .route("/access/oneshot_token", get(oneshot_token))
        .route("/server/info", get(server_info))
        .route("/printer/info", get(printer_info))
        .route("/printer/objects/query", get(query_objects))
        .route("/server/history/list", get(history_list))
        .route("/server/files/{root}/{*path}", delete(delete_file))
        .route("/printer/{*method}", post(printer_method))
        .route("/server/jsonrpc", post(jsonrpc_over_http))
        .route("/server/files/upload", post(upload))
        .route("/websocket", get(websocket))
        .layer(middleware::from_fn_with_state(inner.clone(), authorize))
        .layer(DefaultBodyLimit::max(512 << 20))
        .with_state(inner)
}

/// With an API key set: `X-Api-Key`, or a one-shot `?token=`; else 401 as Moonraker answers.
async fn authorize(State(inner): State<Arc<Inner>>, request: Request, next: Next) -> Response {
    let Some(key) = lock(&inner.api_key).clone() else {
        return next.run(request).await;
    };
    let header_ok = request
        .headers()
        .get("x-api-key")
        .is_some_and(|v| v.as_bytes() == key.as_bytes());
    let allowed = header_ok
        || query_pairs(request.uri())
            .iter()
            .any(|(k, v)| k == "token" && inner.take_token(v));
    if allowed {
        next.run(request).await
    } else {
        error_response(&RpcError {
            code: 401,
            message: "Unauthorized".into(),
        })
    }
}

fn query_pairs(uri: &Uri) -> Vec<(String, String)> {
    uri.query()
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.to_owned(), v.to_owned()),
            None => (p.to_owned(), String::new()),
        })
        .collect()
}

fn result_response(result: Result<Value, RpcError>) -> Response {
    match result {
        Ok(value) => axum::Json(json!({ "result": value })).into_response(),
        Err(error) => error_response(&error),
    }
}

fn error_response(error: &RpcError) -> Response {
    let status = u16::try_from(error.code)
        .ok()
        .and_then(|c| StatusCode::from_u16(c).ok())
        .filter(|s| s.is_client_error() || s.is_server_error())
        .unwrap_or(if error.code == -32601 {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::BAD_REQUEST
        });
    let body =
        json!({"error": {"code": status.as_u16(), "message": error.message, "traceback": null}});
    (status, axum::Json(body)).into_response()
}

async fn oneshot_token(State(inner): State<Arc<Inner>>) -> Response {
    result_response(Ok(json!(inner.new_token())))
}

async fn server_info(State(inner): State<Arc<Inner>>) -> Response {
    let mut result = inner.call("server.info", &json!({}), false);
    if let Ok(info) = result.as_mut() {
        info["websocket_count"] = json!(inner.sockets.load(Ordering::SeqCst));
    }
    result_response(result)
}

async fn printer_info(State(inner): State<Arc<Inner>>) -> Response {
    result_response(inner.call("printer.info", &json!({}), false))
}

/// `GET /printer/objects/query?webhooks&extruder=target,temperature`.
async fn query_objects(State(inner): State<Arc<Inner>>, uri: Uri) -> Response {
    let objects: Map<String, Value> = query_pairs(&uri)
        .into_iter()
        .map(|(name, fields)| {
            let fields = if fields.is_empty() {
                Value::Null
            } else {
                json!(fields.split(',').collect::<Vec<_>>())
            };
            (name, fields)
        })
        .collect();
    let params = json!({ "objects": objects });
    result_response(inner.call("printer.objects.query", &params, false))
}

/// `GET /server/history/list?limit=&start=&since=&before=&order=`.
async fn history_list(State(inner): State<Arc<Inner>>, uri: Uri) -> Response {
    let params: Map<String, Value> = query_pairs(&uri)
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    result_response(inner.call("server.history.list", &Value::Object(params), false))
}

/// `DELETE /server/files/gcodes/NAME`.
async fn delete_file(
    State(inner): State<Arc<Inner>>,
    Path((root, path)): Path<(String, String)>,
) -> Response {
    let params = json!({ "path": format!("{root}/{path}") });
    result_response(inner.call("server.files.delete_file", &params, false))
}

/// `POST /printer/print/start` and friends: the JSON-RPC method named by the path, with the
/// query string and JSON body as parameters (body first, as Moonraker does).
async fn printer_method(
    State(inner): State<Arc<Inner>>,
    Path(path): Path<String>,
    uri: Uri,
    body: Bytes,
) -> Response {
    let mut params: Map<String, Value> = query_pairs(&uri)
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    if !body.is_empty() {
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(fields)) => params.extend(fields),
            _ => {
                return error_response(&RpcError {
                    code: 400,
                    message: "Invalid JSON body".into(),
                });
            }
        }
    }
    let method = format!("printer.{}", path.replace('/', "."));
    result_response(inner.call(&method, &Value::Object(params), false))
}

/// `POST /server/jsonrpc`: a JSON-RPC request in, a JSON-RPC response out (always 200).
async fn jsonrpc_over_http(State(inner): State<Arc<Inner>>, body: Bytes) -> Response {
    let request = serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null);
    axum::Json(answer(&inner, &request, false).unwrap_or(Value::Null)).into_response()
}

async fn upload(State(inner): State<Arc<Inner>>, mut form: Multipart) -> Response {
    let (mut file, mut root, mut dir, mut print) =
        (None, "gcodes".to_owned(), String::new(), false);
    loop {
        let field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(error) => return bad_request(&error.to_string()),
        };
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field.file_name().map(str::to_owned);
        let Ok(data) = field.bytes().await else {
            return bad_request("the upload was cut short");
        };
        let text = || String::from_utf8_lossy(&data).trim().to_owned();
        match name.as_str() {
            "file" => file = file_name.map(|n| (n, data.len())),
            "root" => root = text(),
            "path" => dir = text(),
            "print" => print = text().eq_ignore_ascii_case("true"),
            _ => {}
        }
    }
    lock(&inner.calls).push(FakeCall {
        method: "server.files.upload".into(),
        over_websocket: false,
    });
    let Some((name, size)) = file.filter(|(n, _)| !n.is_empty()) else {
        return bad_request("No file name specifed in upload form");
    };
    if root != "gcodes" {
        return bad_request(&format!("Invalid root request: {root}"));
    }
    let path = if dir.is_empty() {
        name
    } else {
        format!("{}/{name}", dir.trim_matches('/'))
    };
    inner.with_printer(|p| p.add_file(path.clone(), size));
    let started = print
        && inner
            .call("printer.print.start", &json!({"filename": path}), false)
            .is_ok();
    let body = json!({"result": {
        "item": {"path": path, "root": "gcodes", "modified": eventtime(), "size": size, "permissions": "rw"},
        "print_started": started,
        "print_queued": false,
        "action": "create_file"
    }});
    let mut headers = HeaderMap::new();
    if let Ok(location) = format!("/server/files/gcodes/{path}").parse() {
        headers.insert(header::LOCATION, location);
    }
    (StatusCode::CREATED, headers, axum::Json(body)).into_response()
}

fn bad_request(message: &str) -> Response {
    error_response(&RpcError {
        code: 400,
        message: message.to_owned(),
    })
}

async fn websocket(State(inner): State<Arc<Inner>>, upgrade: WebSocketUpgrade) -> Response {
    upgrade.on_upgrade(move |socket| websocket_session(inner, socket))
}

/// Counts an open websocket while it lives.
struct Open(Arc<Inner>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.sockets.fetch_sub(1, Ordering::SeqCst);
    }
}

/// One websocket client: requests, subscription updates, Klippy notifications, hang-ups.
async fn websocket_session(inner: Arc<Inner>, mut socket: WebSocket) {
    inner.sockets.fetch_add(1, Ordering::SeqCst);
    let _open = Open(inner.clone());
    let mut hangup = inner.hangup.subscribe();
    hangup.borrow_and_update();
    let mut events = inner.events.subscribe();
    let mut subscription: Option<Map<String, Value>> = None;
    let mut last_sent = Value::Null;
    let mut tick = tokio::time::interval(UPDATE_EVERY);
    let mut held = inner.updates_held.subscribe();
    loop {
        let outgoing: Vec<Value> = tokio::select! {
            _ = hangup.changed() => return,
            message = socket.recv() => match message {
                Some(Ok(Message::Text(text))) => {
                    let request = serde_json::from_str::<Value>(text.as_str()).unwrap_or(Value::Null);
                    subscribe_or_answer(&inner, &request, &mut subscription, &mut last_sent)
                        .into_iter()
                        .collect()
                }
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                Some(Ok(_)) => Vec::new(),
            },
            event = events.recv() => match event {
                Ok(Event::KlippyShutdown) => vec![notification("notify_klippy_shutdown", None)],
                Ok(Event::KlippyRestarted) => vec![
                    notification("notify_klippy_disconnected", None),
                    notification("notify_klippy_ready", None),
                ],
                Ok(Event::History(change)) => {
                    vec![notification("notify_history_changed", Some(json!([change])))]
                }
                Err(_) => Vec::new(),
            },
            // Released updates go out at the next tick.
            Ok(()) = held.changed() => Vec::new(),
            _ = tick.tick(), if !*held.borrow() => {
                status_update(&inner, subscription.as_ref(), &mut last_sent)
                    .into_iter()
                    .collect()
            }
        };
        for message in outgoing {
            if socket
                .send(Message::Text(message.to_string().into()))
                .await
                .is_err()
            {
                return;
            }
        }
    }
}

/// `printer.objects.subscribe` is answered here (it needs the connection); anything else by
/// [`answer`].
fn subscribe_or_answer(
    inner: &Inner,
    request: &Value,
    subscription: &mut Option<Map<String, Value>>,
    last_sent: &mut Value,
) -> Option<Value> {
    if request.get("method").and_then(Value::as_str) != Some("printer.objects.subscribe") {
        return answer(inner, request, true);
    }
    lock(&inner.calls).push(FakeCall {
        method: "printer.objects.subscribe".into(),
        over_websocket: true,
    });
    let params = request.get("params").cloned().unwrap_or(Value::Null);
    let wanted = requested(&params).unwrap_or_default();
    let status = inner.with_printer(|p| p.status(Some(wanted.clone())));
    *subscription = Some(wanted);
    *last_sent = status.clone();
    let result = json!({"eventtime": eventtime(), "status": status});
    Some(
        json!({"jsonrpc": "2.0", "result": result, "id": request.get("id").cloned().unwrap_or(Value::Null)}),
    )
}

/// A JSON-RPC response to a request (`None` for a notification, which gets no answer).
fn answer(inner: &Inner, request: &Value, over_websocket: bool) -> Option<Value> {
    let id = request.get("id").cloned();
    let method = request.get("method").and_then(Value::as_str);
    let outcome = match method {
        Some(method) => {
            let params = request.get("params").cloned().unwrap_or(json!({}));
            inner.call(method, &params, over_websocket)
        }
        None => Err(RpcError {
            code: -32600,
            message: "Invalid Request".into(),
        }),
    };
    let id = id?;
    Some(match outcome {
        Ok(result) => json!({"jsonrpc": "2.0", "result": result, "id": id}),
        Err(error) => {
            json!({"jsonrpc": "2.0", "error": {"code": error.code, "message": error.message}, "id": id})
        }
    })
}

/// `notify_status_update` with the subscribed fields that changed since the last one.
fn status_update(
    inner: &Inner,
    subscription: Option<&Map<String, Value>>,
    last_sent: &mut Value,
) -> Option<Value> {
    let subscription = subscription?;
    let now = inner.with_printer(|p| p.status(Some(subscription.clone())));
    let changed = changes(last_sent, &now);
    *last_sent = now;
    if changed.is_empty() {
        return None;
    }
    Some(notification(
        "notify_status_update",
        Some(json!([changed, eventtime()])),
    ))
}

fn notification(method: &str, params: Option<Value>) -> Value {
    match params {
        Some(params) => json!({"jsonrpc": "2.0", "method": method, "params": params}),
        None => json!({"jsonrpc": "2.0", "method": method}),
    }
}

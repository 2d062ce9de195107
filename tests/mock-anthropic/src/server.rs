//! The HTTP server: [`MockServer`] (start, inspect, shut down on drop), the
//! router, the request-recording middleware, the `/v1/messages` and
//! `/v1/models` handlers with their auth and validation, and the shared
//! error/JSON response helpers. The `/_mock/` handlers live in `control.rs`.

use std::collections::{BTreeMap, VecDeque};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use tokio::sync::oneshot;

use crate::control;
use crate::reply::{Reply, default_reply_text, estimate_tokens};
use crate::sse::ErrorResponse;
use crate::stream::{Ending, Plan, ResolvedBlock, Script, replay_plan};
use crate::{MockConfig, Pacing, RecordedRequest};

/// Bodies larger than this are refused, as the Messages API refuses them.
const BODY_LIMIT: usize = 32 * 1024 * 1024;

/// A running mock server. Dropping it shuts the server down gracefully.
#[derive(Debug)]
pub struct MockServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl MockServer {
    /// Starts a server on `127.0.0.1` at a free port.
    pub async fn start(config: MockConfig) -> std::io::Result<MockServer> {
        Self::start_on(config, SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await
    }

    /// Starts a server on `addr` (port 0 picks a free one).
    pub async fn start_on(config: MockConfig, addr: SocketAddr) -> std::io::Result<MockServer> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(config));
        let app = router(Arc::clone(&shared));
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                // A dropped sender is a shutdown request too.
                let _ = stopped.await;
            });
            if let Err(error) = serve.await {
                tracing::warn!(%error, "mock-anthropic server stopped with an error");
            }
        });
        Ok(MockServer {
            addr,
            shared,
            shutdown: Some(shutdown),
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://HOST:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Queues a reply for a later `/v1/messages` request (FIFO).
    pub fn push_reply(&self, reply: Reply) {
        lock(&self.shared.replies).push_back(reply);
    }

    /// Drops every queued reply; returns how many there were.
    pub fn clear_replies(&self) -> usize {
        let mut replies = lock(&self.shared.replies);
        let count = replies.len();
        replies.clear();
        count
    }

    /// How many replies are still queued.
    pub fn pending_replies(&self) -> usize {
        lock(&self.shared.replies).len()
    }

    /// Every request received so far (control endpoints excluded), oldest
    /// first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        lock(&self.shared.requests).clear();
    }

    /// How many paced replies the client stopped reading before their end
    /// (a cancelled request closes its connection).
    pub fn dropped_bodies(&self) -> usize {
        self.shared.dropped_bodies.load(Ordering::SeqCst)
    }

    /// Queues several replies (e.g. N failures, then a success).
    pub fn push_replies(&self, replies: impl IntoIterator<Item = Reply>) {
        lock(&self.shared.replies).extend(replies);
    }

    /// Sets the default pacing of later replies.
    pub fn set_pacing(&self, pacing: Pacing) {
        *lock(&self.shared.pacing) = pacing;
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// State shared by the handlers and the [`MockServer`] handle.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) api_key: String,
    pub(crate) models: Vec<String>,
    pub(crate) replay: Option<PathBuf>,
    pub(crate) pacing: Mutex<Pacing>,
    pub(crate) replies: Mutex<VecDeque<Reply>>,
    pub(crate) requests: Mutex<Vec<RecordedRequest>>,
    /// Streamed bodies the client went away from before their end.
    pub(crate) dropped_bodies: Arc<AtomicUsize>,
}

impl Shared {
    fn new(config: MockConfig) -> Self {
        Self {
            api_key: config.api_key,
            models: config.models,
            replay: config.replay,
            pacing: Mutex::new(config.pacing),
            replies: Mutex::new(VecDeque::new()),
            requests: Mutex::new(Vec::new()),
            dropped_bodies: Arc::new(AtomicUsize::new(0)),
        }
    }
}

/// Locks a mutex, ignoring poisoning (the data stays usable).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The id of the request being answered, set by the middleware.
#[derive(Debug, Clone)]
pub(crate) struct RequestId(pub(crate) String);

pub(crate) fn new_id(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/messages", post(messages).fallback(method_not_allowed))
        .route(
            "/v1/chat/completions",
            post(crate::openai::chat_completions).fallback(method_not_allowed),
        )
        .route(
            "/v1/models",
            get(crate::models::list).fallback(method_not_allowed),
        )
        .route(
            "/_mock/replies",
            post(control::enqueue_replies)
                .delete(control::clear_replies)
                .fallback(method_not_allowed),
        )
        .route(
            "/_mock/requests",
            get(control::list_requests)
                .delete(control::clear_requests)
                .fallback(method_not_allowed),
        )
        .route(
            "/_mock/pacing",
            post(control::set_pacing)
                .get(control::get_pacing)
                .fallback(method_not_allowed),
        )
        .fallback(not_found)
        // The recording middleware enforces the API's own limit with the
        // API's error body; the extractors must not stop earlier.
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn_with_state(Arc::clone(&shared), record))
        .with_state(shared)
}

/// Records the request (outside `/_mock/`), and stamps the response with
/// its `request-id`.
async fn record(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let received_unix_micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_micros()).unwrap_or(u64::MAX)
        });
    let request_id = new_id("req_");
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return with_request_id(
                error_response(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "request_too_large",
                    "Request exceeds the maximum allowed number of bytes.",
                    &request_id,
                ),
                &request_id,
            );
        }
    };
    if !parts.uri.path().starts_with("/_mock/") {
        let recorded = RecordedRequest {
            method: parts.method.to_string(),
            path: parts.uri.path().to_owned(),
            headers: header_map(&parts.headers),
            body: recorded_body(&bytes),
            received_unix_micros,
        };
        lock(&shared.requests).push(recorded);
    }
    let mut request = Request::from_parts(parts, Body::from(bytes));
    request
        .extensions_mut()
        .insert(RequestId(request_id.clone()));
    with_request_id(next.run(request).await, &request_id)
}

fn with_request_id(mut response: Response, request_id: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert("request-id", value);
    }
    response
}

fn header_map(headers: &HeaderMap) -> BTreeMap<String, String> {
    let mut map = BTreeMap::<String, String>::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes());
        map.entry(name.as_str().to_owned())
            .and_modify(|joined| {
                joined.push_str(", ");
                joined.push_str(&value);
            })
            .or_insert_with(|| value.into_owned());
    }
    map
}

fn recorded_body(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

/// The API's error response: `{"type":"error","error":{…},"request_id":…}`.
pub(crate) fn error_response(
    status: StatusCode,
    error_type: &str,
    message: &str,
    request_id: &str,
) -> Response {
    json_response(status, &ErrorResponse::new(error_type, message, request_id))
}

pub(crate) fn json_response(status: StatusCode, value: &impl serde::Serialize) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => bytes_response(status, "application/json", body),
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response(),
    }
}

fn bytes_response(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Body>,
) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        body.into(),
    )
        .into_response()
}

fn sse_response(plan: Plan, dropped: &Arc<AtomicUsize>) -> Response {
    (
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/event-stream; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        plan.into_body(Arc::clone(dropped)),
    )
        .into_response()
}

/// The HTTP status the API uses for an error type.
fn status_for(error_type: &str) -> StatusCode {
    match error_type {
        "invalid_request_error" => StatusCode::BAD_REQUEST,
        "authentication_error" => StatusCode::UNAUTHORIZED,
        "permission_error" => StatusCode::FORBIDDEN,
        "not_found_error" => StatusCode::NOT_FOUND,
        "request_too_large" => StatusCode::PAYLOAD_TOO_LARGE,
        "rate_limit_error" => StatusCode::TOO_MANY_REQUESTS,
        "overloaded_error" => StatusCode::from_u16(529).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Checks the API key and `anthropic-version` as the API does; on failure
/// returns the error response to send.
pub(crate) fn check_headers(
    shared: &Shared,
    headers: &HeaderMap,
    request_id: &str,
) -> Option<Response> {
    let api_key = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .or_else(|| {
            headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
        });
    let (status, error_type, message) = if api_key != Some(shared.api_key.as_str()) {
        (
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "invalid x-api-key",
        )
    } else if !headers.contains_key("anthropic-version") {
        (
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "anthropic-version: header is required",
        )
    } else {
        return None;
    };
    Some(error_response(status, error_type, message, request_id))
}

/// The parts of a Messages request the mock uses.
struct MessagesRequest {
    model: String,
    stream: bool,
    last_user_text: String,
}

fn parse_messages_request(body: &[u8]) -> Result<MessagesRequest, String> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|error| format!("There was an issue with your request body: {error}"))?;
    let Some(object) = value.as_object() else {
        return Err("Request body must be a JSON object".to_owned());
    };
    let model = match object.get("model") {
        Some(Value::String(model)) => model.clone(),
        Some(_) => return Err("model: Input should be a valid string".to_owned()),
        None => return Err("model: Field required".to_owned()),
    };
    match object.get("max_tokens") {
        Some(v) if v.is_u64() => {}
        Some(_) => return Err("max_tokens: Input should be a valid integer".to_owned()),
        None => return Err("max_tokens: Field required".to_owned()),
    }
    let messages = match object.get("messages") {
        Some(Value::Array(messages)) => messages,
        Some(_) => return Err("messages: Input should be a valid list".to_owned()),
        None => return Err("messages: Field required".to_owned()),
    };
    let stream = object
        .get("stream")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Ok(MessagesRequest {
        model,
        stream,
        last_user_text: last_user_text(messages),
    })
}

/// The text of the last user message: its string content, or its text
/// blocks joined by newlines.
pub(crate) fn last_user_text(messages: &[Value]) -> String {
    let Some(message) = messages
        .iter()
        .rev()
        .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
    else {
        return String::new();
    };
    match message.get("content") {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(blocks)) => blocks
            .iter()
            .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

async fn messages(
    State(shared): State<Arc<Shared>>,
    axum::Extension(RequestId(request_id)): axum::Extension<RequestId>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(response) = check_headers(&shared, &headers, &request_id) {
        return response;
    }
    let request = match parse_messages_request(&body) {
        Ok(request) => request,
        Err(message) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                &message,
                &request_id,
            );
        }
    };
    let queued = lock(&shared.replies).pop_front();
    let reply = match (queued, &shared.replay) {
        (Some(reply), _) => reply,
        (None, Some(path)) => Reply::replay_file(path.clone()),
        (None, None) => Reply::text(default_reply_text(&request.last_user_text)),
    };
    let pacing = reply.pacing().unwrap_or_else(|| *lock(&shared.pacing));
    let input_tokens = estimate_tokens(String::from_utf8_lossy(&body).chars().count());
    match answer(
        reply,
        &request,
        pacing,
        input_tokens,
        &request_id,
        &shared.dropped_bodies,
    )
    .await
    {
        Ok(response) => response,
        Err(message) => error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "api_error",
            &message,
            &request_id,
        ),
    }
}

/// Plays `reply` to a valid Messages request.
async fn answer(
    reply: Reply,
    request: &MessagesRequest,
    pacing: Pacing,
    input_tokens: u64,
    request_id: &str,
    dropped: &Arc<AtomicUsize>,
) -> Result<Response, String> {
    let (blocks, stop_reason, ending) = match reply {
        Reply::Error {
            status,
            error_type,
            message,
            retry_after,
            retry_after_ms,
            should_retry,
            headers,
        } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut response = error_response(status, &error_type, &message, request_id);
            let mut extra = headers;
            if let Some(seconds) = retry_after {
                extra.insert("retry-after".into(), seconds.to_string());
            }
            if let Some(ms) = retry_after_ms {
                extra.insert("retry-after-ms".into(), ms.to_string());
            }
            if let Some(retry) = should_retry {
                extra.insert("x-should-retry".into(), retry.to_string());
            }
            add_headers(&mut response, &extra)?;
            return Ok(response);
        }
        Reply::Raw {
            status,
            headers,
            body,
            body_bytes,
            ..
        } => {
            let status = StatusCode::from_u16(status).map_err(|e| e.to_string())?;
            let body = if body_bytes.is_empty() {
                body.into_bytes()
            } else {
                body_bytes
            };
            let mut plan = Plan::default();
            plan.push_paced(&body, pacing);
            let mut response = (status, plan.into_body(Arc::clone(dropped))).into_response();
            add_headers(&mut response, &headers)?;
            return Ok(response);
        }
        Reply::Replay { sse, .. } => {
            return Ok(sse_response(replay_plan(sse.as_bytes(), pacing), dropped));
        }
        Reply::ReplayFile { path, .. } => {
            let raw = tokio::fs::read(&path).await.map_err(|error| {
                format!(
                    "mock-anthropic could not read replay file {}: {error}",
                    path.display()
                )
            })?;
            return Ok(sse_response(replay_plan(&raw, pacing), dropped));
        }
        Reply::Text { text, .. } => (vec![crate::Block::text(text)], None, Ending::Complete),
        Reply::Blocks {
            blocks,
            stop_reason,
            ..
        } => (blocks, stop_reason, Ending::Complete),
        Reply::MidStreamError {
            text,
            error_type,
            message,
            ..
        } => {
            if !request.stream {
                return Ok(error_response(
                    status_for(&error_type),
                    &error_type,
                    &message,
                    request_id,
                ));
            }
            (
                vec![crate::Block::text(text)],
                None,
                Ending::Error {
                    error_type,
                    message,
                },
            )
        }
        Reply::DropConnection { text, .. } => (vec![crate::Block::text(text)], None, Ending::Drop),
    };
    let has_tool_use = blocks
        .iter()
        .any(|b| matches!(b, crate::Block::ToolUse { .. }));
    let stop_reason = stop_reason
        .unwrap_or_else(|| if has_tool_use { "tool_use" } else { "end_turn" }.to_owned());
    let blocks = blocks
        .into_iter()
        .map(|block| ResolvedBlock::resolve(block, || new_id("toolu_")))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| error.to_string())?;
    let script = Script {
        blocks,
        stop_reason,
        ending,
    };
    let message_id = new_id("msg_");
    if request.stream {
        let plan = script
            .sse_plan(&message_id, &request.model, input_tokens, pacing)
            .map_err(|error| error.to_string())?;
        return Ok(sse_response(plan, dropped));
    }
    let body = script
        .message_json(&message_id, &request.model, input_tokens)
        .map_err(|error| error.to_string())?;
    let delay = script.streaming_time(pacing);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if script.ending == Ending::Drop {
        let plan = Plan::truncated(&body[..body.len() / 2]);
        return Ok(bytes_response(
            StatusCode::OK,
            "application/json",
            plan.into_body(Arc::clone(dropped)),
        ));
    }
    Ok(bytes_response(StatusCode::OK, "application/json", body))
}

/// Sets scripted response headers (replacing any of the same name).
pub(crate) fn add_headers(
    response: &mut Response,
    headers: &BTreeMap<String, String>,
) -> Result<(), String> {
    for (name, value) in headers {
        let name = header::HeaderName::from_bytes(name.as_bytes()).map_err(|e| e.to_string())?;
        let value = HeaderValue::from_str(value).map_err(|e| e.to_string())?;
        response.headers_mut().insert(name, value);
    }
    Ok(())
}

async fn not_found(axum::Extension(RequestId(request_id)): axum::Extension<RequestId>) -> Response {
    error_response(
        StatusCode::NOT_FOUND,
        "not_found_error",
        "Not found",
        &request_id,
    )
}

async fn method_not_allowed(
    axum::Extension(RequestId(request_id)): axum::Extension<RequestId>,
) -> Response {
    error_response(
        StatusCode::METHOD_NOT_ALLOWED,
        "invalid_request_error",
        "Method not allowed",
        &request_id,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn last_user_text_reads_strings_and_blocks() {
        let messages = vec![
            json!({"role": "user", "content": "first"}),
            json!({"role": "assistant", "content": "reply"}),
            json!({"role": "user", "content": [
                {"type": "text", "text": "second"},
                {"type": "image", "source": {}},
                {"type": "text", "text": "third"}
            ]}),
        ];
        assert_eq!(last_user_text(&messages), "second\nthird");
        assert_eq!(last_user_text(&messages[..1]), "first");
        assert_eq!(last_user_text(&[]), "");
    }

    #[test]
    fn requests_are_validated() {
        assert!(parse_messages_request(b"{").is_err());
        assert_eq!(
            parse_messages_request(br#"{"max_tokens":1,"messages":[]}"#).err(),
            Some("model: Field required".to_owned())
        );
        assert_eq!(
            parse_messages_request(br#"{"model":"m","messages":[]}"#).err(),
            Some("max_tokens: Field required".to_owned())
        );
        let ok =
            parse_messages_request(br#"{"model":"m","max_tokens":5,"messages":[],"stream":true}"#)
                .unwrap();
        assert!(ok.stream);
        assert_eq!(ok.model, "m");
    }
}

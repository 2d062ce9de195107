//! What every HTTP provider shares: the retry loop around one streamed
//! request, reading a streamed body through a [`BodyParser`] with an idle
//! timeout, and turning an error response or an unexpected body into a
//! typed [`LlmError`]. Providers supply the request and the parser.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use reqwest::header::HeaderMap;
use tokio::sync::mpsc;

use super::retry::{self, Clock, RetryPolicy};
use crate::llm::{CompletionEvent, LlmError};

/// The largest error body read from a failed response.
const MAX_ERROR_BODY: usize = 64 * 1024;
/// How long a provider connection may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A request body as sent; one that cannot be encoded is the same typed
/// error for every provider.
pub fn encode_body(body: &impl serde::Serialize) -> Result<bytes::Bytes, LlmError> {
    serde_json::to_vec(body)
        .map(bytes::Bytes::from)
        .map_err(|e| LlmError::Malformed {
            what: "request",
            detail: e.to_string(),
        })
}

/// Whether a provider connection stays open once its reply has ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Connections {
    /// Kept for the next request, which then skips the TCP and TLS
    /// handshakes (the app: titles, the next turn).
    #[default]
    KeepAlive,
    /// Closed when the reply ends: for a command that makes one request
    /// and exits (print mode), where an idle connection would only hold
    /// its buffers (up to ~0.5 MB after a fast reply) until the exit.
    OneShot,
}

/// The HTTP client every provider uses: a connect timeout and Kestrel's
/// user agent (per-request timeouts are the reader's). One is made per
/// backend and shared by its providers (one TLS set-up, one pool).
pub fn client(connections: Connections) -> Result<reqwest::Client, reqwest::Error> {
    let builder = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .user_agent(concat!("kestrel/", env!("CARGO_PKG_VERSION")));
    match connections {
        Connections::KeepAlive => builder,
        Connections::OneShot => builder.pool_max_idle_per_host(0),
    }
    .build()
}

/// The sending half of a [`super::CompletionStream`].
pub type EventSender = mpsc::Sender<Result<CompletionEvent, LlmError>>;

/// Bytes of a streamed body in, [`CompletionEvent`]s out.
pub trait BodyParser: Send {
    /// Feeds the next chunk; events decoded before an error are still
    /// pushed.
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<CompletionEvent>) -> Result<(), LlmError>;
    /// Ends the body; one that ends before the reply did is an error.
    fn finish(&mut self, out: &mut Vec<CompletionEvent>) -> Result<(), LlmError>;
    /// Whether the reply has ended (later bytes are ignored).
    fn is_stopped(&self) -> bool;
}

/// How one attempt ended.
pub enum Attempt {
    /// The reply finished, or the reader went away.
    Finished,
    /// It failed; `shown` says whether any of the reply was sent on.
    Failed { error: LlmError, shown: bool },
}

impl Attempt {
    /// A failure before anything was shown.
    pub fn failed(error: LlmError) -> Self {
        Self::Failed {
            error,
            shown: false,
        }
    }
}

/// Runs `attempt` until the reply finishes, fails for good, or the stream
/// is dropped; retries per `policy` while nothing has been shown, telling
/// the reader with [`CompletionEvent::Retrying`] before each wait.
pub async fn run_with_retries<F, Fut>(
    policy: RetryPolicy,
    clock: Arc<dyn Clock>,
    tx: EventSender,
    mut attempt: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = Attempt>,
{
    let mut retries = 0;
    loop {
        let outcome = tokio::select! {
            () = tx.closed() => {
                tracing::debug!("reply stream dropped by its reader; request stopped");
                return;
            }
            outcome = attempt() => outcome,
        };
        let (error, shown) = match outcome {
            Attempt::Finished => return,
            Attempt::Failed { error, shown } => (error, shown),
        };
        if shown || !policy.should_retry(&error, retries) {
            let _ = tx.send(Err(error)).await;
            return;
        }
        let delay = policy.delay(&error, retries);
        retries += 1;
        tracing::info!(retries, ?delay, %error, "retrying the request");
        let notice = CompletionEvent::Retrying {
            attempt: retries,
            delay,
            error: error.to_kestrel(),
        };
        if tx.send(Ok(notice)).await.is_err() {
            return;
        }
        tokio::select! {
            () = tx.closed() => return,
            () = clock.sleep(delay) => {}
        }
    }
}

/// Sends the request built by `request`, waiting at most `idle` for the
/// response headers, and checks the response: an error status, a
/// compressed body or a body that is not an event stream are typed
/// failures. On success returns the response and its request id.
pub async fn open_stream(
    request: reqwest::RequestBuilder,
    url: &str,
    idle: Duration,
    clock: &dyn Clock,
) -> Result<(reqwest::Response, Option<String>), LlmError> {
    let response = match tokio::time::timeout(idle, request.send()).await {
        Err(_) => {
            return Err(LlmError::IdleTimeout {
                secs: idle.as_secs(),
            });
        }
        Ok(Err(source)) => {
            return Err(LlmError::Connect {
                url: url.to_owned(),
                source,
            });
        }
        Ok(Ok(response)) => response,
    };
    let request_id = request_id(response.headers());
    if !response.status().is_success() {
        return Err(status_error(response, request_id, idle, clock).await);
    }
    if let Some(content_type) = unexpected_body(&response) {
        let snippet = snippet(&read_capped(response, 512, idle).await, 200);
        return Err(LlmError::UnexpectedBody {
            content_type,
            snippet,
            request_id,
        });
    }
    Ok((response, request_id))
}

/// Reads one streamed body through `parser` into the channel.
pub async fn read_body(
    response: reqwest::Response,
    parser: &mut impl BodyParser,
    idle: Duration,
    tx: &EventSender,
) -> Attempt {
    let mut body = response.bytes_stream();
    let mut events = Vec::new();
    let mut shown = false;
    loop {
        let result = match tokio::time::timeout(idle, body.next()).await {
            Err(_) => Err(LlmError::IdleTimeout {
                secs: idle.as_secs(),
            }),
            Ok(Some(Ok(chunk))) => {
                tracing::trace!(bytes = chunk.len(), "reply chunk");
                parser.feed(&chunk, &mut events)
            }
            Ok(Some(Err(error))) => {
                tracing::warn!(error = %error, "reply body broke");
                parser.finish(&mut events)
            }
            Ok(None) => parser.finish(&mut events),
        };
        for event in events.drain(..) {
            shown |= event.is_content();
            if tx.send(Ok(event)).await.is_err() {
                return Attempt::Finished;
            }
        }
        match result {
            Err(error) => return Attempt::Failed { error, shown },
            Ok(()) if parser.is_stopped() => return Attempt::Finished,
            Ok(()) => {}
        }
    }
}

pub fn header_string(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The provider's id for this request (`request-id`, or `x-request-id`
/// as OpenAI-compatible servers name it).
pub fn request_id(headers: &HeaderMap) -> Option<String> {
    header_string(headers, "request-id").or_else(|| header_string(headers, "x-request-id"))
}

/// Reads at most `limit` bytes of a body, giving up after `idle` of
/// silence.
pub async fn read_capped(response: reqwest::Response, limit: usize, idle: Duration) -> Vec<u8> {
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Ok(Some(Ok(chunk))) = tokio::time::timeout(idle, stream.next()).await {
        body.extend_from_slice(&chunk);
        if body.len() >= limit {
            body.truncate(limit);
            break;
        }
    }
    body
}

/// The typed error for a non-2xx response. Reads the error body both APIs
/// send: `{"error": {"type" | "code", "message"}, "request_id"?}`.
pub async fn status_error(
    response: reqwest::Response,
    request_id: Option<String>,
    idle: Duration,
    clock: &dyn Clock,
) -> LlmError {
    let status = response.status().as_u16();
    let retry_after = retry::retry_after(response.headers(), clock.now());
    let should_retry = retry::should_retry_header(response.headers());
    let body = read_capped(response, MAX_ERROR_BODY, idle).await;
    let parsed = serde_json::from_slice::<serde_json::Value>(&body).ok();
    let error = parsed.as_ref().and_then(|v| v.get("error"));
    let text = |value: Option<&serde_json::Value>| {
        value.and_then(serde_json::Value::as_str).map(str::to_owned)
    };
    let error_type = text(error.and_then(|e| e.get("type")))
        .or_else(|| text(error.and_then(|e| e.get("code"))))
        .unwrap_or_default();
    let message =
        text(error.and_then(|e| e.get("message"))).unwrap_or_else(|| snippet(&body, status));
    let body_request_id = text(parsed.as_ref().and_then(|v| v.get("request_id")));
    tracing::warn!(status, %error_type, request_id = ?request_id, "provider returned an error");
    LlmError::Status {
        status,
        error_type,
        message,
        request_id: request_id.or(body_request_id),
        retry_after_secs: retry_after.map(|d| d.as_secs() + u64::from(d.subsec_nanos() > 0)),
        retry_after,
        should_retry,
    }
}

/// The start of a body as readable text, for error messages.
pub fn snippet(body: &[u8], status: u16) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(300)]);
    let text: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if text.is_empty() {
        format!("HTTP {status}")
    } else {
        text
    }
}

/// Why a successful response's body cannot be an event stream, if it
/// cannot: a compressed body (never asked for), or another content type.
fn unexpected_body(response: &reqwest::Response) -> Option<String> {
    let headers = response.headers();
    let content_type = header_string(headers, "content-type").unwrap_or_default();
    if let Some(encoding) = header_string(headers, "content-encoding")
        && !encoding.trim().eq_ignore_ascii_case("identity")
    {
        return Some(format!("a {encoding}-compressed body"));
    }
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    if !content_type.is_empty() && !essence.eq_ignore_ascii_case("text/event-stream") {
        return Some(essence.to_owned());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn snippets_are_one_readable_line() {
        assert_eq!(
            snippet(b"<html>\n  <body>Gateway\r\n</body>", 502),
            "<html> <body>Gateway </body>"
        );
        assert_eq!(snippet(b"", 502), "HTTP 502");
    }
}

//! A streaming client for the Anthropic Messages API.
//!
//! [`AnthropicClient::stream`] sends one `POST /v1/messages` with
//! `stream: true` and returns a [`CompletionStream`]. One task per reply
//! reads the body, decodes SSE ([`crate::sse`]), parses the wire events
//! ([`wire`]) and maps them ([`mapper`]) into a bounded channel. Every read
//! has an idle timeout, a body that ends before `message_stop` is an error,
//! and dropping the stream stops the task and closes the connection at once.
//!
//! `ANTHROPIC_BASE_URL` is honoured as the official SDKs honour it: the
//! base without `/v1`, to which the client appends `/v1/messages`.

mod key_check;
pub mod mapper;
pub mod wire;

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::{Stream, StreamExt};
use reqwest::header::{HeaderMap, HeaderValue};
use tokio::sync::mpsc;

use crate::llm::{CompletionEvent, CompletionRequest, LlmError};
use crate::secrets::ApiKey;
use crate::sse::{SseDecoder, SseEvent};
use mapper::EventMapper;
use wire::{ErrorResponse, MessagesRequest, StreamEvent, WireMessage};

/// The API version every request declares.
pub const API_VERSION: &str = "2023-06-01";
/// Where requests go when `ANTHROPIC_BASE_URL` is not set.
pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";

/// How long a stream may stay silent before it is abandoned. The API sends
/// `ping` events while the model works, so real silences are short.
const IDLE_TIMEOUT: Duration = Duration::from_secs(120);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest error body read from a failed response.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// A client for one Anthropic-compatible endpoint.
#[derive(Debug, Clone)]
pub struct AnthropicClient {
    http: reqwest::Client,
    base_url: String,
    idle_timeout: Duration,
}

impl AnthropicClient {
    /// A client for `base_url` (e.g. `https://api.anthropic.com`).
    pub fn new(base_url: &str) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("kestrel/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            idle_timeout: IDLE_TIMEOUT,
        })
    }

    /// Sets how long a stream may stay silent (tests shorten it).
    #[must_use]
    pub fn with_idle_timeout(mut self, idle_timeout: Duration) -> Self {
        self.idle_timeout = idle_timeout;
        self
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Starts a streamed reply. Returns once the response headers arrived:
    /// HTTP errors come back here, everything after as stream items.
    pub async fn stream(
        &self,
        key: &ApiKey,
        request: &CompletionRequest,
    ) -> Result<CompletionStream, LlmError> {
        let url = format!("{}/v1/messages", self.base_url);
        let body = MessagesRequest {
            model: &request.model,
            max_tokens: request.max_tokens,
            system: &request.system,
            messages: request
                .messages
                .iter()
                .map(|m| WireMessage {
                    role: m.role,
                    content: &m.content,
                })
                .collect(),
            stream: true,
        };
        let body = serde_json::to_vec(&body).map_err(|e| LlmError::Malformed {
            what: "request",
            detail: e.to_string(),
        })?;
        tracing::debug!(%url, model = %request.model, body_bytes = body.len(), "sending request");

        let response = self
            .http
            .post(&url)
            .headers(auth_headers(key)?)
            .header("anthropic-version", API_VERSION)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|source| LlmError::Connect {
                url: url.clone(),
                source,
            })?;

        let request_id = header_string(response.headers(), "request-id");
        let status = response.status();
        if !status.is_success() {
            return Err(status_error(response, request_id).await);
        }
        tracing::debug!(request_id = ?request_id, "reply stream opened");

        let (tx, rx) = mpsc::channel(64);
        tokio::spawn(read_reply(response, request_id, self.idle_timeout, tx));
        Ok(CompletionStream { rx })
    }
}

fn auth_headers(key: &ApiKey) -> Result<HeaderMap, LlmError> {
    let mut value = HeaderValue::from_str(key.expose()).map_err(|_| LlmError::Malformed {
        what: "API key",
        detail: "it contains characters that cannot be sent in a header".into(),
    })?;
    value.set_sensitive(true);
    let mut headers = HeaderMap::new();
    headers.insert("x-api-key", value);
    Ok(headers)
}

fn header_string(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Builds the typed error for a non-2xx response.
async fn status_error(response: reqwest::Response, request_id: Option<String>) -> LlmError {
    let status = response.status().as_u16();
    let retry_after_secs = retry_after(response.headers());
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(Ok(chunk)) = stream.next().await {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_ERROR_BODY {
            break;
        }
    }
    let (error_type, message, body_request_id) =
        match serde_json::from_slice::<ErrorResponse>(&body) {
            Ok(parsed) => (
                parsed.error.error_type,
                parsed.error.message,
                parsed.request_id,
            ),
            Err(_) => {
                let text = String::from_utf8_lossy(&body[..body.len().min(512)])
                    .trim()
                    .to_owned();
                (
                    String::new(),
                    if text.is_empty() {
                        format!("HTTP {status}")
                    } else {
                        text
                    },
                    None,
                )
            }
        };
    tracing::warn!(status, %error_type, request_id = ?request_id, "provider returned an error");
    LlmError::Status {
        status,
        error_type,
        message,
        request_id: request_id.or(body_request_id),
        retry_after_secs,
    }
}

/// `retry-after-ms`, else `retry-after` in seconds, rounded up to seconds.
fn retry_after(headers: &HeaderMap) -> Option<u64> {
    if let Some(ms) =
        header_string(headers, "retry-after-ms").and_then(|v| v.trim().parse::<f64>().ok())
    {
        return Some((ms / 1000.0).ceil().max(0.0) as u64);
    }
    header_string(headers, "retry-after").and_then(|v| v.trim().parse::<u64>().ok())
}

/// The reply-reading task. Ends when the reply ends, fails, or the
/// [`CompletionStream`] is dropped.
async fn read_reply(
    response: reqwest::Response,
    request_id: Option<String>,
    idle_timeout: Duration,
    tx: mpsc::Sender<Result<CompletionEvent, LlmError>>,
) {
    let mut body = response.bytes_stream();
    let mut decoder = SseDecoder::new();
    let mut mapper = EventMapper::new(request_id);
    let mut sse = Vec::new();
    let mut events = Vec::new();
    loop {
        let next = tokio::select! {
            () = tx.closed() => {
                tracing::debug!("reply stream dropped by its reader; closing the connection");
                return;
            }
            next = tokio::time::timeout(idle_timeout, body.next()) => next,
        };
        let ended = match next {
            Err(_) => {
                let _ = tx
                    .send(Err(LlmError::IdleTimeout {
                        secs: idle_timeout.as_secs(),
                    }))
                    .await;
                return;
            }
            Ok(Some(Ok(chunk))) => {
                tracing::trace!(bytes = chunk.len(), "reply chunk");
                decoder.feed(&chunk, &mut sse);
                false
            }
            Ok(Some(Err(error))) => {
                tracing::warn!(error = %error, "reply body broke");
                sse.extend(decoder.finish());
                true
            }
            Ok(None) => {
                sse.extend(decoder.finish());
                true
            }
        };
        let result = map_events(&mut mapper, sse.drain(..), &mut events);
        for event in events.drain(..) {
            if tx.send(Ok(event)).await.is_err() {
                return;
            }
        }
        if let Err(error) = result {
            let _ = tx.send(Err(error)).await;
            return;
        }
        if mapper.is_stopped() {
            return;
        }
        if ended {
            let _ = tx.send(Err(LlmError::EndedEarly)).await;
            return;
        }
    }
}

fn map_events(
    mapper: &mut EventMapper,
    sse: impl Iterator<Item = SseEvent>,
    out: &mut Vec<CompletionEvent>,
) -> Result<(), LlmError> {
    for event in sse {
        if !event.event.is_empty() && !wire::KNOWN_EVENTS.contains(&event.event.as_str()) {
            tracing::debug!(event = %event.event, "skipping unknown stream event");
            continue;
        }
        let parsed: StreamEvent =
            serde_json::from_str(&event.data).map_err(|e| LlmError::Malformed {
                what: "stream event",
                detail: format!("{} event: {e}", event.event),
            })?;
        mapper.map(parsed, out)?;
        if mapper.is_stopped() {
            break;
        }
    }
    Ok(())
}

/// The events of one streamed reply. Dropping it cancels the request.
#[derive(Debug)]
pub struct CompletionStream {
    rx: mpsc::Receiver<Result<CompletionEvent, LlmError>>,
}

impl Stream for CompletionStream {
    type Item = Result<CompletionEvent, LlmError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn retry_after_prefers_milliseconds() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("30"));
        assert_eq!(retry_after(&headers), Some(30));
        headers.insert("retry-after-ms", HeaderValue::from_static("1500"));
        assert_eq!(retry_after(&headers), Some(2));
    }

    #[test]
    fn key_header_is_marked_sensitive() {
        let headers = auth_headers(&ApiKey::new("sk-test").unwrap()).unwrap();
        assert!(headers["x-api-key"].is_sensitive());
        assert!(auth_headers(&ApiKey::new("bad\nkey").unwrap()).is_err());
    }
}

//! The provider-neutral view of a model reply: [`CompletionEvent`]s, the
//! request a provider receives ([`CompletionRequest`]), and [`LlmError`],
//! classified once into what the UI shows.
//!
//! Provider modules (so far [`crate::anthropic`]) own their wire formats and
//! map them into these types; the chat loop ([`crate::chat`]) only sees these.

use kestrel_shared::{ContentBlock, ErrorKind, KestrelError, Role, StopReason, Usage};

/// One message of a request's history.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestMessage {
    pub role: Role,
    pub content: Vec<ContentBlock>,
}

/// What to ask the model.
#[derive(Debug, Clone, PartialEq)]
pub struct CompletionRequest {
    pub model: String,
    pub system: String,
    pub messages: Vec<RequestMessage>,
    pub max_tokens: u32,
    /// Tools the model may call, in a fixed order (the order is part of the
    /// cached prompt prefix).
    pub tools: Vec<ToolSpec>,
    pub tool_choice: Option<ToolChoice>,
    /// Leave unset with thinking on: the API then requires the default.
    pub temperature: Option<f32>,
    pub stop_sequences: Vec<String>,
    pub thinking: Option<Thinking>,
    /// Whether to place prompt-cache breakpoints (tools, system, latest
    /// turns).
    pub cache: bool,
}

impl CompletionRequest {
    /// A plain request: no tools, no thinking, caching on.
    pub fn new(
        model: impl Into<String>,
        system: impl Into<String>,
        messages: Vec<RequestMessage>,
        max_tokens: u32,
    ) -> Self {
        Self {
            model: model.into(),
            system: system.into(),
            messages,
            max_tokens,
            tools: Vec::new(),
            tool_choice: None,
            temperature: None,
            stop_sequences: Vec::new(),
            thinking: None,
            cache: true,
        }
    }
}

/// A tool the model may call.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    /// The JSON Schema of the tool's input.
    pub input_schema: serde_json::Value,
}

/// Whether and which tool the model must call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolChoice {
    /// The model decides (the default).
    Auto { parallel: bool },
    /// The model must call some tool.
    Any { parallel: bool },
    /// The model must call this tool.
    Tool { name: String, parallel: bool },
    /// The model may not call tools.
    None,
}

/// Extended thinking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Thinking {
    /// A fixed budget (at least 1024, below `max_tokens`); older models.
    Enabled { budget_tokens: u32 },
    /// The model decides how much to think; `effort` is `low`, `medium`,
    /// `high`, … where the model lists effort levels.
    Adaptive { effort: Option<String> },
}

/// One step of a streamed reply.
#[derive(Debug, Clone, PartialEq)]
pub enum CompletionEvent {
    /// The provider accepted the request.
    Started { message_id: String, model: String },
    /// A failed attempt will be repeated after `delay`; nothing of the reply
    /// has been shown yet.
    Retrying {
        attempt: u32,
        delay: std::time::Duration,
        error: KestrelError,
    },
    /// Reply text for content block `index`.
    Text { index: u32, text: String },
    /// Thinking text for content block `index`.
    Thinking { index: u32, thinking: String },
    /// The signature that closes a thinking block.
    ThinkingSignature { index: u32, signature: String },
    /// A tool call began; its input is still arriving.
    ToolUseStarted {
        index: u32,
        id: String,
        name: String,
    },
    /// A citation for the text of block `index`, as the provider sent it.
    Citation {
        index: u32,
        citation: serde_json::Value,
    },
    /// A content block ended; tool input is complete here.
    BlockStopped {
        index: u32,
        block: Option<ContentBlock>,
    },
    /// A tool call's input did not parse as JSON (e.g. cut off by
    /// `max_tokens`). The reply goes on; the call cannot run.
    ToolInputInvalid {
        index: u32,
        id: String,
        name: String,
        json: String,
        error: String,
    },
    /// Cumulative usage so far.
    Usage(Usage),
    /// The reply ended normally.
    Stopped {
        stop_reason: Option<StopReason>,
        /// The stop sequence that ended the reply, if one did.
        stop_sequence: Option<String>,
    },
    /// A stream event or delta this version does not know, as sent.
    Unknown { raw: serde_json::Value },
}

/// Why a completion failed. Returned by providers; the chat loop turns it
/// into a [`KestrelError`] for the UI with [`LlmError::to_kestrel`].
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// No API key is configured. The user must add one.
    #[error("no API key is configured")]
    MissingKey,
    /// The provider answered with an HTTP error status.
    #[error("HTTP {status} {error_type}: {message}")]
    Status {
        status: u16,
        /// The API's error `type`, e.g. `rate_limit_error`.
        error_type: String,
        message: String,
        request_id: Option<String>,
        /// The wait the provider asked for, rounded up to seconds (shown).
        retry_after_secs: Option<u64>,
        /// The wait the provider asked for, exactly (`retry-after-ms`, else
        /// `retry-after` in seconds or as an HTTP date).
        retry_after: Option<std::time::Duration>,
        /// The provider's `x-should-retry` header, which overrides the
        /// status when present.
        should_retry: Option<bool>,
    },
    /// The provider sent an `error` event in the middle of the stream.
    #[error("stream error {error_type}: {message}")]
    StreamError {
        error_type: String,
        message: String,
        request_id: Option<String>,
    },
    /// The connection could not be made or broke.
    #[error("connection to {url} failed")]
    Connect {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// No bytes arrived within the idle timeout.
    #[error("no data for {secs} s")]
    IdleTimeout { secs: u64 },
    /// The stream ended before its final event.
    #[error("the reply stream ended before it was complete")]
    EndedEarly,
    /// The provider sent something that does not parse.
    #[error("malformed {what}: {detail}")]
    Malformed { what: &'static str, detail: String },
    /// A successful status with a body that is not an event stream (an HTML
    /// page from a proxy or captive portal, a compressed body).
    #[error("expected an event stream, got {content_type}")]
    UnexpectedBody {
        content_type: String,
        /// The start of the body, for the curious.
        snippet: String,
        request_id: Option<String>,
    },
    /// One stream event grew past the limit without ending.
    #[error("a stream event exceeded {limit} bytes")]
    EventTooLarge { limit: usize },
}

impl LlmError {
    /// The error as the UI shows it.
    pub fn to_kestrel(&self) -> KestrelError {
        match self {
            Self::MissingKey => KestrelError::new(
                ErrorKind::NoApiKey,
                "Add an Anthropic API key in Settings, or set ANTHROPIC_API_KEY.",
            ),
            Self::Status {
                status,
                error_type,
                message,
                request_id,
                retry_after_secs,
                ..
            } => {
                let kind = classify(*status, error_type, message);
                let mut error =
                    KestrelError::new(kind, message.clone()).with_request_id(request_id.clone());
                if let Some(secs) = retry_after_secs {
                    error = error.with_retry_after(*secs);
                }
                error
            }
            Self::StreamError {
                error_type,
                message,
                request_id,
            } => {
                let kind = match error_type.as_str() {
                    "overloaded_error" => ErrorKind::Overloaded,
                    "rate_limit_error" => ErrorKind::RateLimited,
                    "api_error" => ErrorKind::ProviderError,
                    _ => ErrorKind::StreamInterrupted,
                };
                KestrelError::new(kind, message.clone()).with_request_id(request_id.clone())
            }
            Self::Connect { url, source } => {
                let kind = if source.is_timeout() {
                    ErrorKind::Timeout
                } else {
                    ErrorKind::Network
                };
                KestrelError::new(
                    kind,
                    format!("Could not connect to {url}: {}", error_chain(source)),
                )
            }
            Self::IdleTimeout { secs } => KestrelError::new(
                ErrorKind::Timeout,
                format!("No data arrived for {secs} seconds."),
            ),
            Self::EndedEarly => KestrelError::new(
                ErrorKind::StreamInterrupted,
                "The connection closed before the reply was complete.",
            ),
            Self::Malformed { what, detail } => KestrelError::new(
                ErrorKind::StreamInterrupted,
                format!("Malformed {what}: {detail}"),
            ),
            Self::UnexpectedBody {
                content_type,
                snippet,
                request_id,
            } => KestrelError::new(
                ErrorKind::ProviderError,
                format!(
                    "The provider answered with {content_type} instead of an event stream \
                     (a proxy or captive portal may be in the way): {snippet}"
                ),
            )
            .with_request_id(request_id.clone()),
            Self::EventTooLarge { limit } => KestrelError::new(
                ErrorKind::StreamInterrupted,
                format!(
                    "One event of the reply grew past {} MiB without ending.",
                    limit / (1024 * 1024)
                ),
            ),
        }
    }

    /// Whether sending the same request again may succeed, as the official
    /// SDKs decide it: `x-should-retry` when the provider sent it, else 408,
    /// 409, 429 and 5xx, connection failures and timeouts. Mid-stream
    /// failures are retryable only while nothing of the reply was shown,
    /// which the caller knows, not this.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Status {
                status,
                should_retry,
                ..
            } => should_retry.unwrap_or(matches!(status, 408 | 409 | 429 | 500..)),
            Self::StreamError { error_type, .. } => matches!(
                error_type.as_str(),
                "overloaded_error" | "api_error" | "rate_limit_error" | "timeout_error"
            ),
            Self::Connect { .. } | Self::IdleTimeout { .. } | Self::EndedEarly => true,
            Self::MissingKey
            | Self::Malformed { .. }
            | Self::UnexpectedBody { .. }
            | Self::EventTooLarge { .. } => false,
        }
    }

    /// The wait the provider asked for, if it did.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Self::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

fn classify(status: u16, error_type: &str, message: &str) -> ErrorKind {
    match (status, error_type) {
        (401, _) | (_, "authentication_error") => ErrorKind::InvalidApiKey,
        (402, _) | (_, "billing_error") => ErrorKind::Billing,
        (403, _) | (_, "permission_error") => ErrorKind::PermissionDenied,
        (404, _) | (_, "not_found_error") => ErrorKind::NotFound,
        (413, _) | (_, "request_too_large") => ErrorKind::RequestTooLarge,
        (429, _) | (_, "rate_limit_error") => ErrorKind::RateLimited,
        (529, _) | (_, "overloaded_error") => ErrorKind::Overloaded,
        (504, _) | (_, "timeout_error") => ErrorKind::Timeout,
        (400, _) if message.contains("prompt is too long") => ErrorKind::ContextTooLong,
        (400, _) => ErrorKind::InvalidRequest,
        _ => ErrorKind::ProviderError,
    }
}

/// An error and its causes on one line, for messages a person reads.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn status(status: u16, error_type: &str, message: &str) -> ErrorKind {
        LlmError::Status {
            status,
            error_type: error_type.into(),
            message: message.into(),
            request_id: None,
            retry_after_secs: None,
            retry_after: None,
            should_retry: None,
        }
        .to_kestrel()
        .kind
    }

    #[test]
    fn statuses_map_to_kinds() {
        assert_eq!(
            status(401, "authentication_error", "invalid x-api-key"),
            ErrorKind::InvalidApiKey
        );
        assert_eq!(status(402, "billing_error", ""), ErrorKind::Billing);
        assert_eq!(
            status(403, "permission_error", ""),
            ErrorKind::PermissionDenied
        );
        assert_eq!(status(404, "not_found_error", ""), ErrorKind::NotFound);
        assert_eq!(
            status(413, "request_too_large", ""),
            ErrorKind::RequestTooLarge
        );
        assert_eq!(status(429, "rate_limit_error", ""), ErrorKind::RateLimited);
        assert_eq!(status(500, "api_error", ""), ErrorKind::ProviderError);
        assert_eq!(status(504, "timeout_error", ""), ErrorKind::Timeout);
        assert_eq!(status(529, "overloaded_error", ""), ErrorKind::Overloaded);
        assert_eq!(
            status(
                400,
                "invalid_request_error",
                "prompt is too long: 210000 tokens > 200000 maximum"
            ),
            ErrorKind::ContextTooLong
        );
        assert_eq!(
            status(400, "invalid_request_error", "messages: empty"),
            ErrorKind::InvalidRequest
        );
    }

    #[test]
    fn retry_after_and_request_id_survive() {
        let error = LlmError::Status {
            status: 429,
            error_type: "rate_limit_error".into(),
            message: "slow down".into(),
            request_id: Some("req_9".into()),
            retry_after_secs: Some(12),
            retry_after: None,
            should_retry: None,
        }
        .to_kestrel();
        assert_eq!(
            error,
            KestrelError::new(ErrorKind::RateLimited, "slow down")
                .with_request_id(Some("req_9".into()))
                .with_retry_after(12)
        );
    }
}

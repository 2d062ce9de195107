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
}

/// One step of a streamed reply.
#[derive(Debug, Clone, PartialEq)]
pub enum CompletionEvent {
    /// The provider accepted the request.
    Started { message_id: String, model: String },
    /// Reply text for content block `index`.
    Text { index: u32, text: String },
    /// Thinking text for content block `index`.
    Thinking { index: u32, thinking: String },
    /// The signature that closes a thinking block.
    ThinkingSignature { index: u32, signature: String },
    /// A content block ended; tool input is complete here.
    BlockStopped {
        index: u32,
        block: Option<ContentBlock>,
    },
    /// Cumulative usage so far.
    Usage(Usage),
    /// The reply ended normally.
    Stopped { stop_reason: Option<StopReason> },
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
        retry_after_secs: Option<u64>,
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

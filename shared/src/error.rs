//! The one error type that reaches the UI. It is data: a [`ErrorKind`] the
//! UI turns into a specific message and action, plus the details a person
//! may want to report. User-facing text comes from the kind, never from
//! parsing `message`.

use serde::{Deserialize, Serialize};

/// What went wrong, in terms of what the user can do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// No API key is configured. Action: add one in settings.
    NoApiKey,
    /// The provider rejected the key (HTTP 401). Action: replace it.
    InvalidApiKey,
    /// The key may not use this model or feature (HTTP 403).
    PermissionDenied,
    /// The account has no credit (HTTP 402).
    Billing,
    /// Too many requests (HTTP 429). Action: wait `retry_after_secs`.
    RateLimited,
    /// The provider is overloaded (HTTP 529 or a mid-stream error).
    Overloaded,
    /// The request body is too large (HTTP 413).
    RequestTooLarge,
    /// The conversation no longer fits the model's context window.
    ContextTooLong,
    /// The provider rejected the request as malformed (HTTP 400).
    InvalidRequest,
    /// The model or endpoint does not exist (HTTP 404).
    NotFound,
    /// The provider could not be reached (DNS, refused, reset).
    Network,
    /// The provider did not answer in time.
    Timeout,
    /// The provider failed (HTTP 5xx).
    ProviderError,
    /// The reply stream broke or was malformed.
    StreamInterrupted,
    /// Saving or loading local data failed.
    Storage,
    /// The input was refused (empty message, too large, unknown id).
    BadInput,
    /// The Kestrel backend could not be reached (web UI only).
    Disconnected,
    /// A bug. The message says what to report.
    Internal,
}

impl ErrorKind {
    /// A short headline for the UI.
    pub fn headline(self) -> &'static str {
        match self {
            Self::NoApiKey => "Add an API key to start chatting",
            Self::InvalidApiKey => "API key rejected",
            Self::PermissionDenied => "This key is not allowed to do that",
            Self::Billing => "The account is out of credit",
            Self::RateLimited => "Rate limited",
            Self::Overloaded => "The model is overloaded",
            Self::RequestTooLarge => "The request is too large",
            Self::ContextTooLong => "The conversation is too long for this model",
            Self::InvalidRequest => "The provider rejected the request",
            Self::NotFound => "Model or endpoint not found",
            Self::Network => "Cannot reach the provider",
            Self::Timeout => "The provider took too long to answer",
            Self::ProviderError => "The provider had an error",
            Self::StreamInterrupted => "The reply was cut off",
            Self::Storage => "Could not save or load data",
            Self::BadInput => "That input was not accepted",
            Self::Disconnected => "Cannot reach the Kestrel server",
            Self::Internal => "Something went wrong inside Kestrel",
        }
    }

    /// What a reply waiting on a retry after this failure says, in the app
    /// and in print mode: "The model is overloaded. Trying again in 2 s
    /// (retry 1)". The wait is rounded up to whole seconds.
    pub fn retry_notice(self, attempt: u32, delay_ms: u64) -> String {
        let secs = delay_ms.div_ceil(1000).max(1);
        format!(
            "{}. Trying again in {secs} s (retry {attempt})",
            self.headline()
        )
    }

    /// Whether the fix is in settings (the UI then links there).
    pub fn needs_settings(self) -> bool {
        matches!(
            self,
            Self::NoApiKey | Self::InvalidApiKey | Self::PermissionDenied
        )
    }
}

/// An error the UI can show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{}: {message}", kind.headline())]
pub struct KestrelError {
    pub kind: ErrorKind,
    /// Details for the curious and for bug reports. Never holds a secret.
    pub message: String,
    /// The provider's request id, when it sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// How long to wait before trying again, when the provider said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
}

impl KestrelError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            request_id: None,
            retry_after_secs: None,
        }
    }

    #[must_use]
    pub fn with_request_id(mut self, request_id: Option<String>) -> Self {
        self.request_id = request_id;
        self
    }

    #[must_use]
    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn error_round_trips_and_displays_its_headline() {
        let error = KestrelError::new(ErrorKind::InvalidApiKey, "invalid x-api-key")
            .with_request_id(Some("req_1".into()));
        let json = serde_json::to_string(&error).unwrap();
        assert_eq!(
            json,
            r#"{"kind":"invalid_api_key","message":"invalid x-api-key","request_id":"req_1"}"#
        );
        assert_eq!(serde_json::from_str::<KestrelError>(&json).unwrap(), error);
        assert_eq!(error.to_string(), "API key rejected: invalid x-api-key");
        assert!(error.kind.needs_settings());
    }
}

//! Scripted replies: the [`Reply`] and [`Block`] types (and their JSON form
//! used by `POST /_mock/replies`), their convenience constructors, the
//! default answer, and how text is cut into deltas.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::Pacing;

/// What the server answers to one `/v1/messages` request.
///
/// The JSON form is tagged by `"kind"`; see the crate docs for one example of
/// each kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reply {
    /// One text block, streamed one word (with its leading whitespace) per
    /// delta; stop reason `end_turn`.
    Text {
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pacing: Option<Pacing>,
    },
    /// Explicit content blocks.
    Blocks {
        blocks: Vec<Block>,
        /// Defaults to `tool_use` when a tool_use block is present, else
        /// `end_turn`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stop_reason: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pacing: Option<Pacing>,
    },
    /// An HTTP error response instead of a message.
    Error {
        status: u16,
        error_type: String,
        message: String,
        /// Seconds, sent as the `retry-after` header.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after: Option<u64>,
        /// Milliseconds, sent as the `retry-after-ms` header.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_ms: Option<u64>,
        /// Sent as the `x-should-retry` header.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        should_retry: Option<bool>,
        /// Any other response headers (e.g. `retry-after` as an HTTP date).
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        headers: BTreeMap<String, String>,
    },
    /// Any response at all: status, headers and body bytes as given (an
    /// HTML page with status 200, a compressed body, a body that is JSON
    /// but not an event stream, …). `body` is text; `body_bytes` (a JSON
    /// array of numbers) is used instead when not empty.
    Raw {
        #[serde(default = "ok_status")]
        status: u16,
        #[serde(default)]
        headers: BTreeMap<String, String>,
        #[serde(default)]
        body: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        body_bytes: Vec<u8>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pacing: Option<Pacing>,
    },
    /// Streams `text`, then an `event: error` and ends the body.
    MidStreamError {
        text: String,
        #[serde(default = "overloaded_type")]
        error_type: String,
        #[serde(default = "overloaded_message")]
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pacing: Option<Pacing>,
    },
    /// Streams `text`, then aborts the connection without the terminal
    /// events.
    DropConnection {
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pacing: Option<Pacing>,
    },
    /// Sends these recorded SSE bytes unchanged.
    Replay {
        sse: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pacing: Option<Pacing>,
    },
    /// Sends the bytes of this recorded SSE file unchanged (read when the
    /// request arrives).
    ReplayFile {
        path: PathBuf,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pacing: Option<Pacing>,
    },
}

fn ok_status() -> u16 {
    200
}

fn overloaded_type() -> String {
    "overloaded_error".to_owned()
}

fn overloaded_message() -> String {
    "Overloaded".to_owned()
}

impl Reply {
    /// A plain text answer.
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text {
            text: text.into(),
            pacing: None,
        }
    }

    /// An answer made of explicit blocks, with the inferred stop reason.
    pub fn blocks(blocks: Vec<Block>) -> Self {
        Self::Blocks {
            blocks,
            stop_reason: None,
            pacing: None,
        }
    }

    /// A single tool call (stop reason `tool_use`).
    pub fn tool_use(name: impl Into<String>, input: serde_json::Value) -> Self {
        Self::blocks(vec![Block::tool_use(name, input)])
    }

    /// A thinking block (with its signature) followed by a text block.
    pub fn thinking_then_text(
        thinking: impl Into<String>,
        signature: impl Into<String>,
        text: impl Into<String>,
    ) -> Self {
        Self::blocks(vec![
            Block::thinking(thinking, signature),
            Block::text(text),
        ])
    }

    /// An HTTP error with the given status and error type.
    pub fn error(status: u16, error_type: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Error {
            status,
            error_type: error_type.into(),
            message: message.into(),
            retry_after: None,
            retry_after_ms: None,
            should_retry: None,
            headers: BTreeMap::new(),
        }
    }

    /// The error the API sends for `status`, with its documented type.
    pub fn status(status: u16) -> Self {
        let (error_type, message) = match status {
            400 => ("invalid_request_error", "Invalid request"),
            401 => ("authentication_error", "invalid x-api-key"),
            402 => ("billing_error", "Your credit balance is too low"),
            403 => ("permission_error", "Your API key does not have permission"),
            404 => ("not_found_error", "model: not found"),
            413 => ("request_too_large", "Request exceeds the maximum size"),
            429 => ("rate_limit_error", "Rate limited"),
            504 => ("timeout_error", "Request timed out"),
            529 => ("overloaded_error", "Overloaded"),
            _ => ("api_error", "Internal server error"),
        };
        Self::error(status, error_type, message)
    }

    /// 429 `rate_limit_error` with a `retry-after` header.
    pub fn rate_limited(retry_after_secs: u64) -> Self {
        Self::error(
            429,
            "rate_limit_error",
            "Number of requests has exceeded your rate limit. Please try again later.",
        )
        .with_retry_after(retry_after_secs)
    }

    /// Adds a `retry-after` header (seconds) to an [`Reply::Error`].
    #[must_use]
    pub fn with_retry_after(mut self, secs: u64) -> Self {
        if let Self::Error { retry_after, .. } = &mut self {
            *retry_after = Some(secs);
        }
        self
    }

    /// Adds a `retry-after-ms` header to an [`Reply::Error`].
    #[must_use]
    pub fn with_retry_after_ms(mut self, ms: u64) -> Self {
        if let Self::Error { retry_after_ms, .. } = &mut self {
            *retry_after_ms = Some(ms);
        }
        self
    }

    /// Adds an `x-should-retry` header to an [`Reply::Error`].
    #[must_use]
    pub fn with_should_retry(mut self, retry: bool) -> Self {
        if let Self::Error { should_retry, .. } = &mut self {
            *should_retry = Some(retry);
        }
        self
    }

    /// Adds a response header to an [`Reply::Error`] or [`Reply::Raw`].
    #[must_use]
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        if let Self::Error { headers, .. } | Self::Raw { headers, .. } = &mut self {
            headers.insert(name.into(), value.into());
        }
        self
    }

    /// A response with this status, content type and body.
    pub fn raw(status: u16, content_type: &str, body: impl Into<String>) -> Self {
        Self::Raw {
            status,
            headers: BTreeMap::from([("content-type".to_owned(), content_type.to_owned())]),
            body: body.into(),
            body_bytes: Vec::new(),
            pacing: None,
        }
    }

    /// A response with this status, content type and binary body.
    pub fn raw_bytes(status: u16, content_type: &str, body: Vec<u8>) -> Self {
        Self::Raw {
            status,
            headers: BTreeMap::from([("content-type".to_owned(), content_type.to_owned())]),
            body: String::new(),
            body_bytes: body,
            pacing: None,
        }
    }

    /// 529 `overloaded_error`.
    pub fn overloaded() -> Self {
        Self::error(529, "overloaded_error", "Overloaded")
    }

    /// 500 `api_error`.
    pub fn api_error() -> Self {
        Self::error(500, "api_error", "Internal server error")
    }

    /// Streams `text`, then `event: error` with `overloaded_error`.
    pub fn mid_stream_error(text: impl Into<String>) -> Self {
        Self::MidStreamError {
            text: text.into(),
            error_type: overloaded_type(),
            message: overloaded_message(),
            pacing: None,
        }
    }

    /// Streams `text`, then drops the connection.
    pub fn drop_connection(text: impl Into<String>) -> Self {
        Self::DropConnection {
            text: text.into(),
            pacing: None,
        }
    }

    /// Replays recorded SSE bytes as they are.
    pub fn replay(sse: impl Into<String>) -> Self {
        Self::Replay {
            sse: sse.into(),
            pacing: None,
        }
    }

    /// Replays a recorded SSE file as it is.
    pub fn replay_file(path: impl Into<PathBuf>) -> Self {
        Self::ReplayFile {
            path: path.into(),
            pacing: None,
        }
    }

    /// Overrides the server's default pacing for this reply (no effect on
    /// [`Reply::Error`], which has no body to pace).
    #[must_use]
    pub fn with_pacing(mut self, new: Pacing) -> Self {
        match &mut self {
            Self::Text { pacing, .. }
            | Self::Blocks { pacing, .. }
            | Self::MidStreamError { pacing, .. }
            | Self::DropConnection { pacing, .. }
            | Self::Replay { pacing, .. }
            | Self::Raw { pacing, .. }
            | Self::ReplayFile { pacing, .. } => *pacing = Some(new),
            Self::Error { .. } => {}
        }
        self
    }

    /// The pacing override, if any.
    pub(crate) fn pacing(&self) -> Option<Pacing> {
        match self {
            Self::Text { pacing, .. }
            | Self::Blocks { pacing, .. }
            | Self::MidStreamError { pacing, .. }
            | Self::DropConnection { pacing, .. }
            | Self::Replay { pacing, .. }
            | Self::Raw { pacing, .. }
            | Self::ReplayFile { pacing, .. } => *pacing,
            Self::Error { .. } => None,
        }
    }
}

/// One content block of a scripted reply; the JSON form is the API's own
/// (`{"type": "text", "text": …}` and so on).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    /// Streamed as `text_delta`s, one word each.
    Text { text: String },
    /// Streamed as `thinking_delta`s, one word each, then one
    /// `signature_delta`.
    Thinking { thinking: String, signature: String },
    /// Streamed as `input_json_delta`s: an empty fragment, then the compact
    /// JSON of `input` in short pieces.
    ToolUse {
        /// Generated (`toolu_…`) when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        name: String,
        input: serde_json::Value,
    },
}

impl Block {
    /// A text block.
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text { text: text.into() }
    }

    /// A thinking block with its signature.
    pub fn thinking(thinking: impl Into<String>, signature: impl Into<String>) -> Self {
        Self::Thinking {
            thinking: thinking.into(),
            signature: signature.into(),
        }
    }

    /// A tool call with a generated id.
    pub fn tool_use(name: impl Into<String>, input: serde_json::Value) -> Self {
        Self::ToolUse {
            id: None,
            name: name.into(),
            input,
        }
    }

    /// A tool call with the given id.
    pub fn tool_use_with_id(
        id: impl Into<String>,
        name: impl Into<String>,
        input: serde_json::Value,
    ) -> Self {
        Self::ToolUse {
            id: Some(id.into()),
            name: name.into(),
            input,
        }
    }
}

/// The answer given when no reply is queued: deterministic, a few short
/// Markdown paragraphs, quoting (the first 40 words of) `last_user_text`.
pub fn default_reply_text(last_user_text: &str) -> String {
    const QUOTE_WORDS: usize = 40;
    let words: Vec<&str> = last_user_text.split_whitespace().collect();
    let mut quote = words
        .iter()
        .take(QUOTE_WORDS)
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    if words.len() > QUOTE_WORDS {
        quote.push('…');
    }
    if quote.is_empty() {
        quote.push_str("(nothing)");
    }
    format!(
        "You said: \"{quote}\"\n\n\
         This answer comes from **Kestrel's mock Anthropic server**, so no real model \
         read your message. The reply is deterministic: the same conversation always \
         gets the same words, which keeps tests, benchmarks and demos predictable.\n\n\
         A few things worth trying:\n\n\
         - Send another message and watch it stream back word by word.\n\
         - Queue scripted replies with `POST /_mock/replies` to exercise tool calls, \
         thinking blocks and errors.\n\
         - Slow the stream down with `--first-token-ms` and `--tokens-per-second`.\n\n\
         When you want real answers, give Kestrel an Anthropic API key and point it \
         at the real service."
    )
}

/// Cuts `text` into deltas of one word each, the whitespace before a word
/// going with it. The pieces concatenate back to `text`.
pub(crate) fn split_words(text: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut previous_was_space = true;
    for (i, c) in text.char_indices() {
        let is_space = c.is_whitespace();
        if is_space && !previous_was_space && i > start {
            pieces.push(&text[start..i]);
            start = i;
        }
        previous_was_space = is_space;
    }
    if start < text.len() {
        pieces.push(&text[start..]);
    }
    pieces
}

/// Cuts a tool input's compact JSON into `partial_json` fragments: an empty
/// first fragment (as the API sends), then pieces of about a dozen bytes.
pub(crate) fn split_json(json: &str) -> Vec<&str> {
    const PIECE: usize = 12;
    let mut pieces = vec![""];
    let mut start = 0;
    while start < json.len() {
        let mut end = (start + PIECE).min(json.len());
        while !json.is_char_boundary(end) {
            end += 1;
        }
        pieces.push(&json[start..end]);
        start = end;
    }
    pieces
}

/// A rough token count: a quarter of the characters, at least one.
pub(crate) fn estimate_tokens(chars: usize) -> u64 {
    u64::try_from(chars.div_ceil(4).max(1)).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn words_keep_their_leading_space() {
        assert_eq!(
            split_words("Hello world,\n\nhow are"),
            ["Hello", " world,", "\n\nhow", " are"]
        );
        assert_eq!(split_words("  lead"), ["  lead"]);
        assert!(split_words("").is_empty());
        let text = default_reply_text("hi there");
        assert_eq!(split_words(&text).concat(), text);
    }

    #[test]
    fn json_fragments_start_empty_and_rejoin() {
        let json = r#"{"city":"Zürich","days":[1,2,3],"note":"ünïcödé everywhere"}"#;
        let pieces = split_json(json);
        assert_eq!(pieces[0], "");
        assert!(pieces.len() > 3);
        assert_eq!(pieces.concat(), json);
    }

    #[test]
    fn default_reply_is_deterministic_and_sized() {
        let text = default_reply_text("What is the capital of France?");
        assert!(text.starts_with("You said: \"What is the capital of France?\""));
        assert_eq!(text, default_reply_text("What is the capital of France?"));
        let words = text.split_whitespace().count();
        assert!((80..=150).contains(&words), "{words} words");
        let long = "word ".repeat(500);
        let words = default_reply_text(&long).split_whitespace().count();
        assert!(words <= 150, "{words} words");
    }

    #[test]
    fn reply_json_form_round_trips() {
        let reply = Reply::blocks(vec![
            Block::thinking("hmm", "sig"),
            Block::tool_use("get_weather", json!({"city": "Paris"})),
        ])
        .with_pacing(Pacing::new(std::time::Duration::from_millis(5), Some(20.0)));
        let value = serde_json::to_value(&reply).unwrap();
        assert_eq!(
            value,
            json!({
                "kind": "blocks",
                "blocks": [
                    {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                    {"type": "tool_use", "name": "get_weather", "input": {"city": "Paris"}}
                ],
                "pacing": {"first_token_ms": 5, "tokens_per_second": 20.0}
            })
        );
        let back: Reply = serde_json::from_value(value).unwrap();
        assert_eq!(back, reply);

        let parsed: Reply =
            serde_json::from_value(json!({"kind": "mid_stream_error", "text": "x"})).unwrap();
        assert_eq!(parsed, Reply::mid_stream_error("x"));
        let parsed: Reply = serde_json::from_value(json!({
            "kind": "error", "status": 429, "error_type": "rate_limit_error",
            "message": "slow down", "retry_after": 7
        }))
        .unwrap();
        assert_eq!(
            parsed,
            Reply::error(429, "rate_limit_error", "slow down").with_retry_after(7)
        );
        let parsed: Reply = serde_json::from_value(json!({
            "kind": "error", "status": 529, "error_type": "overloaded_error",
            "message": "Overloaded", "retry_after_ms": 250, "should_retry": false,
            "headers": {"x-extra": "1"}
        }))
        .unwrap();
        assert_eq!(
            parsed,
            Reply::overloaded()
                .with_retry_after_ms(250)
                .with_should_retry(false)
                .with_header("x-extra", "1")
        );
        let parsed: Reply = serde_json::from_value(json!({
            "kind": "raw", "headers": {"content-type": "text/html"}, "body": "<html>"
        }))
        .unwrap();
        assert_eq!(parsed, Reply::raw(200, "text/html", "<html>"));
    }
}

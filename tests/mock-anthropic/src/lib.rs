//! `kestrel-mock-anthropic`: a local stand-in for the Anthropic Messages API.
//!
//! This file owns the crate's public surface: the configuration types
//! ([`MockConfig`], [`Pacing`]), the record of received requests
//! ([`RecordedRequest`]) and the re-exports of [`MockServer`] and [`Reply`].
//!
//! The server speaks the real wire format (`POST /v1/messages` with or
//! without SSE streaming, `GET /v1/models`, the real error bodies and
//! headers) and, for OpenAI-compatible clients, `POST /v1/chat/completions`
//! (see `openai.rs`), playing the same scripted replies, so Kestrel's client, its tests, its benchmarks and a person
//! without an API key can all point at it.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use kestrel_mock_anthropic::{MockConfig, MockServer, Reply};
//!
//! let server = MockServer::start(MockConfig::default()).await?;
//! server.push_reply(Reply::text("Hello from the mock."));
//! // Point the client at `server.base_url()` with api key "test-key".
//! let _requests = server.requests();
//! # Ok(())
//! # }
//! ```
//!
//! # Behaviour
//!
//! Every authenticated, well-formed `POST /v1/messages` pops one scripted
//! [`Reply`] from a FIFO queue. When the queue is empty the server replays
//! [`MockConfig::replay`] if set, and otherwise answers with
//! [`default_reply_text`]: a deterministic few paragraphs quoting the last
//! user message, streamed one word per delta.
//!
//! Every request outside `/_mock/` is recorded (see [`RecordedRequest`]);
//! every response carries a `request-id: req_…` header. A paced reply the
//! client stops reading before its end is counted
//! ([`MockServer::dropped_bodies`]), so tests can see a cancel close the
//! connection. `GET /v1/models` is paginated and lists capabilities (see
//! `models.rs`).
//!
//! # Control endpoints
//!
//! For tests written in other languages:
//!
//! | route | body | effect |
//! | --- | --- | --- |
//! | `POST /_mock/replies` | a reply spec, or an array of them | enqueue; answers `{"queued": <queue length>}` |
//! | `DELETE /_mock/replies` | none | clear the queue; answers `{"cleared": <count>}` |
//! | `GET /_mock/requests` | none | the recorded requests as a JSON array |
//! | `DELETE /_mock/requests` | none | forget the recorded requests |
//! | `POST /_mock/pacing` | `{"first_token_ms": 0, "tokens_per_second": null}` | set the default pacing; answers it back |
//! | `GET /_mock/pacing` | none | the default pacing |
//!
//! # Reply spec (JSON form of [`Reply`])
//!
//! Tagged by `"kind"`. Every kind except `error` takes an optional
//! `"pacing": {"first_token_ms": N, "tokens_per_second": F}` that overrides
//! the server default for that reply.
//!
//! Text, one word per `text_delta`:
//! ```json
//! {"kind": "text", "text": "Hello there."}
//! ```
//! Explicit blocks (`text`, `thinking` with its `signature`, `tool_use` whose
//! `input` is streamed as `input_json_delta` fragments). `stop_reason`
//! defaults to `"tool_use"` when a tool_use block is present, else
//! `"end_turn"`; a tool_use `id` is generated (`toolu_…`) when omitted:
//! ```json
//! {"kind": "blocks", "blocks": [
//!   {"type": "thinking", "thinking": "Let me check.", "signature": "sig-1"},
//!   {"type": "text", "text": "Checking the weather."},
//!   {"type": "tool_use", "name": "get_weather", "input": {"city": "Paris"}}
//! ]}
//! ```
//! An HTTP error instead of a message. Optional: `retry_after` (seconds, the
//! `retry-after` header), `retry_after_ms` (`retry-after-ms`),
//! `should_retry` (`x-should-retry`) and `headers` (any others, e.g. a
//! `retry-after` HTTP date). To fail N times then succeed, queue N errors
//! and then the success:
//! ```json
//! {"kind": "error", "status": 429, "error_type": "rate_limit_error", "message": "Rate limited", "retry_after": 3}
//! ```
//! Any response at all, for bad-input tests: a status, headers and a text
//! `body` (or `body_bytes`, an array of numbers). With a first-token
//! `pacing` delay the body's second half waits for it:
//! ```json
//! {"kind": "raw", "status": 200, "headers": {"content-type": "text/html"}, "body": "<html>…"}
//! ```
//! Stream `text`, then an `event: error` and end the body (`error_type`
//! defaults to `overloaded_error`, `message` to `Overloaded`):
//! ```json
//! {"kind": "mid_stream_error", "text": "Partial answer", "error_type": "overloaded_error", "message": "Overloaded"}
//! ```
//! Stream `text`, then abort the connection without the terminal events:
//! ```json
//! {"kind": "drop_connection", "text": "Partial answer"}
//! ```
//! Send recorded SSE bytes as they are (pacing applies before each
//! `content_block_delta` event):
//! ```json
//! {"kind": "replay", "sse": "event: message_start\ndata: {…}\n\n…"}
//! ```
//! Same, read from a file on the server's machine at request time:
//! ```json
//! {"kind": "replay_file", "path": "tests/mock-anthropic/fixtures/basic_text.sse"}
//! ```
//!
//! Non-streaming requests get the JSON Message for `text`/`blocks`, the
//! mapped HTTP error for `mid_stream_error`, a truncated body on an aborted
//! connection for `drop_connection`, and the raw SSE for the replay kinds.

mod control;
mod models;
mod openai;
mod reply;
mod server;
mod sse;
mod stream;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use reply::{Block, Reply, default_reply_text};
pub use server::MockServer;

/// How the mock server is set up.
#[derive(Debug, Clone, PartialEq)]
pub struct MockConfig {
    /// The key clients must send as `x-api-key` (or `authorization: Bearer`).
    pub api_key: String,
    /// Model ids listed by `GET /v1/models`, newest first.
    pub models: Vec<String>,
    /// Default pacing of streamed replies.
    pub pacing: Pacing,
    /// When set, a `/v1/messages` request that finds the reply queue empty
    /// replays this recorded SSE file instead of the default answer.
    pub replay: Option<PathBuf>,
}

impl Default for MockConfig {
    fn default() -> Self {
        Self {
            api_key: "test-key".to_owned(),
            models: vec![
                "claude-sonnet-4-5".to_owned(),
                "claude-haiku-4-5".to_owned(),
            ],
            pacing: Pacing::default(),
            replay: None,
        }
    }
}

/// Timing of a streamed reply. The default is as fast as possible.
///
/// JSON form: `{"first_token_ms": 250, "tokens_per_second": 40.0}` (both
/// optional; `tokens_per_second` `null` or `0` means unpaced).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(from = "PacingWire", into = "PacingWire")]
pub struct Pacing {
    /// Pause between `message_start` and the first delta.
    pub first_token_delay: Duration,
    /// Rate of the deltas after the first; `None` (or a non-positive value)
    /// sends them all at once.
    pub tokens_per_second: Option<f64>,
}

impl Pacing {
    /// Pacing with the given first-token delay and delta rate.
    pub fn new(first_token_delay: Duration, tokens_per_second: Option<f64>) -> Self {
        Self {
            first_token_delay,
            tokens_per_second,
        }
    }

    /// The pause between two deltas, if any.
    pub(crate) fn token_interval(&self) -> Option<Duration> {
        let rate = self.tokens_per_second?;
        if rate.is_finite() && rate > 0.0 {
            Some(Duration::from_secs_f64(1.0 / rate))
        } else {
            None
        }
    }

    /// Whether this pacing adds no pause at all.
    pub(crate) fn is_unpaced(&self) -> bool {
        self.first_token_delay.is_zero() && self.token_interval().is_none()
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PacingWire {
    #[serde(default)]
    first_token_ms: u64,
    #[serde(default)]
    tokens_per_second: Option<f64>,
}

impl From<PacingWire> for Pacing {
    fn from(wire: PacingWire) -> Self {
        Self {
            first_token_delay: Duration::from_millis(wire.first_token_ms),
            tokens_per_second: wire.tokens_per_second,
        }
    }
}

impl From<Pacing> for PacingWire {
    fn from(pacing: Pacing) -> Self {
        Self {
            first_token_ms: u64::try_from(pacing.first_token_delay.as_millis()).unwrap_or(u64::MAX),
            tokens_per_second: pacing.tokens_per_second,
        }
    }
}

/// One request the server received (control endpoints under `/_mock/` are
/// not recorded).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedRequest {
    /// `POST`, `GET`, …
    pub method: String,
    /// The path without the query string, e.g. `/v1/messages`.
    pub path: String,
    /// Header names in lower case; repeated headers are joined with `, `.
    /// Secrets are kept (`x-api-key` included) so tests can check them.
    pub headers: BTreeMap<String, String>,
    /// The body parsed as JSON; `null` when empty, a JSON string holding the
    /// raw text when it is not valid JSON.
    pub body: serde_json::Value,
    /// When the request's head reached the server, in microseconds since
    /// the Unix epoch (benchmarks time launch → request with it).
    #[serde(default)]
    pub received_unix_micros: u64,
}

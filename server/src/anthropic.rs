//! A streaming client for the Anthropic Messages API.
//!
//! [`AnthropicClient::stream`] sends one `POST /v1/messages` with
//! `stream: true` and returns a [`CompletionStream`] at once. One task per
//! reply sends the request (again, per [`RetryPolicy`], while nothing of the
//! reply has been shown), reads the body, decodes SSE ([`crate::sse`]),
//! parses the wire events ([`wire`]) and maps them ([`mapper`]) into a
//! bounded channel. Every wait has a timeout (connect, response headers,
//! each read), a body that ends before `message_stop` is an error, a body
//! that is not an event stream is an error, and dropping the stream stops
//! the task and closes the connection at once.
//!
//! [`AnthropicClient::list_models`] reads `GET /v1/models`, every page.
//!
//! `ANTHROPIC_BASE_URL` is honoured as the official SDKs honour it: the
//! base without `/v1`, to which the client appends `/v1/messages`.

mod key_check;
pub mod mapper;
pub mod wire;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use kestrel_shared::ModelInfo;
use reqwest::header::{HeaderMap, HeaderValue};

use crate::llm::{CompletionEvent, CompletionRequest, LlmError, Thinking, ToolChoice};
use crate::provider::http::{
    self, Attempt, BodyParser, Connections, EventSender, open_stream, read_body, run_with_retries,
};
use crate::provider::models::ModelsPage;
use crate::provider::retry::{Clock, RetryPolicy, SystemClock};
use crate::provider::{CompletionStream, Provider};
use crate::secrets::ApiKey;
use crate::sse::{SseDecoder, SseEvent};
use mapper::EventMapper;
use wire::{
    EPHEMERAL, MessagesRequest, OutputConfig, StreamEvent, SystemBlock, WireBlock, WireMessage,
    WireThinking, WireTool, WireToolChoice,
};

/// The API version every request declares.
pub const API_VERSION: &str = "2023-06-01";
/// Where requests go when `ANTHROPIC_BASE_URL` is not set.
pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";

/// How long a stream may stay silent before it is abandoned. The API sends
/// `ping` events while the model works, so real silences are short.
const IDLE_TIMEOUT: Duration = Duration::from_secs(120);
/// The largest single stream event. Real events are small (a delta is a
/// few bytes to a few KiB); a server tool result can be large but not this.
pub const MAX_EVENT_BYTES: usize = 8 * 1024 * 1024;
/// Models asked for per page of `GET /v1/models` (the API's maximum).
const MODELS_PAGE: u32 = 1000;
/// A model list longer than this many pages is a server bug, not a list.
const MAX_MODEL_PAGES: usize = 100;

/// A client for one Anthropic-compatible endpoint.
#[derive(Debug, Clone)]
pub struct AnthropicClient {
    http: reqwest::Client,
    base_url: String,
    idle_timeout: Duration,
    retry: RetryPolicy,
    clock: Arc<dyn Clock>,
    models_page: u32,
}

impl AnthropicClient {
    /// A client for `base_url` (e.g. `https://api.anthropic.com`).
    pub fn new(base_url: &str) -> Result<Self, reqwest::Error> {
        let http = crate::provider::http::client(Connections::default())?;
        Ok(Self::with_http(http, base_url))
    }

    /// A client for `base_url` that sends through `http`.
    pub fn with_http(http: reqwest::Client, base_url: &str) -> Self {
        Self {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            idle_timeout: IDLE_TIMEOUT,
            retry: RetryPolicy::default(),
            clock: Arc::new(SystemClock),
            models_page: MODELS_PAGE,
        }
    }

    /// The HTTP client this one sends through.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Sets how long a stream may stay silent (tests shorten it).
    #[must_use]
    pub fn with_idle_timeout(mut self, idle_timeout: Duration) -> Self {
        self.idle_timeout = idle_timeout;
        self
    }

    /// Sets the retry policy.
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sets the clock retries wait on (tests use one that does not wait).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Sets how many models one page of the model list asks for.
    #[must_use]
    pub fn with_models_page(mut self, models_page: u32) -> Self {
        self.models_page = models_page.max(1);
        self
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Starts a streamed reply. Only a request that cannot be encoded fails
    /// here; HTTP errors (after retries) and everything later arrive as
    /// stream items.
    pub async fn stream(
        &self,
        key: &ApiKey,
        request: &CompletionRequest,
    ) -> Result<CompletionStream, LlmError> {
        self.start(key, request)
    }

    fn start(
        &self,
        key: &ApiKey,
        request: &CompletionRequest,
    ) -> Result<CompletionStream, LlmError> {
        let body = http::encode_body(&request_body(request))?;
        let headers = auth_headers(key)?;
        tracing::debug!(model = %request.model, body_bytes = body.len(), "sending request");
        let client = self.clone();
        Ok(CompletionStream::reading(move |tx| {
            run_reply(client, headers, body, tx)
        }))
    }

    /// Every model the key may use, newest first, following the pages of
    /// `GET /v1/models`. Retries like [`AnthropicClient::stream`].
    pub async fn list_models(&self, key: &ApiKey) -> Result<Vec<ModelInfo>, LlmError> {
        let headers = auth_headers(key)?;
        let mut models = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..MAX_MODEL_PAGES {
            let page = self
                .with_retries(|| self.models_page(&headers, after.as_deref()))
                .await?;
            models.extend(page.data.into_iter().map(|m| m.into_info()));
            match page.last_id {
                Some(last) if page.has_more => after = Some(last),
                _ => return Ok(models),
            }
        }
        Err(LlmError::Malformed {
            what: "model list",
            detail: format!("more than {MAX_MODEL_PAGES} pages"),
        })
    }

    async fn models_page(
        &self,
        headers: &HeaderMap,
        after: Option<&str>,
    ) -> Result<ModelsPage, LlmError> {
        let url = format!("{}/v1/models", self.base_url);
        let mut query = vec![("limit", self.models_page.to_string())];
        if let Some(after) = after {
            query.push(("after_id", after.to_owned()));
        }
        let response = self
            .http
            .get(&url)
            .query(&query)
            .headers(headers.clone())
            .header("anthropic-version", API_VERSION)
            .timeout(self.idle_timeout)
            .send()
            .await
            .map_err(|source| LlmError::Connect {
                url: url.clone(),
                source,
            })?;
        let request_id = http::request_id(response.headers());
        if !response.status().is_success() {
            return Err(
                http::status_error(response, request_id, self.idle_timeout, &*self.clock).await,
            );
        }
        let body = response.bytes().await.map_err(|source| LlmError::Connect {
            url: url.clone(),
            source,
        })?;
        serde_json::from_slice(&body).map_err(|e| LlmError::Malformed {
            what: "model list",
            detail: e.to_string(),
        })
    }

    /// Runs `attempt` until it succeeds, fails for good, or the retries
    /// run out.
    async fn with_retries<T, F, Fut>(&self, mut attempt: F) -> Result<T, LlmError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, LlmError>>,
    {
        let mut retries = 0;
        loop {
            match attempt().await {
                Ok(value) => return Ok(value),
                Err(error) if self.retry.should_retry(&error, retries) => {
                    let delay = self.retry.delay(&error, retries);
                    retries += 1;
                    tracing::info!(retries, ?delay, %error, "retrying");
                    self.clock.sleep(delay).await;
                }
                Err(error) => return Err(error),
            }
        }
    }
}

impl Provider for AnthropicClient {
    fn stream(&self, key: Option<&ApiKey>, request: &CompletionRequest) -> CompletionStream {
        key.ok_or(LlmError::MissingKey)
            .and_then(|key| self.start(key, request))
            .unwrap_or_else(CompletionStream::failed)
    }

    fn models(&self, key: Option<&ApiKey>) -> BoxFuture<'static, Result<Vec<ModelInfo>, LlmError>> {
        let client = self.clone();
        let key = key.cloned();
        Box::pin(async move {
            match key {
                Some(key) => client.list_models(&key).await,
                None => Err(LlmError::MissingKey),
            }
        })
    }
}

/// The request body. Prompt-cache breakpoints (at most four) go after the
/// last tool, after the system prompt, and after the last block of the
/// last two user-side turns: the latest one writes the cache, the one
/// before reads what the previous request wrote. A marked block keeps its
/// mark on the next request, so the bytes of everything before the newest
/// turn are the same from one request to the next.
pub fn request_body(request: &CompletionRequest) -> MessagesRequest<'_> {
    let cache = request.cache.then_some(EPHEMERAL);
    let last_tool = request.tools.len().checked_sub(1);
    let tools = request
        .tools
        .iter()
        .enumerate()
        .map(|(i, tool)| WireTool {
            name: &tool.name,
            description: &tool.description,
            input_schema: &tool.input_schema,
            cache_control: cache.filter(|_| Some(i) == last_tool),
        })
        .collect();
    let system = if request.system.is_empty() {
        Vec::new()
    } else {
        vec![SystemBlock {
            kind: "text",
            text: &request.system,
            cache_control: cache,
        }]
    };
    let count = request.messages.len();
    let marked = |i: usize| {
        // The last message, and the one two before it (the previous
        // request's last message when roles alternate).
        cache.is_some() && (i + 1 == count || i + 3 == count)
    };
    let messages = request
        .messages
        .iter()
        .enumerate()
        .map(|(i, message)| {
            let last_block = message.content.len().checked_sub(1);
            WireMessage {
                role: message.role,
                content: message
                    .content
                    .iter()
                    .enumerate()
                    .map(|(j, block)| WireBlock {
                        block,
                        cache_control: cache
                            .filter(|_| marked(i) && Some(j) == last_block && cacheable(block)),
                    })
                    .collect(),
            }
        })
        .collect();
    let (thinking, output_config) = match &request.thinking {
        None => (None, None),
        Some(Thinking::Enabled { budget_tokens }) => (
            Some(WireThinking::Enabled {
                budget_tokens: *budget_tokens,
            }),
            None,
        ),
        Some(Thinking::Adaptive { effort }) => (
            Some(WireThinking::Adaptive),
            effort.as_deref().map(|effort| OutputConfig { effort }),
        ),
    };
    let tool_choice = request.tool_choice.as_ref().map(|choice| match choice {
        ToolChoice::Auto { parallel } => WireToolChoice::Auto {
            disable_parallel_tool_use: !parallel,
        },
        ToolChoice::Any { parallel } => WireToolChoice::Any {
            disable_parallel_tool_use: !parallel,
        },
        ToolChoice::Tool { name, parallel } => WireToolChoice::Tool {
            name,
            disable_parallel_tool_use: !parallel,
        },
        ToolChoice::None => WireToolChoice::None,
    });
    MessagesRequest {
        model: &request.model,
        max_tokens: request.max_tokens,
        stream: true,
        temperature: request.temperature,
        stop_sequences: &request.stop_sequences,
        thinking,
        output_config,
        tools,
        tool_choice,
        system,
        messages,
    }
}

/// Whether the API accepts a cache breakpoint on this block.
fn cacheable(block: &kestrel_shared::ContentBlock) -> bool {
    use kestrel_shared::ContentBlock;
    match block {
        ContentBlock::Thinking { .. } | ContentBlock::RedactedThinking { .. } => false,
        ContentBlock::Text { text } => !text.is_empty(),
        _ => true,
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

/// Sends the request and reads the reply, retrying per the client's
/// policy. Ends when the reply ends, fails, or the stream is dropped.
async fn run_reply(client: AnthropicClient, headers: HeaderMap, body: Bytes, tx: EventSender) {
    let clock = Arc::clone(&client.clock);
    let url = format!("{}/v1/messages", client.base_url);
    run_with_retries(client.retry, clock, tx.clone(), || {
        let request = client
            .http
            .post(&url)
            .headers(headers.clone())
            .header("anthropic-version", API_VERSION)
            .header("content-type", "application/json")
            .body(body.clone());
        let (client, url, tx) = (&client, &url, &tx);
        async move {
            match open_stream(request, url, client.idle_timeout, &*client.clock).await {
                Ok((response, request_id)) => {
                    tracing::debug!(request_id = ?request_id, "reply stream opened");
                    let mut parser = StreamParser::new(request_id);
                    read_body(response, &mut parser, client.idle_timeout, tx).await
                }
                Err(error) => Attempt::failed(error),
            }
        }
    })
    .await;
}

/// Bytes of a reply body in, [`CompletionEvent`]s out: SSE decoding, event
/// parsing and mapping, with the checks that make bad input a typed error
/// (an event over [`MAX_EVENT_BYTES`], a compressed body, malformed JSON, a
/// body that ends before `message_stop`). Sync and I/O-free, so tests and
/// benchmarks can drive it directly with any chunking.
#[derive(Debug)]
pub struct StreamParser {
    decoder: SseDecoder,
    mapper: EventMapper,
    started: bool,
}

impl StreamParser {
    pub fn new(request_id: Option<String>) -> Self {
        Self {
            decoder: SseDecoder::new(),
            mapper: EventMapper::new(request_id),
            started: false,
        }
    }

    /// Whether `message_stop` has arrived (later bytes are ignored).
    pub fn is_stopped(&self) -> bool {
        self.mapper.is_stopped()
    }

    /// Feeds the next chunk of the body, pushing the events it completes.
    /// Events decoded before an error are still pushed.
    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<CompletionEvent>) -> Result<(), LlmError> {
        if self.is_stopped() {
            return Ok(());
        }
        if !self.started && !chunk.is_empty() {
            self.started = true;
            if chunk.starts_with(&[0x1f, 0x8b]) {
                return Err(LlmError::UnexpectedBody {
                    content_type: "a gzip-compressed body".into(),
                    snippet: String::new(),
                    request_id: None,
                });
            }
        }
        let mapper = &mut self.mapper;
        self.decoder
            .feed(chunk, |event| map_event(mapper, event, out))?;
        if self.decoder.pending_len() > MAX_EVENT_BYTES {
            return Err(LlmError::EventTooLarge {
                limit: MAX_EVENT_BYTES,
            });
        }
        Ok(())
    }

    /// Ends the body: a last event without its blank line still counts; a
    /// body that ends before `message_stop` is [`LlmError::EndedEarly`].
    pub fn finish(&mut self, out: &mut Vec<CompletionEvent>) -> Result<(), LlmError> {
        if self.is_stopped() {
            return Ok(());
        }
        // An event cut off by the end of the body does not parse; that is
        // the body ending early, not the provider sending bad JSON.
        let mapper = &mut self.mapper;
        match self.decoder.finish(|event| map_event(mapper, event, out)) {
            Err(LlmError::Malformed { .. }) => return Err(LlmError::EndedEarly),
            other => other?,
        }
        if self.is_stopped() {
            Ok(())
        } else {
            Err(LlmError::EndedEarly)
        }
    }
}

impl BodyParser for StreamParser {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<CompletionEvent>) -> Result<(), LlmError> {
        StreamParser::feed(self, chunk, out)
    }

    fn finish(&mut self, out: &mut Vec<CompletionEvent>) -> Result<(), LlmError> {
        StreamParser::finish(self, out)
    }

    fn is_stopped(&self) -> bool {
        StreamParser::is_stopped(self)
    }
}

fn map_event(
    mapper: &mut EventMapper,
    event: SseEvent<'_>,
    out: &mut Vec<CompletionEvent>,
) -> Result<(), LlmError> {
    if mapper.is_stopped() {
        return Ok(());
    }
    if event.data.len() > MAX_EVENT_BYTES {
        return Err(LlmError::EventTooLarge {
            limit: MAX_EVENT_BYTES,
        });
    }
    if event.data.trim().is_empty() {
        // `event: ping` without data, and keep-alives.
        return Ok(());
    }
    // Nearly every event of a reply is a text (or thinking) delta: read it
    // in place and append it to the previous one.
    if let Some(hot) = wire::HotDelta::parse(event.data)
        && hot.kind == "content_block_delta"
        && mapper.hot_delta(hot.index, &hot.delta, out)
    {
        return Ok(());
    }
    let known = event.event.is_empty() || wire::KNOWN_EVENTS.contains(&event.event);
    let parsed: StreamEvent = match serde_json::from_str(event.data) {
        Ok(parsed) => parsed,
        Err(_) if !known => {
            tracing::debug!(event = %event.event, "skipping an unknown event that is not JSON");
            return Ok(());
        }
        Err(e) => {
            return Err(LlmError::Malformed {
                what: "stream event",
                detail: format!("{} event: {e}", event.event),
            });
        }
    };
    mapper.map(parsed, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::{RequestMessage, ToolSpec};
    use kestrel_shared::{ContentBlock, Role};
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn key_header_is_marked_sensitive() {
        let headers = auth_headers(&ApiKey::new("sk-test").unwrap()).unwrap();
        assert!(headers["x-api-key"].is_sensitive());
        assert!(auth_headers(&ApiKey::new("bad\nkey").unwrap()).is_err());
    }

    fn user(text: &str) -> RequestMessage {
        RequestMessage {
            role: Role::User,
            content: vec![ContentBlock::text(text)],
        }
    }

    fn assistant(text: &str) -> RequestMessage {
        RequestMessage {
            role: Role::Assistant,
            content: vec![
                ContentBlock::Thinking {
                    thinking: "t".into(),
                    signature: "s".into(),
                },
                ContentBlock::text(text),
            ],
        }
    }

    fn conversation(turns: usize) -> CompletionRequest {
        let mut messages = vec![user("turn 0")];
        for n in 1..turns {
            messages.push(assistant(&format!("answer {n}")));
            messages.push(user(&format!("turn {n}")));
        }
        let mut request = CompletionRequest::new("claude-x", "You are terse.", messages, 1000);
        request.tools = vec![
            ToolSpec {
                name: "a".into(),
                description: "first".into(),
                input_schema: json!({"type": "object"}),
            },
            ToolSpec {
                name: "b".into(),
                description: "second".into(),
                input_schema: json!({"type": "object", "properties": {"x": {"type": "string"}}}),
            },
        ];
        request
    }

    fn body(request: &CompletionRequest) -> String {
        serde_json::to_string(&request_body(request)).unwrap()
    }

    #[test]
    fn breakpoints_sit_on_the_last_tool_the_system_and_the_latest_two_user_turns() {
        let request = conversation(3);
        let value: serde_json::Value = serde_json::from_str(&body(&request)).unwrap();
        let marked = |v: &serde_json::Value| v.get("cache_control").is_some();
        let tools: Vec<bool> = value["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(marked)
            .collect();
        assert_eq!(tools, [false, true]);
        assert!(marked(&value["system"][0]));
        let messages: Vec<Vec<bool>> = value["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                m["content"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(marked)
                    .collect()
            })
            .collect();
        assert_eq!(
            messages,
            vec![
                vec![false],
                vec![false, false],
                vec![true],
                vec![false, false],
                vec![true]
            ]
        );
        let total = tools.iter().filter(|m| **m).count()
            + 1
            + messages.iter().flatten().filter(|m| **m).count();
        assert!(total <= 4, "{total} breakpoints");

        let mut off = conversation(3);
        off.cache = false;
        assert!(!body(&off).contains("cache_control"));
    }

    #[test]
    fn the_cached_prefix_is_byte_stable_from_turn_to_turn() {
        const MARK: &str = r#","cache_control":{"type":"ephemeral"}"#;
        for turns in 1..6 {
            let before = body(&conversation(turns));
            let after = body(&conversation(turns + 1));
            // Up to the end of the previous request's last message (before
            // the closing `]}` of the message list and the body).
            let cut = before.len() - "]}".len();
            // The prompt itself is repeated byte for byte; only the marks
            // of turns older than the last two move.
            assert_eq!(
                after.replace(MARK, "")[..before[..cut].replace(MARK, "").len()],
                before[..cut].replace(MARK, ""),
                "turn {turns}: the prompt prefix changed"
            );
            // The breakpoint the previous request wrote the cache at is
            // still on the same block, so this request reads it.
            let previous_end = format!(r#""text":"turn {}"{MARK}}}"#, turns - 1);
            assert!(before.contains(&previous_end) && after.contains(&previous_end));
            // Tools and system prompt, with their marks, never change.
            let messages = before.find(r#""messages""#).unwrap();
            assert_eq!(&after[..messages], &before[..messages]);
        }
    }

    #[test]
    fn server_tool_blocks_go_back_as_they_came() {
        let search =
            json!({"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []});
        let request = CompletionRequest::new(
            "claude-x",
            "",
            vec![
                user("find it"),
                RequestMessage {
                    role: Role::Assistant,
                    content: vec![
                        ContentBlock::Other(search.clone()),
                        ContentBlock::text("Found."),
                    ],
                },
                user("thanks"),
            ],
            100,
        );
        let value: serde_json::Value = serde_json::from_str(&body(&request)).unwrap();
        assert_eq!(value["messages"][1]["content"][0], search);
        assert!(value.get("system").is_none());
        assert_eq!(
            value["messages"][0]["content"][0]["cache_control"],
            json!({"type": "ephemeral"})
        );
    }

    #[test]
    fn thinking_and_tool_choice_options() {
        let mut request = conversation(1);
        request.thinking = Some(Thinking::Adaptive {
            effort: Some("high".into()),
        });
        request.tool_choice = Some(ToolChoice::Any { parallel: false });
        request.stop_sequences = vec!["\n\nHuman:".into()];
        let value: serde_json::Value = serde_json::from_str(&body(&request)).unwrap();
        assert_eq!(value["thinking"], json!({"type": "adaptive"}));
        assert_eq!(value["output_config"], json!({"effort": "high"}));
        assert_eq!(
            value["tool_choice"],
            json!({"type": "any", "disable_parallel_tool_use": true})
        );
        assert_eq!(value["stop_sequences"], json!(["\n\nHuman:"]));
        assert!(value.get("temperature").is_none());
    }

    /// Maps `events` (one JSON text each) through [`map_event`], which
    /// reads deltas in place, and the general way (a [`StreamEvent`] each),
    /// which must give the same events and the same error.
    fn both_ways(events: &[&str]) -> [(Vec<CompletionEvent>, Option<String>); 2] {
        let mut hot = (EventMapper::new(None), Vec::new(), None);
        let mut general = (EventMapper::new(None), Vec::new(), None);
        for data in events {
            let event = SseEvent { event: "", data };
            if hot.2.is_none()
                && let Err(error) = map_event(&mut hot.0, event, &mut hot.1)
            {
                hot.2 = Some(error.to_string());
            }
            if general.2.is_none() {
                let result = serde_json::from_str::<StreamEvent>(data)
                    .map_err(|e| LlmError::Malformed {
                        what: "stream event",
                        detail: format!(" event: {e}"),
                    })
                    .and_then(|parsed| general.0.map(parsed, &mut general.1));
                if let Err(error) = result {
                    general.2 = Some(error.to_string());
                }
            }
        }
        [(hot.1, hot.2), (general.1, general.2)]
    }

    #[test]
    fn deltas_read_in_place_map_as_the_general_way_does() {
        let start = r#"{"type":"message_start","message":{"id":"m","model":"x","usage":{"input_tokens":1}}}"#;
        let streams: &[&[&str]] = &[
            // Text, with escapes (an owned string) and without (borrowed).
            &[
                start,
                r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}"#,
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":", \"w\u00f6rld\"\n🦀"}}"#,
                r#"{"index":0,"delta":{"text":"!","type":"text_delta"},"type":"content_block_delta"}"#,
                r#"{"type":"content_block_stop","index":0}"#,
            ],
            // Thinking then a tool call.
            &[
                start,
                r#"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}"#,
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Let me see"}}"#,
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"\t…"}}"#,
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"sig"}}"#,
                r#"{"type":"content_block_stop","index":0}"#,
                r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"t","name":"n"}}"#,
                r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}"#,
                r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"a\": 1}"}}"#,
                r#"{"type":"content_block_stop","index":1}"#,
            ],
            // A delta for a block that never started.
            &[
                start,
                r#"{"type":"content_block_delta","index":3,"delta":{"type":"text_delta","text":"x"}}"#,
            ],
            // A thinking delta into a text block.
            &[
                start,
                r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"x"}}"#,
            ],
            // A text delta whose text is not a string, or is missing.
            &[
                start,
                r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":5}}"#,
            ],
            &[
                start,
                r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta"}}"#,
            ],
            // An unknown delta kind is kept, not read in place.
            &[
                start,
                r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"shiny_delta","text":"x"}}"#,
            ],
        ];
        for stream in streams {
            let [hot, general] = both_ways(stream);
            assert_eq!(hot.0, general.0, "{stream:?}");
            // The general path here does not know the event's name; compare
            // whether each failed, and that the hot one says why.
            assert_eq!(hot.1.is_some(), general.1.is_some(), "{stream:?}: {hot:?}");
        }
        let [hot, _] = both_ways(streams[0]);
        assert_eq!(
            hot.0[2],
            CompletionEvent::Text {
                index: 0,
                text: "Hello, \"wörld\"\n🦀!".into()
            },
            "consecutive text deltas become one event"
        );
    }
}

//! Conformance of the Anthropic client to the Messages API stream format:
//! every event, delta and block kind, through the mock server (scripted
//! and replayed from the recorded corpus in `tests/fixtures/streams/`), and
//! the same corpus through the parser at every chunking, so no chunk
//! boundary (inside a line end, inside a UTF-8 sequence) changes a result.

use futures::StreamExt;
use kestrel_mock_anthropic::{Block, Reply};
use kestrel_server::anthropic::{AnthropicClient, StreamParser};
use kestrel_server::llm::{CompletionEvent, CompletionRequest, LlmError, RequestMessage};
use kestrel_server::provider::retry::RetryPolicy;
use kestrel_server::provider::{Completion, PartialCompletion, Provider, complete};
use kestrel_server::secrets::ApiKey;
use kestrel_shared::{ContentBlock, ErrorKind, Role, StopReason, Usage};
use pretty_assertions::assert_eq;
use proptest::prelude::*;
use serde_json::json;

use super::common::{KEY, mock};

pub fn fixture(name: &str) -> String {
    format!(
        "{}/../tests/fixtures/streams/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

pub fn request(text: &str) -> CompletionRequest {
    CompletionRequest::new(
        "claude-sonnet-4-5",
        "Be brief.",
        vec![RequestMessage {
            role: Role::User,
            content: vec![ContentBlock::text(text)],
        }],
        256,
    )
}

pub fn key() -> ApiKey {
    ApiKey::new(KEY).unwrap()
}

/// Replays `name` through the mock and folds the reply.
async fn replay(name: &str) -> (Result<Completion, PartialCompletion>, Vec<CompletionEvent>) {
    let server = mock().await;
    server.push_reply(Reply::replay_file(fixture(name)));
    let client = AnthropicClient::new(&server.base_url())
        .unwrap()
        .with_retry(RetryPolicy::never());
    let mut events = Vec::new();
    let mut stream = Provider::stream(&client, Some(&key()), &request("replay"));
    while let Some(event) = stream.next().await {
        let end = event.is_err();
        events.push(event);
        if end {
            break;
        }
    }
    assert_eq!(server.requests().len(), 1, "{name} was sent once");
    let ok_events = events
        .iter()
        .filter_map(|e| e.as_ref().ok())
        .cloned()
        .collect();
    // Folded as it is fed: the channel holds only a few events.
    let (tx, folded) = kestrel_server::provider::CompletionStream::channel();
    let feed = async move {
        for event in events {
            tx.send(event).await.unwrap();
        }
    };
    let (done, ()) = tokio::join!(complete(folded), feed);
    (done, ok_events)
}

fn text(content: &[ContentBlock]) -> String {
    content.iter().filter_map(ContentBlock::as_text).collect()
}

#[tokio::test]
async fn basic_text() {
    let (done, _) = replay("basic_text.sse").await;
    let done = done.unwrap();
    assert!(text(&done.content).starts_with("Hello! I'm a recorded reply"));
    assert_eq!(done.stop_reason, Some(StopReason::EndTurn));
    assert_eq!(done.model, "claude-sonnet-4-5");
}

#[tokio::test]
async fn tool_use_with_an_empty_first_fragment() {
    let (done, events) = replay("tool_use.sse").await;
    let done = done.unwrap();
    assert_eq!(
        done.content,
        vec![
            ContentBlock::text("Let me check the weather."),
            ContentBlock::ToolUse {
                id: "toolu_01Weather".into(),
                name: "get_weather".into(),
                input: json!({"location": "San Francisco, CA", "unit": "c"}),
            },
        ]
    );
    assert!(events.contains(&CompletionEvent::ToolUseStarted {
        index: 1,
        id: "toolu_01Weather".into(),
        name: "get_weather".into()
    }));
    assert_eq!(done.stop_reason, Some(StopReason::ToolUse));
    assert_eq!(
        (done.usage.input_tokens, done.usage.output_tokens),
        (25, 65)
    );
}

#[tokio::test]
async fn thinking_keeps_its_signature_exactly() {
    let (done, _) = replay("thinking.sse").await;
    assert_eq!(
        done.unwrap().content,
        vec![
            ContentBlock::Thinking {
                thinking: "The user asks 27 * 453. 27 * 453 = 12231.".into(),
                signature: "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds+/==".into(),
            },
            ContentBlock::text("27 × 453 = **12,231**"),
        ]
    );
}

#[tokio::test]
async fn redacted_thinking_arrives_whole() {
    let (done, _) = replay("redacted_thinking.sse").await;
    assert_eq!(
        done.unwrap().content,
        vec![
            ContentBlock::RedactedThinking {
                data: "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP".into()
            },
            ContentBlock::text("Done."),
        ]
    );
}

#[tokio::test]
async fn server_tools_and_citations_are_kept_as_sent() {
    let (done, events) = replay("web_search.sse").await;
    let done = done.unwrap();
    assert_eq!(
        done.content[..2],
        [
            ContentBlock::Other(json!({
                "type": "server_tool_use", "id": "srvtoolu_01Search", "name": "web_search",
                "input": {"query": "kestrel bird"}
            })),
            ContentBlock::Other(json!({
                "type": "web_search_tool_result", "tool_use_id": "srvtoolu_01Search",
                "content": [{"type": "web_search_result", "title": "Kestrel - Wikipedia",
                    "url": "https://en.wikipedia.org/wiki/Kestrel",
                    "encrypted_content": "EqgfCioIARgBIiQ3YTAwMjY1Mi1m", "page_age": "April 30, 2025"}]
            })),
        ]
    );
    assert_eq!(text(&done.content), "Kestrels hover while hunting.");
    let citations: Vec<_> = events
        .iter()
        .filter(|e| matches!(e, CompletionEvent::Citation { index: 2, .. }))
        .collect();
    assert_eq!(citations.len(), 1);
    assert_eq!(
        (done.usage.input_tokens, done.usage.output_tokens),
        (2679, 110)
    );
}

#[tokio::test]
async fn tool_json_cut_by_max_tokens_is_a_typed_event() {
    let (done, events) = replay("incomplete_partial_json.sse").await;
    let done = done.unwrap();
    assert_eq!(done.content, vec![]);
    assert_eq!(done.stop_reason, Some(StopReason::MaxTokens));
    assert!(events.iter().any(|e| matches!(
        e,
        CompletionEvent::ToolInputInvalid { id, json, .. }
            if id == "toolu_01Cut" && json.starts_with("{\"path\"")
    )));
}

#[tokio::test]
async fn cache_tokens_are_counted() {
    let (done, _) = replay("cache_usage.sse").await;
    assert_eq!(
        done.unwrap().usage,
        Usage {
            input_tokens: 12,
            output_tokens: 9,
            cache_creation_input_tokens: 1800,
            cache_read_input_tokens: 25000,
        }
    );
}

#[tokio::test]
async fn stop_sequences_and_refusals_are_reported() {
    let (done, _) = replay("stop_sequence.sse").await;
    let done = done.unwrap();
    assert_eq!(
        (done.stop_reason, done.stop_sequence.as_deref()),
        (Some(StopReason::StopSequence), Some("three"))
    );
    let (done, _) = replay("refusal.sse").await;
    assert_eq!(done.unwrap().stop_reason, Some(StopReason::Refusal));
}

#[tokio::test]
async fn framing_edge_cases_and_unknown_kinds() {
    let (done, events) = replay("framing_edge_cases.sse").await;
    let done = done.unwrap();
    assert_eq!(text(&done.content), "multi-line line\u{2028}sep é 🦀 日本");
    let unknown: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            CompletionEvent::Unknown { raw } => Some(raw["type"].as_str().unwrap()),
            _ => None,
        })
        .collect();
    assert_eq!(unknown, ["message_checkpoint", "future_delta"]);
    assert_eq!(done.stop_reason, Some(StopReason::EndTurn));
}

/// The bad-input fixtures: each ends in a typed error, keeping the text
/// that arrived before it.
#[tokio::test]
async fn bad_streams_fail_typed_and_keep_the_text() {
    for (name, kept, kind) in [
        (
            "mid_stream_error.sse",
            "Partial answer",
            ErrorKind::Overloaded,
        ),
        (
            "cut_mid_event.sse",
            "Kept text",
            ErrorKind::StreamInterrupted,
        ),
        (
            "malformed_json.sse",
            "Before the break",
            ErrorKind::StreamInterrupted,
        ),
        (
            "unknown_block_index.sse",
            "Index zero",
            ErrorKind::StreamInterrupted,
        ),
    ] {
        let (done, _) = replay(name).await;
        let failed = done.expect_err(name);
        assert_eq!(text(&failed.partial.content), kept, "{name}");
        assert_eq!(failed.error.to_kestrel().kind, kind, "{name}");
    }
}

#[tokio::test]
async fn scripted_blocks_round_trip_through_the_mock() {
    let server = mock().await;
    server.push_reply(Reply::blocks(vec![
        Block::thinking("Let me look.", "sig-abc"),
        Block::text("Checking."),
        Block::tool_use_with_id(
            "toolu_1",
            "get_weather",
            json!({"city": "Zürich", "days": [1, 2]}),
        ),
    ]));
    let client = AnthropicClient::new(&server.base_url()).unwrap();
    let done = complete(Provider::stream(&client, Some(&key()), &request("hi")))
        .await
        .unwrap();
    assert_eq!(
        done.content,
        vec![
            ContentBlock::Thinking {
                thinking: "Let me look.".into(),
                signature: "sig-abc".into()
            },
            ContentBlock::text("Checking."),
            ContentBlock::ToolUse {
                id: "toolu_1".into(),
                name: "get_weather".into(),
                input: json!({"city": "Zürich", "days": [1, 2]}),
            },
        ]
    );
    assert_eq!(done.stop_reason, Some(StopReason::ToolUse));
}

/// Every HTTP error status the API documents becomes its own kind, with
/// the request id.
#[tokio::test]
async fn every_error_status_has_its_kind_and_request_id() {
    let server = mock().await;
    let client = AnthropicClient::new(&server.base_url())
        .unwrap()
        .with_retry(RetryPolicy::never());
    for (status, kind) in [
        (400, ErrorKind::InvalidRequest),
        (401, ErrorKind::InvalidApiKey),
        (402, ErrorKind::Billing),
        (403, ErrorKind::PermissionDenied),
        (404, ErrorKind::NotFound),
        (413, ErrorKind::RequestTooLarge),
        (429, ErrorKind::RateLimited),
        (500, ErrorKind::ProviderError),
        (504, ErrorKind::Timeout),
        (529, ErrorKind::Overloaded),
    ] {
        server.push_reply(Reply::status(status));
        let failed = complete(Provider::stream(&client, Some(&key()), &request("hi")))
            .await
            .unwrap_err();
        let LlmError::Status { status: got, .. } = &failed.error else {
            panic!("{status}: {:?}", failed.error);
        };
        assert_eq!(*got, status);
        let shown = failed.error.to_kestrel();
        assert_eq!(shown.kind, kind, "{status}");
        assert!(
            shown
                .request_id
                .as_deref()
                .is_some_and(|id| id.starts_with("req_")),
            "{status}: {shown:?}"
        );
    }
    server.push_reply(Reply::error(
        400,
        "invalid_request_error",
        "prompt is too long: 210000 tokens > 200000 maximum",
    ));
    let failed = complete(Provider::stream(&client, Some(&key()), &request("hi")))
        .await
        .unwrap_err();
    assert_eq!(failed.error.to_kestrel().kind, ErrorKind::ContextTooLong);
    let failed = complete(Provider::stream(&client, None, &request("hi")))
        .await
        .unwrap_err();
    assert_eq!(failed.error.to_kestrel().kind, ErrorKind::NoApiKey);
}

/// The outcome of parsing `bytes` cut at `cuts`: the events, and the error
/// as text (errors are not comparable values).
fn parse(bytes: &[u8], cuts: &[usize]) -> (Vec<CompletionEvent>, Option<String>) {
    let mut parser = StreamParser::new(None);
    let mut events = Vec::new();
    let mut start = 0;
    for &cut in cuts.iter().chain([&bytes.len()]) {
        let cut = cut.clamp(start, bytes.len());
        if let Err(error) = parser.feed(&bytes[start..cut], &mut events) {
            return (events, Some(error.to_string()));
        }
        start = cut;
    }
    let error = parser.finish(&mut events).err().map(|e| e.to_string());
    (events, error)
}

const CORPUS: &[&str] = &[
    "basic_text.sse",
    "tool_use.sse",
    "thinking.sse",
    "redacted_thinking.sse",
    "web_search.sse",
    "incomplete_partial_json.sse",
    "cache_usage.sse",
    "stop_sequence.sse",
    "refusal.sse",
    "framing_edge_cases.sse",
    "mid_stream_error.sse",
    "cut_mid_event.sse",
    "malformed_json.sse",
    "unknown_block_index.sse",
];

fn corpus() -> Vec<(&'static str, Vec<u8>)> {
    CORPUS
        .iter()
        .map(|name| (*name, std::fs::read(fixture(name)).unwrap()))
        .collect()
}

/// Text deltas may be split differently by different chunkings only if
/// the decoder were wrong; the events must be identical.
#[test]
fn fixed_chunk_sizes_give_the_same_events() {
    for (name, bytes) in corpus() {
        let whole = parse(&bytes, &[]);
        for size in [1, 2, 3, 7, 17, 64, 1000] {
            let cuts: Vec<usize> = (size..bytes.len()).step_by(size).collect();
            assert_eq!(parse(&bytes, &cuts), whole, "{name} in chunks of {size}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_chunkings_give_the_same_events(
        which in 0..CORPUS.len(),
        cuts in proptest::collection::vec(0usize..4096, 0..24),
    ) {
        let bytes = std::fs::read(fixture(CORPUS[which])).unwrap();
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (bytes.len() + 1)).collect();
        cuts.sort_unstable();
        prop_assert_eq!(parse(&bytes, &cuts), parse(&bytes, &[]));
    }

    /// Any bytes at all: a typed result, never a panic.
    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..2048),
        cuts in proptest::collection::vec(0usize..2048, 0..8),
    ) {
        let mut cuts = cuts;
        cuts.sort_unstable();
        let _ = parse(&bytes, &cuts);
    }

    /// Corrupting one byte of a real stream gives a typed result, never a
    /// panic, and never more text than the stream held.
    #[test]
    fn corrupted_streams_never_panic(
        which in 0..CORPUS.len(),
        at in 0usize..100_000,
        byte in any::<u8>(),
    ) {
        let mut bytes = std::fs::read(fixture(CORPUS[which])).unwrap();
        let at = at % bytes.len();
        bytes[at] = byte;
        let _ = parse(&bytes, &[at]);
    }
}

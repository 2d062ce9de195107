//! The Anthropic client against the mock server: the real SSE wire format
//! in, typed events and errors out.

use futures::StreamExt;
use kestrel_mock_anthropic::{Block, Reply};
use kestrel_server::anthropic::AnthropicClient;
use kestrel_server::llm::{CompletionEvent, CompletionRequest, LlmError, RequestMessage};
use kestrel_server::secrets::ApiKey;
use kestrel_shared::{ContentBlock, ErrorKind, Role, StopReason};
use pretty_assertions::assert_eq;
use serde_json::json;

use super::common::{KEY, mock};

fn request(text: &str) -> CompletionRequest {
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

async fn run(
    client: &AnthropicClient,
    key: &str,
    text: &str,
) -> Result<Vec<CompletionEvent>, LlmError> {
    let mut stream = client
        .stream(&ApiKey::new(key).unwrap(), &request(text))
        .await?;
    let mut events = Vec::new();
    while let Some(event) = stream.next().await {
        events.push(event?);
    }
    Ok(events)
}

fn text_of(events: &[CompletionEvent]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            CompletionEvent::Text { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn streams_a_text_reply_and_sends_the_real_headers() {
    let server = mock().await;
    server.push_reply(Reply::text("Hello there, friend."));
    let client = AnthropicClient::new(&server.base_url()).unwrap();
    let events = run(&client, KEY, "hi").await.unwrap();

    assert_eq!(text_of(&events), "Hello there, friend.");
    assert!(
        matches!(events.first(), Some(CompletionEvent::Started { model, .. }) if model == "claude-sonnet-4-5")
    );
    assert_eq!(
        events.last(),
        Some(&CompletionEvent::Stopped {
            stop_reason: Some(StopReason::EndTurn),
            stop_sequence: None,
        })
    );
    let usage = events.iter().rev().find_map(|e| match e {
        CompletionEvent::Usage(u) => Some(*u),
        _ => None,
    });
    assert!(usage.unwrap().output_tokens > 0);

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let sent = &requests[0];
    assert_eq!(
        (sent.method.as_str(), sent.path.as_str()),
        ("POST", "/v1/messages")
    );
    assert_eq!(sent.headers.get("x-api-key").map(String::as_str), Some(KEY));
    assert_eq!(
        sent.headers.get("anthropic-version").map(String::as_str),
        Some("2023-06-01")
    );
    assert_eq!(
        sent.body,
        json!({
            "model": "claude-sonnet-4-5",
            "max_tokens": 256,
            "stream": true,
            "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
            "messages": [{"role": "user", "content": [
                {"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}
            ]}]
        })
    );
}

#[tokio::test]
async fn thinking_and_tool_use_blocks_arrive_whole() {
    let server = mock().await;
    server.push_reply(Reply::blocks(vec![
        Block::thinking("Let me look.", "sig-abc"),
        Block::text("Checking."),
        Block::tool_use_with_id(
            "toolu_1",
            "get_weather",
            json!({"city": "Paris", "days": [1, 2]}),
        ),
    ]));
    let client = AnthropicClient::new(&server.base_url()).unwrap();
    let events = run(&client, KEY, "weather?").await.unwrap();
    let blocks: Vec<ContentBlock> = events
        .iter()
        .filter_map(|e| match e {
            CompletionEvent::BlockStopped { block: Some(b), .. } => Some(b.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        blocks,
        vec![
            ContentBlock::Thinking {
                thinking: "Let me look.".into(),
                signature: "sig-abc".into()
            },
            ContentBlock::ToolUse {
                id: "toolu_1".into(),
                name: "get_weather".into(),
                input: json!({"city": "Paris", "days": [1, 2]}),
            },
        ]
    );
    assert_eq!(text_of(&events), "Checking.");
    assert_eq!(
        events.last(),
        Some(&CompletionEvent::Stopped {
            stop_reason: Some(StopReason::ToolUse),
            stop_sequence: None,
        })
    );
}

#[tokio::test]
async fn a_recorded_stream_replays_through_the_parser() {
    let server = mock().await;
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/mock-anthropic/fixtures/basic_text.sse"
    );
    server.push_reply(Reply::replay_file(fixture));
    let client = AnthropicClient::new(&server.base_url()).unwrap();
    let events = run(&client, KEY, "replay").await.unwrap();
    assert!(!text_of(&events).is_empty());
    assert!(matches!(
        events.last(),
        Some(CompletionEvent::Stopped { .. })
    ));
}

#[tokio::test]
async fn a_wrong_key_is_rejected_with_the_request_id() {
    let server = mock().await;
    let client = AnthropicClient::new(&server.base_url()).unwrap();
    let error = run(&client, "wrong-key", "hi").await.unwrap_err();
    let LlmError::Status {
        status,
        ref error_type,
        ref request_id,
        ..
    } = error
    else {
        panic!("unexpected {error:?}");
    };
    assert_eq!((status, error_type.as_str()), (401, "authentication_error"));
    assert!(
        request_id
            .as_deref()
            .is_some_and(|id| id.starts_with("req_"))
    );
    assert_eq!(error.to_kestrel().kind, ErrorKind::InvalidApiKey);
}

#[tokio::test]
async fn rate_limits_carry_the_wait() {
    let server = mock().await;
    server.push_reply(Reply::rate_limited(7));
    let client = AnthropicClient::new(&server.base_url())
        .unwrap()
        .with_retry(kestrel_server::provider::retry::RetryPolicy::never());
    let error = run(&client, KEY, "hi").await.unwrap_err().to_kestrel();
    assert_eq!(
        (error.kind, error.retry_after_secs),
        (ErrorKind::RateLimited, Some(7))
    );

    server.push_reply(Reply::overloaded());
    let error = run(&client, KEY, "hi").await.unwrap_err().to_kestrel();
    assert_eq!(error.kind, ErrorKind::Overloaded);
}

#[tokio::test]
async fn a_mid_stream_error_event_fails_the_stream_after_the_text() {
    let server = mock().await;
    server.push_reply(Reply::mid_stream_error("Partial answer"));
    let client = AnthropicClient::new(&server.base_url()).unwrap();
    let mut stream = client
        .stream(&ApiKey::new(KEY).unwrap(), &request("hi"))
        .await
        .unwrap();
    let mut text = String::new();
    let error = loop {
        match stream.next().await.unwrap() {
            Ok(CompletionEvent::Text { text: t, .. }) => text.push_str(&t),
            Ok(_) => {}
            Err(error) => break error,
        }
    };
    assert_eq!(text, "Partial answer");
    assert!(
        matches!(error, LlmError::StreamError { ref error_type, .. } if error_type == "overloaded_error")
    );
    assert_eq!(error.to_kestrel().kind, ErrorKind::Overloaded);
}

#[tokio::test]
async fn a_dropped_connection_is_an_error_not_a_short_reply() {
    let server = mock().await;
    server.push_reply(Reply::drop_connection("Half a"));
    let client = AnthropicClient::new(&server.base_url()).unwrap();
    let error = run(&client, KEY, "hi").await.unwrap_err();
    assert!(matches!(error, LlmError::EndedEarly), "{error:?}");
    assert_eq!(error.to_kestrel().kind, ErrorKind::StreamInterrupted);
}

#[tokio::test]
async fn an_unreachable_server_is_a_network_error() {
    // Bind and drop a listener to get a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = AnthropicClient::new(&format!("http://127.0.0.1:{port}")).unwrap();
    let error = run(&client, KEY, "hi").await.unwrap_err();
    assert!(matches!(error, LlmError::Connect { .. }), "{error:?}");
    let shown = error.to_kestrel();
    assert_eq!(shown.kind, ErrorKind::Network);
    assert!(
        shown.message.contains(&format!("127.0.0.1:{port}")),
        "{}",
        shown.message
    );
}

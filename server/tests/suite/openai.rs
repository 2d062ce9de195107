//! The OpenAI-compatible provider against the mock server's Chat
//! Completions mode: streaming text with usage, reasoning and tool calls,
//! typed errors, retries, bad bodies, and the model list.

use std::time::Duration;

use kestrel_mock_anthropic::{Block, Reply};
use kestrel_server::llm::LlmError;
use kestrel_server::openai::OpenAiClient;
use kestrel_server::provider::retry::RetryPolicy;
use kestrel_server::provider::{Provider, complete};
use kestrel_shared::{ContentBlock, ErrorKind, StopReason};
use pretty_assertions::assert_eq;
use serde_json::json;

use super::common::{KEY, mock};
use super::conformance::{key, request};
use super::fake_clock::FakeClock;

fn client(base_url: &str) -> OpenAiClient {
    OpenAiClient::new(&format!("{base_url}/v1"))
        .unwrap()
        .with_retry(RetryPolicy::never())
}

#[tokio::test]
async fn streams_text_with_usage_and_sends_the_chat_format() {
    let server = mock().await;
    server.push_reply(Reply::text("Hello from a local model."));
    let done = complete(Provider::stream(
        &client(&server.base_url()),
        Some(&key()),
        &request("hi"),
    ))
    .await
    .unwrap();
    assert_eq!(
        done.content,
        vec![ContentBlock::text("Hello from a local model.")]
    );
    assert_eq!(done.stop_reason, Some(StopReason::EndTurn));
    assert!(done.usage.input_tokens > 0 && done.usage.output_tokens > 0);
    assert!(done.message_id.starts_with("chatcmpl-"));

    let sent = &server.requests()[0];
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(
        sent.headers.get("authorization").map(String::as_str),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert!(!sent.headers.contains_key("x-api-key"));
    assert_eq!(
        sent.body,
        json!({
            "model": "claude-sonnet-4-5",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "hi"}
            ],
            "stream": true,
            "stream_options": {"include_usage": true},
            "max_tokens": 256
        })
    );
}

#[tokio::test]
async fn reasoning_and_tool_calls_arrive_as_blocks() {
    let server = mock().await;
    server.push_reply(Reply::blocks(vec![
        Block::thinking("Need the weather.", "unused"),
        Block::text("Checking."),
        Block::tool_use_with_id(
            "call_1",
            "get_weather",
            json!({"city": "Zürich", "days": [1, 2]}),
        ),
        Block::tool_use_with_id("call_2", "get_time", json!({})),
    ]));
    let done = complete(Provider::stream(
        &client(&server.base_url()),
        Some(&key()),
        &request("hi"),
    ))
    .await
    .unwrap();
    assert_eq!(
        done.content,
        vec![
            ContentBlock::Thinking {
                thinking: "Need the weather.".into(),
                signature: String::new()
            },
            ContentBlock::text("Checking."),
            ContentBlock::ToolUse {
                id: "call_1".into(),
                name: "get_weather".into(),
                input: json!({"city": "Zürich", "days": [1, 2]})
            },
            ContentBlock::ToolUse {
                id: "call_2".into(),
                name: "get_time".into(),
                input: json!({})
            },
        ]
    );
    assert_eq!(done.stop_reason, Some(StopReason::ToolUse));
}

#[tokio::test]
async fn errors_are_typed_with_the_request_id() {
    let server = mock().await;
    let wrong = kestrel_server::secrets::ApiKey::new("wrong").unwrap();
    let failed = complete(Provider::stream(
        &client(&server.base_url()),
        Some(&wrong),
        &request("hi"),
    ))
    .await
    .unwrap_err();
    let shown = failed.error.to_kestrel();
    assert_eq!(shown.kind, ErrorKind::InvalidApiKey);
    assert!(shown.request_id.is_some_and(|id| id.starts_with("req_")));

    server.push_reply(Reply::rate_limited(9));
    let failed = complete(Provider::stream(
        &client(&server.base_url()),
        Some(&key()),
        &request("hi"),
    ))
    .await
    .unwrap_err();
    let shown = failed.error.to_kestrel();
    assert_eq!(
        (shown.kind, shown.retry_after_secs),
        (ErrorKind::RateLimited, Some(9))
    );

    server.push_reply(Reply::mid_stream_error("Partial"));
    let failed = complete(Provider::stream(
        &client(&server.base_url()),
        Some(&key()),
        &request("hi"),
    ))
    .await
    .unwrap_err();
    assert_eq!(failed.partial.content, vec![ContentBlock::text("Partial")]);
    assert_eq!(failed.error.to_kestrel().kind, ErrorKind::Overloaded);

    server.push_reply(Reply::drop_connection("Half"));
    let failed = complete(Provider::stream(
        &client(&server.base_url()),
        Some(&key()),
        &request("hi"),
    ))
    .await
    .unwrap_err();
    assert!(matches!(failed.error, LlmError::EndedEarly));
    assert_eq!(failed.partial.content, vec![ContentBlock::text("Half")]);

    server.push_reply(Reply::raw(200, "text/html", "<h1>proxy login</h1>"));
    let failed = complete(Provider::stream(
        &client(&server.base_url()),
        Some(&key()),
        &request("hi"),
    ))
    .await
    .unwrap_err();
    assert!(matches!(failed.error, LlmError::UnexpectedBody { .. }));
}

#[tokio::test]
async fn retries_follow_the_same_policy() {
    let server = mock().await;
    server.push_replies([
        Reply::status(503).with_retry_after_ms(1500),
        Reply::overloaded(),
        Reply::text("ok"),
    ]);
    let clock = std::sync::Arc::new(FakeClock::default());
    let client = client(&server.base_url())
        .with_retry(RetryPolicy {
            jitter: false,
            ..RetryPolicy::default()
        })
        .with_clock(clock.clone());
    let done = complete(Provider::stream(&client, Some(&key()), &request("hi")))
        .await
        .unwrap();
    assert_eq!(done.retries, 2);
    assert_eq!(
        clock.slept(),
        [Duration::from_millis(1500), Duration::from_secs(1)]
    );
}

#[tokio::test]
async fn models_are_listed_in_the_openai_shape() {
    let server = mock().await;
    let models = client(&server.base_url())
        .list_models(Some(&key()))
        .await
        .unwrap();
    let ids: Vec<&str> = models.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["claude-sonnet-4-5", "claude-haiku-4-5"]);
    // No limits in this shape: the assumed ones fill in.
    assert_eq!(models[0].context_window, 200_000);
}

/// A backend whose OpenAI-compatible provider is the mock, with no
/// Anthropic key at all.
fn openai_backend(
    dir: &std::path::Path,
    base_url: &str,
) -> std::sync::Arc<kestrel_server::Backend> {
    use kestrel_server::anthropic::AnthropicClient;
    use kestrel_server::secrets::KeyStore;
    use kestrel_server::secrets::keychain::MemoryCredentials;
    // The OpenAI key comes from the environment, as `OPENAI_API_KEY` would.
    let keys = KeyStore::with_keychain(
        |name| (name == "OPENAI_API_KEY").then(|| KEY.to_owned()),
        std::sync::Arc::new(MemoryCredentials::new()),
    );
    kestrel_server::Backend::open_with_providers(
        super::common::config(dir, base_url),
        keys,
        kestrel_server::Providers {
            anthropic: AnthropicClient::new(base_url)
                .unwrap()
                .with_retry(RetryPolicy::never()),
            openai: client(base_url),
        },
    )
    .unwrap()
}

#[tokio::test]
async fn a_conversation_can_talk_to_the_openai_compatible_provider() {
    use kestrel_shared::{ChatEvent, ProviderKind, SendMessage};
    let server = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let backend = openai_backend(dir.path(), &server.base_url());
    let conversation = backend.create_conversation().await.unwrap();
    assert_eq!(
        backend
            .conversation_provider(Some(conversation.id))
            .await
            .unwrap(),
        ProviderKind::Anthropic
    );
    // Anthropic has no key here: refused before anything is saved.
    let refused = backend
        .send_message(SendMessage {
            conversation_id: Some(conversation.id),
            text: "hello".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.kind, ErrorKind::NoApiKey);

    backend
        .set_conversation_provider(conversation.id, ProviderKind::OpenAi)
        .await
        .unwrap();
    server.push_reply(Reply::text("Served by chat completions."));
    let events = super::common::collect(
        backend
            .send_message(SendMessage {
                conversation_id: Some(conversation.id),
                text: "hello".into(),
            })
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        super::common::streamed_text(&events),
        "Served by chat completions."
    );
    let Some(ChatEvent::Done { message, .. }) = events.last() else {
        panic!("{events:?}");
    };
    assert!(message.usage.is_some_and(|u| u.output_tokens > 0));
    assert_eq!(
        server.requests().last().unwrap().path,
        "/v1/chat/completions"
    );

    // The choice survives a restart.
    drop(backend);
    let backend = openai_backend(dir.path(), &server.base_url());
    assert_eq!(
        backend
            .conversation_provider(Some(conversation.id))
            .await
            .unwrap(),
        ProviderKind::OpenAi
    );
    let models = backend.provider_models(ProviderKind::OpenAi).await;
    assert_eq!(models.len(), 2);
    let unknown = backend
        .set_conversation_provider(
            "01890a5d-ac96-774b-bcce-b302099a8058".parse().unwrap(),
            ProviderKind::OpenAi,
        )
        .await
        .unwrap_err();
    assert_eq!(unknown.kind, ErrorKind::BadInput);
}

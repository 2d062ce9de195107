//! Shared set-up: a mock server and a backend pointed at it.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use kestrel_mock_anthropic::{MockConfig, MockServer};
use kestrel_server::Backend;
use kestrel_server::anthropic::AnthropicClient;
use kestrel_server::chat::EventStream;
use kestrel_server::config::Config;
use kestrel_server::provider::retry::RetryPolicy;
use kestrel_server::secrets::{ApiKey, KeyStore};
use kestrel_shared::{ChatEvent, Conversation, Message};

pub const KEY: &str = "test-key";

pub async fn mock() -> MockServer {
    MockServer::start(MockConfig::default()).await.unwrap()
}

pub fn config(data_dir: &std::path::Path, base_url: &str) -> Config {
    Config {
        data_dir: data_dir.to_owned(),
        base_url: base_url.to_owned(),
        default_model: "claude-sonnet-4-5".into(),
        max_tokens: 1024,
        connections: Default::default(),
    }
}

/// A backend whose provider client does not retry (retries have their own
/// tests), so one scripted failure is one failed turn.
pub fn backend(data_dir: &std::path::Path, base_url: &str, key: Option<&str>) -> Arc<Backend> {
    let client = AnthropicClient::new(base_url)
        .unwrap()
        .with_retry(RetryPolicy::never());
    Backend::open_with_client(
        config(data_dir, base_url),
        KeyStore::new(key.and_then(ApiKey::new)),
        client,
    )
    .unwrap()
}

/// Collects a turn's events up to and including the terminal one.
pub async fn collect(mut events: EventStream) -> Vec<ChatEvent> {
    let mut out = Vec::new();
    while let Some(event) = tokio::time::timeout(Duration::from_secs(20), events.next())
        .await
        .unwrap()
    {
        let terminal = event.is_terminal();
        out.push(event);
        if terminal {
            break;
        }
    }
    out
}

/// The text of every `TextDelta`, joined.
pub fn streamed_text(events: &[ChatEvent]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            ChatEvent::TextDelta { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

/// The conversation and user message a turn started with (its first event).
pub fn started(events: &[ChatEvent]) -> (&Conversation, &Message) {
    match events.first() {
        Some(ChatEvent::TurnStarted {
            conversation,
            user_message,
            ..
        }) => (conversation, user_message),
        other => panic!("the turn began with {other:?}"),
    }
}

/// A mock server and a backend pointed at it, with its data dir, using
/// `key` as the environment key.
pub async fn stack(key: Option<&str>) -> (MockServer, tempfile::TempDir, Arc<Backend>) {
    let server = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let backend = backend(dir.path(), &server.base_url(), key);
    (server, dir, backend)
}

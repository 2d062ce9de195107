//! Models: the paginated `GET /v1/models` read whole, fallbacks when it
//! cannot be read, `max_tokens` taken from the model, switching a
//! conversation's model between turns, and the price table file.

use kestrel_mock_anthropic::{MockConfig, MockServer};
use kestrel_server::anthropic::AnthropicClient;
use kestrel_server::provider::models::FALLBACK_CONTEXT_WINDOW;
use kestrel_shared::{ChatEvent, SendMessage, ThinkingSupport};
use pretty_assertions::assert_eq;

use super::common::{KEY, backend, collect, stack, started};
use super::conformance::key;

#[tokio::test]
async fn every_page_of_the_model_list_is_read() {
    let server = MockServer::start(MockConfig {
        models: vec![
            "claude-opus-4-6".into(),
            "claude-sonnet-4-5".into(),
            "claude-haiku-4-5".into(),
            "claude-3-haiku-no-thinking".into(),
            "claude-text-only".into(),
        ],
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let client = AnthropicClient::new(&server.base_url())
        .unwrap()
        .with_models_page(2);
    let models = client.list_models(&key()).await.unwrap();
    let ids: Vec<&str> = models.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "claude-opus-4-6",
            "claude-sonnet-4-5",
            "claude-haiku-4-5",
            "claude-3-haiku-no-thinking",
            "claude-text-only"
        ]
    );
    let pages: Vec<String> = server.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(pages.len(), 3, "{pages:?}");
    assert_eq!(models[0].thinking, ThinkingSupport::Adaptive);
    assert_eq!(models[1].thinking, ThinkingSupport::Budget);
    assert_eq!(models[3].thinking, ThinkingSupport::None);
    assert!(!models[4].supports_images && models[1].supports_images);
    assert_eq!(
        (
            models[1].display_name.as_str(),
            models[1].context_window,
            models[1].max_output_tokens
        ),
        ("Claude Sonnet 4.5", 200_000, 64_000)
    );
}

#[tokio::test]
async fn without_a_list_the_default_model_is_offered_with_assumed_limits() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    // No key: the list cannot be fetched.
    let backend = backend(dir.path(), &server.base_url(), None);
    let models = backend.list_models(false).await;
    assert_eq!(models.len(), 1);
    assert_eq!(
        (models[0].id.as_str(), models[0].context_window),
        ("claude-sonnet-4-5", FALLBACK_CONTEXT_WINDOW)
    );
    // A wrong key: the same fallback, and no error for the picker.
    let backend = super::common::backend(dir.path(), &server.base_url(), Some("wrong"));
    assert_eq!(backend.list_models(true).await.len(), 1);
}

#[tokio::test]
async fn max_tokens_comes_from_the_model_and_the_model_can_change_between_turns() {
    let (server, _dir, backend) = stack(Some(KEY)).await;
    // Before the list is known, the configured default is asked for.
    let events = collect(
        backend
            .send_message(SendMessage {
                conversation_id: None,
                text: "first".into(),
            })
            .await
            .unwrap(),
    )
    .await;
    let conversation = started(&events).0.clone();
    assert!(matches!(events.last(), Some(ChatEvent::Done { .. })));
    assert_eq!(server.requests()[0].body["max_tokens"], 1024);

    let models = backend.list_models(false).await;
    assert_eq!(models.len(), 2);
    let switched = backend
        .set_conversation_model(conversation.id, "claude-haiku-4-5".into())
        .await
        .unwrap();
    assert_eq!(switched.model, "claude-haiku-4-5");

    let events = collect(
        backend
            .send_message(SendMessage {
                conversation_id: Some(conversation.id),
                text: "second".into(),
            })
            .await
            .unwrap(),
    )
    .await;
    let Some(ChatEvent::Done { message, .. }) = events.last() else {
        panic!("{events:?}");
    };
    assert_eq!(message.model.as_deref(), Some("claude-haiku-4-5"));
    let request = server.requests().pop().unwrap();
    assert_eq!(request.body["model"], "claude-haiku-4-5");
    assert_eq!(request.body["max_tokens"], 64_000);
    // The whole history went to the new model.
    assert_eq!(request.body["messages"].as_array().unwrap().len(), 3);

    let view = backend.load_conversation(conversation.id).await.unwrap();
    assert_eq!(view.conversation.model, "claude-haiku-4-5");
    let refused = backend
        .set_conversation_model(conversation.id, "  ".into())
        .await
        .unwrap_err();
    assert_eq!(refused.kind, kestrel_shared::ErrorKind::BadInput);
}

#[tokio::test]
async fn prices_come_from_the_built_in_table_and_the_data_dir_file() {
    let (_server, dir, backend) = stack(Some(KEY)).await;
    let prices = backend.prices().await;
    assert_eq!(
        kestrel_shared::price_for(&prices, "claude-sonnet-4-5")
            .unwrap()
            .output,
        15.0
    );
    std::fs::write(
        dir.path().join("prices.json"),
        r#"{"models": {"claude-sonnet-4": {"input": 1, "output": 2, "cache_write": 3, "cache_read": 4}}}"#,
    )
    .unwrap();
    let prices = backend.prices().await;
    assert_eq!(
        kestrel_shared::price_for(&prices, "claude-sonnet-4-5")
            .unwrap()
            .output,
        2.0
    );
}

#[tokio::test]
async fn thinking_follows_the_conversation_and_the_model() {
    use kestrel_shared::{ConversationOptions, ProviderKind};
    let server = MockServer::start(MockConfig {
        models: vec!["claude-opus-4-6".into(), "claude-sonnet-4-5".into()],
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let backend = backend(dir.path(), &server.base_url(), Some(KEY));
    let conversation = backend.create_conversation().await.unwrap();
    let send = |text: &str| SendMessage {
        conversation_id: Some(conversation.id),
        text: text.into(),
    };
    let sent_thinking = || server.requests().last().unwrap().body["thinking"].clone();
    // Off by default.
    collect(backend.send_message(send("one")).await.unwrap()).await;
    assert_eq!(sent_thinking(), serde_json::Value::Null);

    let on = ConversationOptions {
        provider: ProviderKind::Anthropic,
        thinking: true,
    };
    backend
        .set_conversation_options(conversation.id, on)
        .await
        .unwrap();
    assert_eq!(
        backend
            .conversation_options(Some(conversation.id))
            .await
            .unwrap(),
        on
    );
    // The limits are not known yet, and half of 1024 output tokens is below
    // the smallest budget: no thinking rather than a request the API refuses.
    collect(backend.send_message(send("two")).await.unwrap()).await;
    assert_eq!(sent_thinking(), serde_json::Value::Null);

    backend.list_models(false).await;
    collect(backend.send_message(send("three")).await.unwrap()).await;
    assert_eq!(
        sent_thinking(),
        serde_json::json!({"type": "enabled", "budget_tokens": 16_000})
    );

    backend
        .set_conversation_model(conversation.id, "claude-opus-4-6".into())
        .await
        .unwrap();
    collect(backend.send_message(send("four")).await.unwrap()).await;
    assert_eq!(sent_thinking(), serde_json::json!({"type": "adaptive"}));
}

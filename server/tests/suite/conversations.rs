//! Conversation management through the backend: the title asked of the
//! model after the first exchange (one short request, skippable, never
//! over a name the person chose), and delete with undo for the session.

use kestrel_mock_anthropic::Reply;
use kestrel_shared::SendMessage;
use pretty_assertions::assert_eq;

use super::common::{KEY, collect, stack, started};

async fn first_exchange(
    backend: &std::sync::Arc<kestrel_server::Backend>,
    text: &str,
) -> kestrel_shared::ConversationId {
    let events = collect(
        backend
            .send_message(SendMessage {
                conversation_id: None,
                text: text.into(),
            })
            .await
            .unwrap(),
    )
    .await;
    started(&events).0.id
}

#[tokio::test]
async fn the_first_exchange_gets_a_short_title_from_the_model() {
    let (server, _dir, backend) = stack(Some(KEY)).await;
    server.push_reply(Reply::text("Paris is the capital of France."));
    let id = first_exchange(&backend, "what is the capital of france, and why").await;
    let listed = backend.list_conversations().await.unwrap();
    assert_eq!(listed[0].title, "what is the capital of france, and why");

    server.push_reply(Reply::text("\"French capital.\""));
    let titled = backend.auto_title(id).await.unwrap();
    assert_eq!(titled.title, "French capital");
    let request = &server.requests()[1].body;
    assert_eq!(request["max_tokens"], 24);
    let quoted = request["messages"][0]["content"][0]["text"]
        .as_str()
        .unwrap();
    assert!(
        quoted.contains("capital of france") && quoted.contains("Paris is"),
        "{quoted}"
    );

    // Once titled (or renamed), no further request is made.
    backend.auto_title(id).await.unwrap();
    backend
        .rename_conversation(id, "Mine".into())
        .await
        .unwrap();
    assert_eq!(backend.auto_title(id).await.unwrap().title, "Mine");
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn the_title_request_can_be_skipped_in_settings() {
    let (server, _dir, backend) = stack(Some(KEY)).await;
    assert!(!backend.settings().await.unwrap().skip_auto_title);
    assert!(
        backend
            .set_skip_auto_title(true)
            .await
            .unwrap()
            .skip_auto_title
    );
    server.push_reply(Reply::text("Hi."));
    let id = first_exchange(&backend, "hello there").await;
    assert_eq!(backend.auto_title(id).await.unwrap().title, "hello there");
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_deleted_conversation_can_be_restored_until_restart() {
    let (server, dir, backend) = stack(Some(KEY)).await;
    server.push_reply(Reply::text("One."));
    let kept = first_exchange(&backend, "keep me").await;
    server.push_reply(Reply::text("Two."));
    let gone = first_exchange(&backend, "delete me").await;

    backend.pin_conversation(kept, true).await.unwrap();
    backend.delete_conversation(gone).await.unwrap();
    let listed: Vec<_> = backend
        .list_conversations()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(listed, vec![kept]);
    let back = backend.restore_conversation(gone).await.unwrap();
    assert_eq!(back.title, "delete me");
    assert_eq!(
        backend
            .load_conversation(gone)
            .await
            .unwrap()
            .messages
            .len(),
        2
    );

    backend.delete_conversation(gone).await.unwrap();
    drop(backend);
    let backend = super::common::backend(dir.path(), &server.base_url(), Some(KEY));
    let listed = backend.list_conversations().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].pinned);
    assert!(backend.restore_conversation(gone).await.is_err());
}

//! Whole turns through the backend: the user message saved before the
//! request, the reply streamed and saved, errors and cancellation ending
//! the turn cleanly, and everything still there after a restart.

use std::time::Duration;

use futures::StreamExt;
use kestrel_mock_anthropic::{Pacing, Reply};
use kestrel_shared::{
    AgentState, ChatEvent, ContentBlock, ErrorKind, MessageStatus, Role, SendMessage,
};
use pretty_assertions::assert_eq;

use super::common::{KEY, collect, stack, started, streamed_text};

fn send(text: &str) -> SendMessage {
    SendMessage {
        conversation_id: None,
        text: text.into(),
    }
}

#[tokio::test]
async fn a_turn_streams_saves_and_survives_a_restart() {
    let (server, dir, backend) = stack(Some(KEY)).await;
    server.push_reply(Reply::text("Four, as ever."));

    let events = collect(backend.send_message(send("What is 2 + 2?")).await.unwrap()).await;
    let ChatEvent::TurnStarted {
        conversation,
        user_message,
        assistant_message_id,
        ..
    } = &events[0]
    else {
        panic!("first event was {:?}", events[0]);
    };
    assert_eq!(user_message.text(), "What is 2 + 2?");
    assert_eq!(conversation.title, "What is 2 + 2?");
    assert_eq!(streamed_text(&events), "Four, as ever.");
    let states: Vec<AgentState> = events
        .iter()
        .filter_map(|e| match e {
            ChatEvent::AgentState { state } => Some(*state),
            _ => None,
        })
        .collect();
    assert_eq!(
        states,
        vec![
            AgentState::Thinking,
            AgentState::Streaming,
            AgentState::Idle
        ]
    );
    let ChatEvent::Done { message, .. } = events.last().unwrap() else {
        panic!("last event was {:?}", events.last());
    };
    assert_eq!(message.id, *assistant_message_id);
    assert_eq!(message.content, vec![ContentBlock::text("Four, as ever.")]);
    assert_eq!(message.status, MessageStatus::Complete);
    assert!(
        message
            .usage
            .is_some_and(|u| u.input_tokens > 0 && u.output_tokens > 0)
    );

    // The second turn sends the whole branch.
    server.push_reply(Reply::text("Eight."));
    let second = SendMessage {
        conversation_id: Some(conversation.id),
        text: "And 4 + 4?".into(),
    };
    let events = collect(backend.send_message(second).await.unwrap()).await;
    assert!(matches!(events.last(), Some(ChatEvent::Done { .. })));
    let sent = &server.requests()[1].body["messages"];
    assert_eq!(sent.as_array().unwrap().len(), 3);
    assert_eq!(sent[1]["content"][0]["text"], "Four, as ever.");

    let before = backend.load_conversation(conversation.id).await.unwrap();
    assert_eq!(before.messages.len(), 4);
    drop(backend);

    let reopened = super::common::backend(dir.path(), &server.base_url(), Some(KEY));
    let after = reopened.load_conversation(conversation.id).await.unwrap();
    assert_eq!(after, before);
    let roles: Vec<Role> = after.messages.iter().map(|m| m.role).collect();
    assert_eq!(
        roles,
        vec![Role::User, Role::Assistant, Role::User, Role::Assistant]
    );
    assert_eq!(
        reopened.list_conversations().await.unwrap(),
        vec![after.conversation]
    );
}

#[tokio::test]
async fn the_system_prompt_is_sent() {
    let (server, _dir, backend) = stack(Some(KEY)).await;
    let conversation = backend.create_conversation().await.unwrap();
    backend
        .set_system_prompt(conversation.id, "Answer in French.".into())
        .await
        .unwrap();
    let request = SendMessage {
        conversation_id: Some(conversation.id),
        text: "Hello".into(),
    };
    collect(backend.send_message(request).await.unwrap()).await;
    assert_eq!(
        server.requests()[0].body["system"][0]["text"],
        "Answer in French."
    );
}

#[tokio::test]
async fn without_a_key_nothing_is_saved_and_the_error_says_what_to_do() {
    let (server, _dir, backend) = stack(None).await;
    let error = backend.send_message(send("hello")).await.unwrap_err();
    assert_eq!(error.kind, ErrorKind::NoApiKey);
    assert!(backend.list_conversations().await.unwrap().is_empty());
    assert!(server.requests().is_empty());

    let empty = backend.send_message(send("  \n ")).await.unwrap_err();
    assert_eq!(empty.kind, ErrorKind::BadInput);
}

#[tokio::test]
async fn oversized_text_and_unknown_conversations_are_refused_before_saving() {
    let (server, _dir, backend) = stack(Some(KEY)).await;
    let huge = "x".repeat(kestrel_shared::MAX_USER_MESSAGE_BYTES + 1);
    assert_eq!(
        backend.send_message(send(&huge)).await.unwrap_err().kind,
        ErrorKind::BadInput
    );

    let unknown: kestrel_shared::ConversationId =
        "01890a5d-ac96-774b-bcce-b302099a8057".parse().unwrap();
    let request = SendMessage {
        conversation_id: Some(unknown),
        text: "hi".into(),
    };
    let error = backend.send_message(request).await.unwrap_err();
    assert_eq!(error.kind, ErrorKind::BadInput);
    assert!(
        error.message.contains("does not exist"),
        "{}",
        error.message
    );
    assert_eq!(
        backend.load_conversation(unknown).await.unwrap_err().kind,
        ErrorKind::BadInput
    );
    assert!(backend.list_conversations().await.unwrap().is_empty());
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn a_rejected_key_keeps_the_user_message_and_a_retry_reuses_it() {
    let (server, dir, backend) = stack(Some("wrong-key")).await;
    let events = collect(backend.send_message(send("hello")).await.unwrap()).await;
    let ChatEvent::Error { error, message } = events.last().unwrap() else {
        panic!("last event was {:?}", events.last());
    };
    assert_eq!((error.kind, message), (ErrorKind::InvalidApiKey, &None));
    let (conversation, user_message) = started(&events);

    // Fix the key (the test backend holds "wrong-key" as its environment
    // key, which would win, so restart without one) and send again.
    drop(backend);
    let backend = super::common::backend(dir.path(), &server.base_url(), None);
    backend
        .set_api_key(kestrel_shared::ProviderKind::Anthropic, KEY)
        .await
        .unwrap();
    let retry = SendMessage {
        conversation_id: Some(conversation.id),
        text: "hello".into(),
    };
    let events = collect(backend.send_message(retry).await.unwrap()).await;
    let (_, retried) = started(&events);
    assert_eq!(retried.id, user_message.id);
    assert!(matches!(events.last(), Some(ChatEvent::Done { .. })));
    let view = backend.load_conversation(conversation.id).await.unwrap();
    assert_eq!(view.messages.len(), 2);
}

#[tokio::test]
async fn a_different_text_after_a_failure_becomes_a_sibling() {
    let (server, _dir, backend) = stack(Some(KEY)).await;
    server.push_reply(Reply::overloaded());
    let events = collect(backend.send_message(send("first try")).await.unwrap()).await;
    assert!(
        matches!(events.last(), Some(ChatEvent::Error { error, .. }) if error.kind == ErrorKind::Overloaded)
    );
    let (conversation, failed) = started(&events);

    let edited = SendMessage {
        conversation_id: Some(conversation.id),
        text: "second try".into(),
    };
    let events = collect(backend.send_message(edited).await.unwrap()).await;
    let (_, sibling) = started(&events);
    assert_eq!(sibling.parent_id, failed.parent_id);
    assert_ne!(sibling.id, failed.id);
    let view = backend.load_conversation(conversation.id).await.unwrap();
    assert_eq!(
        view.messages.iter().map(|m| m.text()).next().as_deref(),
        Some("second try")
    );
    assert_eq!(view.messages.len(), 2);
    // Only the active branch went to the model.
    assert_eq!(
        server.requests()[1].body["messages"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn a_mid_stream_error_keeps_the_partial_reply() {
    let (server, _dir, backend) = stack(Some(KEY)).await;
    server.push_reply(Reply::mid_stream_error("Partial answer"));
    let events = collect(backend.send_message(send("hello")).await.unwrap()).await;
    let ChatEvent::Error {
        error,
        message: Some(partial),
    } = events.last().unwrap()
    else {
        panic!("last event was {:?}", events.last());
    };
    assert_eq!(error.kind, ErrorKind::Overloaded);
    assert_eq!(
        (partial.text(), partial.status),
        ("Partial answer".to_owned(), MessageStatus::Failed)
    );
    let view = backend
        .load_conversation(partial.conversation_id)
        .await
        .unwrap();
    let stored = view.messages.last().unwrap();
    assert_eq!(
        (stored.id, stored.status, stored.text()),
        (partial.id, MessageStatus::Failed, partial.text())
    );
}

#[tokio::test]
async fn the_turn_says_when_the_provider_is_retried() {
    let server = super::common::mock().await;
    server.push_replies([Reply::overloaded(), Reply::text("Made it.")]);
    let dir = tempfile::tempdir().unwrap();
    let (client, clock) = super::fake_clock::client_with_fake_clock(&server.base_url());
    let backend = kestrel_server::Backend::open_with_client(
        super::common::config(dir.path(), &server.base_url()),
        kestrel_server::secrets::KeyStore::new(kestrel_server::secrets::ApiKey::new(KEY)),
        client,
    )
    .unwrap();
    let events = collect(backend.send_message(send("hello")).await.unwrap()).await;
    let retries: Vec<(u32, u64, ErrorKind)> = events
        .iter()
        .filter_map(|e| match e {
            ChatEvent::Retrying {
                attempt,
                delay_ms,
                error,
            } => Some((*attempt, *delay_ms, error.kind)),
            _ => None,
        })
        .collect();
    assert_eq!(retries, [(1, 500, ErrorKind::Overloaded)]);
    assert_eq!(clock.slept(), [Duration::from_millis(500)]);
    // Said before the reply began, which then streams as usual.
    let said = events
        .iter()
        .position(|e| matches!(e, ChatEvent::Retrying { .. }))
        .unwrap();
    let began = events
        .iter()
        .position(|e| matches!(e, ChatEvent::ProviderMessage { .. }))
        .unwrap();
    assert!(said < began, "{events:#?}");
    assert_eq!(streamed_text(&events), "Made it.");
    assert!(matches!(events.last(), Some(ChatEvent::Done { .. })));
}

#[tokio::test]
async fn an_unreachable_provider_is_a_clear_network_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let backend =
        super::common::backend(dir.path(), &format!("http://127.0.0.1:{port}"), Some(KEY));
    let events = collect(backend.send_message(send("hello")).await.unwrap()).await;
    assert!(
        matches!(events.last(), Some(ChatEvent::Error { error, message: None }) if error.kind == ErrorKind::Network),
        "{:?}",
        events.last()
    );
}

fn slow() -> Pacing {
    Pacing {
        first_token_delay: Duration::ZERO,
        tokens_per_second: Some(50.0),
    }
}

#[tokio::test]
async fn stop_keeps_the_partial_reply_as_cancelled() {
    let (server, _dir, backend) = stack(Some(KEY)).await;
    let long = "word ".repeat(400);
    server.push_reply(Reply::text(long.clone()).with_pacing(slow()));
    let mut events = backend.send_message(send("talk a lot")).await.unwrap();
    let ChatEvent::TurnStarted { turn_id, .. } = events.next().await.unwrap() else {
        panic!()
    };

    let mut seen = Vec::new();
    let mut deltas = 0;
    while let Some(event) = events.next().await {
        if matches!(event, ChatEvent::TextDelta { .. }) {
            deltas += 1;
            if deltas == 3 {
                assert!(backend.cancel_turn(turn_id));
            }
        }
        let terminal = event.is_terminal();
        seen.push(event);
        if terminal {
            break;
        }
    }
    let ChatEvent::Cancelled {
        message: Some(partial),
    } = seen.last().unwrap()
    else {
        panic!("last event was {:?}", seen.last());
    };
    assert_eq!(partial.status, MessageStatus::Cancelled);
    assert!(
        partial.text().len() < long.len() && partial.text().starts_with("word word word"),
        "{}",
        partial.text()
    );
    let view = backend
        .load_conversation(partial.conversation_id)
        .await
        .unwrap();
    let stored = view.messages.last().unwrap();
    assert_eq!(
        (stored.status, stored.text()),
        (MessageStatus::Cancelled, partial.text())
    );
    assert!(!backend.cancel_turn(turn_id), "the turn is over");
}

#[tokio::test]
async fn closing_the_event_stream_cancels_the_turn() {
    let (server, _dir, backend) = stack(Some(KEY)).await;
    server.push_reply(Reply::text("word ".repeat(400)).with_pacing(slow()));
    let mut events = backend.send_message(send("talk a lot")).await.unwrap();
    let ChatEvent::TurnStarted {
        conversation,
        assistant_message_id,
        ..
    } = events.next().await.unwrap()
    else {
        panic!()
    };
    while !matches!(events.next().await, Some(ChatEvent::TextDelta { .. })) {}
    drop(events);

    // The turn notices at once and saves what it has; wait for that write.
    let stored = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let view = backend.load_conversation(conversation.id).await.unwrap();
            if let Some(last) = view
                .messages
                .last()
                .filter(|m| m.id == assistant_message_id)
                && last.status != MessageStatus::Streaming
            {
                return last.clone();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap();
    assert_eq!(stored.status, MessageStatus::Cancelled);
    assert!(stored.text().starts_with("word"));
}

//! The conversation is a tree: edit and regenerate add siblings and keep
//! the old versions, switching shows another branch with its follow-ups,
//! only the active branch goes to the model, and an unfinished reply can
//! be continued in place.

use kestrel_mock_anthropic::Reply;
use kestrel_shared::{ChatEvent, EditMessage, ErrorKind, Message, MessageStatus, SendMessage};
use pretty_assertions::assert_eq;

use super::common::{KEY, collect, stack, started};

fn terminal_message(events: &[ChatEvent]) -> Message {
    match events.last() {
        Some(ChatEvent::Done { message, .. }) => message.clone(),
        Some(ChatEvent::Error {
            message: Some(message),
            ..
        }) => message.clone(),
        other => panic!("the turn ended with {other:?}"),
    }
}

fn texts(messages: &[Message]) -> Vec<String> {
    messages.iter().map(Message::text).collect()
}

/// The texts of the user messages sent in request `n`.
fn sent_texts(server: &kestrel_mock_anthropic::MockServer, n: usize) -> Vec<String> {
    server.requests()[n].body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            m["content"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|b| b["text"].as_str())
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect()
}

#[tokio::test]
async fn regenerate_and_edit_add_siblings_and_switching_brings_branches_back() {
    let (server, _dir, backend) = stack(Some(KEY)).await;
    server.push_reply(Reply::text("Paris."));
    let first = collect(
        backend
            .send_message(SendMessage {
                conversation_id: None,
                text: "Capital of France?".into(),
            })
            .await
            .unwrap(),
    )
    .await;
    let (conversation, question) = started(&first);
    let (conversation, question) = (conversation.id, question.clone());
    let paris = terminal_message(&first);

    server.push_reply(Reply::text("Berlin."));
    let follow = collect(
        backend
            .send_message(SendMessage {
                conversation_id: Some(conversation),
                text: "And Germany?".into(),
            })
            .await
            .unwrap(),
    )
    .await;
    let berlin = terminal_message(&follow);

    // Regenerate the first reply: a sibling, and the follow-up is not on
    // the new branch.
    server.push_reply(Reply::text("It is Paris."));
    let again = collect(backend.regenerate(paris.id).await.unwrap()).await;
    let (_, answered) = started(&again);
    assert_eq!(answered.id, question.id);
    let paris2 = terminal_message(&again);
    assert_eq!(paris2.parent_id, Some(question.id));
    assert_ne!(paris2.id, paris.id);
    assert_eq!(sent_texts(&server, 2), vec!["Capital of France?"]);

    let view = backend.load_conversation(conversation).await.unwrap();
    assert_eq!(
        texts(&view.messages),
        vec!["Capital of France?", "It is Paris."]
    );
    assert_eq!(view.branches.len(), 1);
    assert_eq!(
        (view.branches[0].message_id, view.branches[0].label()),
        (paris2.id, "2 / 2".to_owned())
    );
    assert_eq!(view.branches[0].previous, Some(paris.id));

    // Back to the first reply: the follow-up comes back with it.
    let view = backend.switch_branch(paris.id).await.unwrap();
    assert_eq!(view.conversation.active_leaf, Some(berlin.id));
    assert_eq!(
        texts(&view.messages),
        vec!["Capital of France?", "Paris.", "And Germany?", "Berlin."]
    );
    assert_eq!(view.branches[0].label(), "1 / 2");

    // Edit the first question: a sibling of it, answered on its own.
    server.push_reply(Reply::text("Rome."));
    let edited = collect(
        backend
            .edit_message(EditMessage {
                message_id: question.id,
                text: "Capital of Italy?".into(),
            })
            .await
            .unwrap(),
    )
    .await;
    let (_, new_question) = started(&edited);
    assert_eq!(new_question.parent_id, None);
    assert_ne!(new_question.id, question.id);
    assert_eq!(sent_texts(&server, 3), vec!["Capital of Italy?"]);
    let view = backend.load_conversation(conversation).await.unwrap();
    assert_eq!(texts(&view.messages), vec!["Capital of Italy?", "Rome."]);
    assert_eq!(view.branches[0].message_id, new_question.id);
    assert_eq!(view.branches[0].label(), "2 / 2");

    // Nothing was overwritten: the old question's branch comes back where
    // it was last worked on (the regenerated reply), and its first reply
    // still has its follow-up.
    let view = backend.switch_branch(question.id).await.unwrap();
    assert_eq!(
        texts(&view.messages),
        vec!["Capital of France?", "It is Paris."]
    );
    assert_eq!(
        view.branches
            .iter()
            .map(|b| (b.message_id, b.label()))
            .collect::<Vec<_>>(),
        vec![
            (question.id, "1 / 2".to_owned()),
            (paris2.id, "2 / 2".to_owned())
        ]
    );
    let view = backend.switch_branch(paris.id).await.unwrap();
    assert_eq!(
        texts(&view.messages),
        vec!["Capital of France?", "Paris.", "And Germany?", "Berlin."]
    );
}

#[tokio::test]
async fn a_failed_reply_is_continued_in_place_from_its_partial_text() {
    let (server, _dir, backend) = stack(Some(KEY)).await;
    server.push_reply(Reply::mid_stream_error("The answer is "));
    let events = collect(
        backend
            .send_message(SendMessage {
                conversation_id: None,
                text: "Tell me".into(),
            })
            .await
            .unwrap(),
    )
    .await;
    let partial = terminal_message(&events);
    assert_eq!(partial.status, MessageStatus::Failed);

    server.push_reply(Reply::text(" forty-two."));
    let events = collect(backend.continue_reply(partial.id).await.unwrap()).await;
    let ChatEvent::TurnStarted {
        assistant_message_id,
        ..
    } = &events[0]
    else {
        panic!("first event was {:?}", events[0]);
    };
    assert_eq!(*assistant_message_id, partial.id);
    let done = terminal_message(&events);
    assert_eq!(
        (done.id, done.status, done.text()),
        (
            partial.id,
            MessageStatus::Complete,
            "The answer is forty-two.".to_owned()
        )
    );
    // The partial text went back as the start of the assistant turn, with
    // no trailing whitespace (the API refuses that).
    let sent = &server.requests()[1].body["messages"];
    assert_eq!(sent[1]["role"], "assistant");
    assert_eq!(sent[1]["content"][0]["text"], "The answer is");

    let view = backend
        .load_conversation(partial.conversation_id)
        .await
        .unwrap();
    assert_eq!(view.messages.len(), 2);
    assert_eq!(view.messages[1].text(), "The answer is forty-two.");
    assert!(view.branches.is_empty());

    // A finished reply cannot be continued, and a reply cannot be edited.
    let error = backend.continue_reply(partial.id).await.unwrap_err();
    assert_eq!(error.kind, ErrorKind::BadInput);
    assert!(error.message.contains("regenerate"), "{}", error.message);
    let error = backend
        .edit_message(EditMessage {
            message_id: partial.id,
            text: "x".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::BadInput);
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn a_question_left_unanswered_is_retried_by_regenerating_it() {
    let (server, _dir, backend) = stack(Some(KEY)).await;
    server.push_reply(Reply::overloaded());
    let events = collect(
        backend
            .send_message(SendMessage {
                conversation_id: None,
                text: "Anyone there?".into(),
            })
            .await
            .unwrap(),
    )
    .await;
    assert!(matches!(
        events.last(),
        Some(ChatEvent::Error { message: None, .. })
    ));
    let (conversation, question) = started(&events);
    let (conversation, question) = (conversation.id, question.clone());

    server.push_reply(Reply::text("Yes."));
    let events = collect(backend.regenerate(question.id).await.unwrap()).await;
    let reply = terminal_message(&events);
    assert_eq!(reply.parent_id, Some(question.id));
    let view = backend.load_conversation(conversation).await.unwrap();
    assert_eq!(texts(&view.messages), vec!["Anyone there?", "Yes."]);
}

#[tokio::test]
async fn a_regenerate_that_fails_before_any_text_leaves_the_old_reply_showing() {
    let (server, _dir, backend) = stack(Some(KEY)).await;
    server.push_reply(Reply::text("Original."));
    let events = collect(
        backend
            .send_message(SendMessage {
                conversation_id: None,
                text: "Say something".into(),
            })
            .await
            .unwrap(),
    )
    .await;
    let original = terminal_message(&events);

    server.push_reply(Reply::overloaded());
    let events = collect(backend.regenerate(original.id).await.unwrap()).await;
    assert!(matches!(
        events.last(),
        Some(ChatEvent::Error { message: None, .. })
    ));
    let view = backend
        .load_conversation(original.conversation_id)
        .await
        .unwrap();
    assert_eq!(texts(&view.messages), vec!["Say something", "Original."]);
    assert!(view.branches.is_empty());
}

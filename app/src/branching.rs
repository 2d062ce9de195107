//! The UI's actions on the message tree: pick another branch (‹ ›), edit a
//! question, regenerate a reply, continue or retry an unfinished one. Each
//! turn runs through the same event handling as a plain send
//! ([`state::follow_turn`]); afterwards the branch positions are re-read,
//! since every one of these adds or changes a sibling.

use dioxus::fullstack::Streaming;
use dioxus::prelude::*;
use kestrel_server::api;
use kestrel_shared::{
    BranchPoint, ContentBlock, EditMessage, Message, MessageId, MessageStatus, Role,
};

use crate::state::{self, ChatState, TurnEnd};

/// Whether a reply stopped before it was finished and has text to carry on.
pub fn can_continue(message: &Message) -> bool {
    message.role == Role::Assistant
        && matches!(
            message.status,
            MessageStatus::Interrupted | MessageStatus::Cancelled | MessageStatus::Failed
        )
        && message.content.iter().any(|block| match block {
            ContentBlock::Text { text } => !text.trim().is_empty(),
            _ => true,
        })
}

/// Where `message` sits among its siblings, if it has any.
pub fn branch_of(state: &ChatState, message: MessageId) -> Option<BranchPoint> {
    state
        .branches
        .read()
        .iter()
        .find(|b| b.message_id == message)
        .copied()
}

/// Shows the branch through `message` (a sibling picked with ‹ or ›).
pub async fn switch_branch(mut state: ChatState, message: MessageId) {
    if state.turn.peek().is_some() {
        return;
    }
    match api::switch_branch(message).await {
        Ok(view) => {
            state.current.set(Some(view.conversation));
            state.messages.set(view.messages);
            state.branches.set(view.branches);
        }
        Err(e) => state.error.set(Some(api::to_kestrel_error(e))),
    }
}

/// Re-reads where the open conversation's branch forks.
pub async fn refresh_branches(mut state: ChatState) {
    let Some(id) = state.current_id() else {
        return;
    };
    if let Ok(branches) = api::branch_points(id).await
        && state.current_id() == Some(id)
    {
        state.branches.set(branches);
    }
}

/// Re-reads the open conversation's branch from the backend.
async fn reload(mut state: ChatState) {
    let Some(id) = state.current_id() else {
        return;
    };
    if let Ok(view) = api::load_conversation(id).await
        && state.current_id() == Some(id)
    {
        state.current.set(Some(view.conversation));
        state.messages.set(view.messages);
        state.branches.set(view.branches);
    }
}

/// Saves `text` as a new version of the user message `message` and streams
/// its answer.
pub fn edit(state: ChatState, message: MessageId, text: String) {
    if text.trim().is_empty() || text.len() > kestrel_shared::MAX_USER_MESSAGE_BYTES {
        return;
    }
    run(state, String::new(), async move {
        api::edit_message(EditMessage {
            message_id: message,
            text,
        })
        .await
    });
}

/// Asks again for a reply to the question `message` answers (or to
/// `message` itself if it is the question).
pub fn regenerate(state: ChatState, message: MessageId) {
    run(state, String::new(), api::regenerate(message));
}

/// Carries the unfinished reply `message` on; its text so far stays on
/// screen and the continuation streams after it.
pub fn continue_reply(state: ChatState, message: &Message) {
    let partial = message.text().trim_end().to_owned();
    run(state, partial, api::continue_reply(message.id));
}

/// Runs one turn started by `start`; `live` is the text already on screen
/// before the first delta.
fn run(
    mut state: ChatState,
    live: String,
    start: impl Future<Output = Result<Streaming<bytes::Bytes>, ServerFnError>> + 'static,
) {
    if !state::begin_turn(state, live) {
        return;
    }
    // Not tied to the clicked message's component: the turn replaces
    // that message on screen, and the turn must outlive it.
    dioxus::core::spawn_forever(async move {
        let outcome = match start.await {
            Ok(stream) => state::follow_turn(state, api::EventReader::new(stream)).await,
            Err(e) => TurnEnd::Failed {
                error: api::to_kestrel_error(e),
                reply_saved: false,
            },
        };
        state.turn.set(None);
        state.live_text.set(String::new());
        match outcome {
            // Nothing was saved: show the conversation as the store has it
            // (the reply that was there before a failed regenerate).
            TurnEnd::Failed {
                error,
                reply_saved: false,
            } => {
                reload(state).await;
                state.error.set(Some(error));
            }
            TurnEnd::Failed { error, .. } => {
                state.error.set(Some(error));
                refresh_branches(state).await;
            }
            TurnEnd::Finished => refresh_branches(state).await,
        }
    });
}

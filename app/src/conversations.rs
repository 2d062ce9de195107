//! The UI's actions on whole conversations, from the sidebar: rename,
//! pin, archive, delete with undo, and the title asked of the model after
//! the first exchange.

use dioxus::prelude::*;
use kestrel_server::api;
use kestrel_shared::{Conversation, ConversationId};

use crate::state::{self, ChatState};

/// Replaces a conversation's row (and the open one's header) in place.
fn replace(mut state: ChatState, conversation: Conversation) {
    {
        let mut list = state.conversations.write();
        if let Some(row) = list.iter_mut().find(|c| c.id == conversation.id) {
            *row = conversation.clone();
        }
        // Pinned rows first, then by last activity, as the backend lists.
        list.sort_by(|a, b| {
            b.pinned
                .cmp(&a.pinned)
                .then(b.updated_at.cmp(&a.updated_at))
                .then(b.id.to_string().cmp(&a.id.to_string()))
        });
    }
    if state.current_id() == Some(conversation.id) {
        state.current.set(Some(conversation));
    }
}

fn show(mut state: ChatState, error: ServerFnError) {
    state.error.set(Some(api::to_kestrel_error(error)));
}

pub async fn rename(state: ChatState, id: ConversationId, title: String) {
    match api::rename_conversation(id, title).await {
        Ok(conversation) => replace(state, conversation),
        Err(e) => show(state, e),
    }
}

pub async fn pin(state: ChatState, id: ConversationId, pinned: bool) {
    match api::pin_conversation(id, pinned).await {
        Ok(conversation) => replace(state, conversation),
        Err(e) => show(state, e),
    }
}

pub async fn archive(state: ChatState, id: ConversationId, archived: bool) {
    match api::archive_conversation(id, archived).await {
        Ok(conversation) => replace(state, conversation),
        Err(e) => show(state, e),
    }
}

/// Deletes a conversation and returns it, for the undo toast.
pub async fn delete(mut state: ChatState, id: ConversationId) -> Option<Conversation> {
    if let Err(e) = api::delete_conversation(id).await {
        show(state, e);
        return None;
    }
    let removed = {
        let mut list = state.conversations.write();
        let index = list.iter().position(|c| c.id == id)?;
        Some(list.remove(index))
    };
    if state.current_id() == Some(id) {
        state::new_conversation(state);
    }
    removed
}

/// Undoes [`delete`].
pub async fn undo_delete(mut state: ChatState, id: ConversationId) {
    match api::restore_conversation(id).await {
        Ok(conversation) => {
            state.conversations.write().push(conversation.clone());
            replace(state, conversation);
        }
        Err(e) => show(state, e),
    }
}

/// After a conversation's first exchange: ask for a short title (the
/// backend skips it when the setting says so or the person renamed it).
pub async fn title_after_first_exchange(state: ChatState) {
    let Some(id) = state.current_id() else {
        return;
    };
    if state.messages.peek().len() != 2 || state.settings.peek().skip_auto_title {
        return;
    }
    if let Ok(conversation) = api::auto_title(id).await {
        replace(state, conversation);
    }
}

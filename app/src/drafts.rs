//! Unsent drafts survive a restart: the composer's text is saved to the
//! backend [`SAVE_AFTER`] after the last keystroke, for the conversation it
//! was typed in, and each conversation's draft comes back when it is
//! opened (the new-conversation composer's too, at start-up).

use std::time::Duration;

use dioxus::prelude::*;
use kestrel_server::api;
use kestrel_shared::ConversationId;

use crate::state::ChatState;

/// Quiet time after the last keystroke before the draft is saved.
pub const SAVE_AFTER: Duration = Duration::from_millis(400);

/// Keeps `state.draft` saved per conversation. Call once, from the
/// composer.
pub fn use_drafts(mut state: ChatState) {
    // The conversation the composer's text belongs to.
    let mut owner = use_signal(|| None::<Option<ConversationId>>);
    let mut edits = use_signal(|| 0u64);
    // Off while a conversation's draft is loading, so the text it replaces
    // is not saved over it.
    let mut loaded = use_signal(|| false);

    // The open conversation changed: keep what was typed for the old one,
    // bring back the new one's draft.
    use_effect(move || {
        let current = state.current_id();
        let previous = *owner.peek();
        if previous == Some(current) {
            return;
        }
        owner.set(Some(current));
        // A new conversation just saved by its first message: the text
        // was sent, not switched away from.
        let saved_by_send = previous == Some(None) && current.is_some();
        if saved_by_send {
            return;
        }
        let leaving = state.draft.peek().clone();
        // At start-up nothing is being left: text already in the composer
        // was typed for this conversation (the window can take keystrokes
        // before this effect runs) and must not be replaced.
        let starting = previous.is_none();
        let was_loaded = *loaded.peek();
        loaded.set(false);
        spawn(async move {
            if let Some(previous) = previous
                && was_loaded
            {
                let _ = api::save_draft(previous, leaving.clone()).await;
            }
            let saved = api::load_draft(current).await;
            if state.current_id() == current && state.turn.peek().is_none() {
                let typed = state.draft.peek().clone();
                let untouched = typed == leaving && (!starting || typed.trim().is_empty());
                if untouched {
                    // Nothing typed since the switch: show this
                    // conversation's draft.
                    if let Ok(text) = saved {
                        state.draft.set(text);
                    }
                } else {
                    // Typed while the draft loaded: that text wins, and is
                    // kept.
                    let _ = api::save_draft(current, typed).await;
                }
            }
            loaded.set(true);
        });
    });

    // The text changed: save it once typing pauses.
    use_effect(move || {
        let text = state.draft.read().clone();
        let Some(conversation) = *owner.peek() else {
            return;
        };
        if !*loaded.peek() {
            return;
        }
        let edit = *edits.peek() + 1;
        edits.set(edit);
        spawn(async move {
            crate::time::sleep(SAVE_AFTER).await;
            // A later keystroke or a switch has saved, or will save, newer
            // text.
            if *edits.peek() == edit {
                let _ = api::save_draft(conversation, text).await;
            }
        });
    });
}

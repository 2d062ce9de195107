//! The sidebar: a new-conversation button, the search box, the conversations by last
//! activity, and the way into settings. It lists the most recent
//! [`PAGE`] conversations and more on request, so a long history costs the
//! first screen nothing.

use dioxus::prelude::*;
use kestrel_shared::Conversation;

use crate::state::{self, ChatState};

/// How many conversations the sidebar lists at first, and adds per "Show
/// more".
pub const PAGE: usize = 50;

#[component]
pub fn Sidebar() -> Element {
    let mut state = use_context::<ChatState>();
    let mut shown_limit = use_signal(|| PAGE);
    let current = state.current_id();
    let conversations = state.conversations.read();
    // The open conversation is always listed, however old it is.
    let open_index = conversations.iter().position(|c| Some(c.id) == current);
    let shown = shown_limit().max(open_index.map_or(0, |i| i + 1));
    let hidden = conversations.len().saturating_sub(shown);
    rsx! {
        nav { class: "sidebar", "aria-label": "Conversations",
            div { class: "sidebar-head",
                span { class: "brand", "Kestrel" }
                button {
                    class: "new-chat",
                    title: "New conversation",
                    onclick: move |_| state::new_conversation(state),
                    "New chat"
                }
            }
            super::SearchBox {}
            ul { class: "conversation-list",
                for conversation in conversations.iter().take(shown) {
                    ConversationItem {
                        key: "{conversation.id}",
                        conversation: conversation.clone(),
                        active: Some(conversation.id) == current,
                    }
                }
                if hidden > 0 {
                    li {
                        button {
                            class: "conversation-item show-more",
                            onclick: move |_| shown_limit += PAGE,
                            "Show {hidden.min(PAGE)} more"
                        }
                    }
                }
            }
            div { class: "sidebar-foot",
                button { class: "open-settings", onclick: move |_| state.show_settings.set(true), "Settings" }
            }
        }
    }
}

#[component]
fn ConversationItem(conversation: Conversation, active: bool) -> Element {
    let state = use_context::<ChatState>();
    let id = conversation.id;
    let title = if conversation.title.is_empty() {
        "New conversation".to_owned()
    } else {
        conversation.title
    };
    rsx! {
        li {
            button {
                class: if active { "conversation-item active" } else { "conversation-item" },
                title: "{title}",
                "aria-current": if active { "page" } else { "false" },
                onclick: move |_| {
                    spawn(state::open_conversation(state, id));
                },
                "{title}"
            }
        }
    }
}

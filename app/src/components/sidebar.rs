//! The sidebar: a new-conversation button, the conversations by last
//! activity, and the way into settings.

use dioxus::prelude::*;
use kestrel_shared::Conversation;

use crate::state::{self, ChatState};

#[component]
pub fn Sidebar() -> Element {
    let mut state = use_context::<ChatState>();
    let current = state.current_id();
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
            ul { class: "conversation-list",
                for conversation in state.conversations.read().iter() {
                    ConversationItem {
                        key: "{conversation.id}",
                        conversation: conversation.clone(),
                        active: Some(conversation.id) == current,
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

//! The sidebar: a new-conversation button, the search box (Ctrl/Cmd+K),
//! the conversations (pinned first, then by last activity; archived ones
//! apart, under "Archived"), each with its menu (rename, pin, archive,
//! delete with undo), and the way into settings. It lists the most recent
//! [`PAGE`] conversations and more on request, so a long history costs the
//! first screen nothing.

use dioxus::prelude::*;
use kestrel_shared::Conversation;

use crate::conversations;
use crate::state::{self, ChatState};

/// How many conversations the sidebar lists at first, and adds per "Show
/// more".
pub const PAGE: usize = 50;

#[component]
pub fn Sidebar() -> Element {
    let mut state = use_context::<ChatState>();
    let mut shown_limit = use_signal(|| PAGE);
    let mut show_archived = use_signal(|| false);
    let mut deleted = use_signal(|| None::<Conversation>);
    use_context_provider(|| DeletedToast(deleted));
    let current = state.current_id();
    let all = state.conversations.read();
    let (archived, conversations): (Vec<&Conversation>, Vec<&Conversation>) =
        all.iter().partition(|c| c.archived);
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
                        conversation: (*conversation).clone(),
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
                if !archived.is_empty() {
                    li {
                        button {
                            class: "conversation-item archived-toggle",
                            "aria-expanded": "{show_archived}",
                            onclick: move |_| show_archived.toggle(),
                            "Archived ({archived.len()})"
                        }
                    }
                    // The open conversation is always listed, archived or not.
                    if show_archived() || archived.iter().any(|c| Some(c.id) == current) {
                        for conversation in archived.iter() {
                            ConversationItem {
                                key: "{conversation.id}",
                                conversation: (*conversation).clone(),
                                active: Some(conversation.id) == current,
                            }
                        }
                    }
                }
            }
            if let Some(gone) = deleted() {
                div { class: "undo-toast", role: "status",
                    span { "Deleted “{display_title(&gone)}”." }
                    button {
                        class: "link undo-delete",
                        onclick: move |_| {
                            deleted.set(None);
                            spawn(conversations::undo_delete(state, gone.id));
                        },
                        "Undo"
                    }
                }
            }
            div { class: "sidebar-foot",
                button { class: "open-settings", onclick: move |_| state.show_settings.set(true), "Settings" }
            }
        }
    }
}

/// The last deleted conversation, offered for undo.
#[derive(Clone, Copy)]
struct DeletedToast(Signal<Option<Conversation>>);

fn display_title(conversation: &Conversation) -> String {
    if conversation.title.is_empty() {
        "New conversation".to_owned()
    } else {
        conversation.title.clone()
    }
}

#[component]
fn ConversationItem(conversation: Conversation, active: bool) -> Element {
    let state = use_context::<ChatState>();
    let DeletedToast(mut deleted) = use_context::<DeletedToast>();
    let mut menu_open = use_signal(|| false);
    let mut renaming = use_signal(|| None::<String>);
    let id = conversation.id;
    let title = display_title(&conversation);
    let (pinned, archived) = (conversation.pinned, conversation.archived);

    if let Some(draft) = renaming() {
        return rsx! {
            li {
                input {
                    class: "rename-input",
                    "aria-label": "Conversation title",
                    value: "{draft}",
                    autofocus: true,
                    oninput: move |evt| renaming.set(Some(evt.value())),
                    onkeydown: move |evt: KeyboardEvent| {
                        if evt.key() == Key::Enter {
                            evt.prevent_default();
                            if let Some(title) = renaming() {
                                renaming.set(None);
                                spawn(conversations::rename(state, id, title));
                            }
                        } else if evt.key() == Key::Escape {
                            evt.stop_propagation();
                            renaming.set(None);
                        }
                    },
                }
            }
        };
    }
    rsx! {
        li { class: if pinned { "pinned" } else { "" },
            div { class: "conversation-row",
                button {
                    class: if active { "conversation-item active" } else { "conversation-item" },
                    title: "{title}",
                    "aria-current": if active { "page" } else { "false" },
                    onclick: move |_| {
                        spawn(state::open_conversation(state, id));
                    },
                    if pinned { span { class: "pin-mark", "aria-label": "Pinned", "★ " } }
                    "{title}"
                }
                button {
                    class: "conversation-menu",
                    title: "Conversation actions",
                    "aria-expanded": "{menu_open}",
                    onclick: move |_| menu_open.toggle(),
                    "⋯"
                }
            }
            if menu_open() {
                div { class: "conversation-actions", role: "menu",
                    button {
                        class: "rename",
                        role: "menuitem",
                        onclick: move |_| {
                            menu_open.set(false);
                            renaming.set(Some(conversation.title.clone()));
                        },
                        "Rename"
                    }
                    button {
                        class: "pin",
                        role: "menuitem",
                        onclick: move |_| {
                            menu_open.set(false);
                            spawn(conversations::pin(state, id, !pinned));
                        },
                        if pinned { "Unpin" } else { "Pin" }
                    }
                    button {
                        class: "archive",
                        role: "menuitem",
                        onclick: move |_| {
                            menu_open.set(false);
                            spawn(conversations::archive(state, id, !archived));
                        },
                        if archived { "Unarchive" } else { "Archive" }
                    }
                    button {
                        class: "delete",
                        role: "menuitem",
                        onclick: move |_| {
                            menu_open.set(false);
                            // The toast lives in the sidebar, which outlives
                            // this row.
                            dioxus::core::spawn_forever(async move {
                                if let Some(gone) = conversations::delete(state, id).await {
                                    deleted.set(Some(gone));
                                }
                            });
                        },
                        "Delete"
                    }
                }
            }
        }
    }
}

//! The chat pane: the conversation's header (title, system prompt), the
//! transcript, the error banner and the composer.

use dioxus::prelude::*;

use super::{
    Composer, ConversationUsage, ErrorBanner, LiveThinking, MessageList, ModelPicker,
    StreamingMessage,
};
use crate::state::{self, ChatState};

#[component]
pub fn ChatPane() -> Element {
    let mut state = use_context::<ChatState>();
    let title = match state.current.read().as_ref() {
        Some(c) if !c.title.is_empty() => c.title.clone(),
        _ => "New conversation".to_owned(),
    };
    let has_prompt = state
        .current
        .read()
        .as_ref()
        .is_some_and(|c| !c.system_prompt.is_empty());
    rsx! {
        main { class: "chat",
            header { class: "chat-head",
                div { class: "chat-title", "{title}" }
                ConversationUsage {}
                ModelPicker {}
                button {
                    class: "toggle-system-prompt",
                    "aria-expanded": "{state.show_system_prompt}",
                    onclick: move |_| {
                        let open = *state.show_system_prompt.peek();
                        state.show_system_prompt.set(!open);
                    },
                    if has_prompt { "System prompt ✓" } else { "System prompt" }
                }
                super::ExportMenu {}
            }
            if (state.show_system_prompt)() {
                SystemPromptEditor {}
            }
            section { class: "transcript", "aria-live": "polite",
                div { class: "transcript-inner",
                    MessageList {}
                    LiveThinking {}
                    StreamingMessage {}
                }
            }
            super::StartupNotice {}
            ErrorBanner {}
            Composer {}
        }
    }
}

/// Edits the open conversation's system prompt.
#[component]
fn SystemPromptEditor() -> Element {
    let mut state = use_context::<ChatState>();
    let initial = state
        .current
        .peek()
        .as_ref()
        .map(|c| c.system_prompt.clone())
        .unwrap_or_default();
    let mut prompt = use_signal(move || initial);
    rsx! {
        div { class: "system-prompt",
            label { r#for: "system-prompt-input", class: "hint",
                "Instructions the model follows throughout this conversation."
            }
            textarea {
                id: "system-prompt-input",
                value: "{prompt}",
                placeholder: "You are a concise assistant…",
                oninput: move |evt| prompt.set(evt.value()),
            }
            div { class: "row",
                button { onclick: move |_| state.show_system_prompt.set(false), "Cancel" }
                button {
                    class: "primary save-system-prompt",
                    onclick: move |_| {
                        spawn(state::save_system_prompt(state, prompt()));
                    },
                    "Save"
                }
            }
        }
    }
}

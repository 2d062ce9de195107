//! The transcript: finished messages ([`MessageList`], one [`MessageView`]
//! each, keyed by id and skipped on re-render when unchanged) and the reply
//! arriving now ([`StreamingMessage`], the only component that reads the
//! live text, so a token re-renders nothing else).

use dioxus::prelude::*;
use kestrel_shared::{AgentState, ContentBlock, Message, MessageStatus, Role};

use crate::state::ChatState;

#[component]
pub fn MessageList() -> Element {
    let state = use_context::<ChatState>();
    let messages = state.messages.read();
    if messages.is_empty() && state.turn.read().is_none() {
        return rsx! {
            div { class: "empty-state",
                h1 { "What can I help with?" }
                p { "Ask anything. Replies stream in as they are written." }
            }
        };
    }
    rsx! {
        for message in messages.iter() {
            MessageView { key: "{message.id}", message: message.clone() }
        }
    }
}

/// One finished message.
#[component]
pub fn MessageView(message: Message) -> Element {
    let role = match message.role {
        Role::User => "user",
        Role::Assistant => "assistant",
    };
    let badge = match message.status {
        MessageStatus::Cancelled => Some("Stopped"),
        MessageStatus::Failed => Some("Failed"),
        MessageStatus::Interrupted => Some("Interrupted"),
        _ => None,
    };
    rsx! {
        article { class: "message {role}", "data-message-id": "{message.id}", "data-status": "{badge.unwrap_or(\"\")}",
            div { class: "bubble",
                for (i, block) in message.content.iter().enumerate() {
                    ContentBlockView { key: "{i}", block: block.clone() }
                }
            }
            if let Some(badge) = badge {
                span { class: "badge", "{badge}" }
            }
            if let (Role::Assistant, Some(usage)) = (message.role, message.usage) {
                super::MessageUsage { usage, model: message.model.clone() }
            }
        }
    }
}

#[component]
fn ContentBlockView(block: ContentBlock) -> Element {
    match block {
        ContentBlock::Text { text } => rsx! { div { class: "text", "{text}" } },
        ContentBlock::Thinking { thinking, .. } => rsx! {
            details { class: "thinking",
                summary { "Thinking" }
                div { class: "text", "{thinking}" }
            }
        },
        ContentBlock::RedactedThinking { .. } => {
            rsx! { div { class: "thinking", "Thinking (redacted)" } }
        }
        ContentBlock::ToolUse { name, input, .. } => {
            let input = serde_json::to_string_pretty(&input).unwrap_or_default();
            rsx! {
                div { class: "tool-call",
                    strong { "Tool call: {name}" }
                    pre { "{input}" }
                }
            }
        }
        ContentBlock::ToolResult { .. } => rsx! { div { class: "tool-call", "Tool result" } },
        ContentBlock::Image { .. } => rsx! { div { class: "tool-call", "Image" } },
        ContentBlock::Document { title, .. } => {
            let title = title.unwrap_or_else(|| "Document".to_owned());
            rsx! { div { class: "tool-call", "{title}" } }
        }
        _ => rsx! {},
    }
}

/// The reply being written now. Finished paragraphs are their own
/// components and never change again; only the last, growing paragraph
/// is re-rendered on each flush, so the webview re-lays out one block of
/// text, not the whole reply.
#[component]
pub fn StreamingMessage() -> Element {
    let state = use_context::<ChatState>();
    if !state.streaming_here() {
        return rsx! {};
    }
    let agent_state = (*state.turn.read()).map(|t| t.state).unwrap_or_default();
    let text = state.live_text.read();
    let (done, tail) = match text.rfind("\n\n") {
        Some(end) => (&text[..end], &text[end + 2..]),
        None => ("", text.as_str()),
    };
    rsx! {
        article { class: "message assistant streaming", "aria-busy": "true",
            div { class: "bubble",
                if text.is_empty() {
                    div { class: "pending cursor",
                        if agent_state == AgentState::Thinking { "Thinking" } else { "" }
                    }
                } else {
                    for (i, paragraph) in done.split("\n\n").enumerate().filter(|_| !done.is_empty()) {
                        FinishedParagraph { key: "{i}", text: paragraph.to_owned() }
                    }
                    div { class: "text cursor", "{tail}" }
                }
            }
        }
    }
}

/// A paragraph of the streaming reply that is complete.
#[component]
fn FinishedParagraph(text: String) -> Element {
    rsx! { div { class: "text paragraph", "{text}" } }
}

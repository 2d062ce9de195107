//! The transcript: finished messages ([`MessageList`], one [`MessageView`]
//! each, keyed by id and skipped on re-render when unchanged) and the reply
//! arriving now ([`StreamingMessage`], the only component that reads the
//! live text, so a token re-renders nothing else).
//!
//! The assistant's text is Markdown, rendered and sanitised by
//! [`crate::markdown`]; the only `dangerous_inner_html` in the app is here,
//! and it only ever receives that module's output. What the person typed
//! is shown as typed.

use dioxus::prelude::*;
use kestrel_shared::{AgentState, ContentBlock, Message, MessageStatus, Role};

use crate::markdown::{self, Highlight};
use crate::state::{ChatState, Retry};

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
                    ContentBlockView { key: "{i}", block: block.clone(), markdown: message.role == Role::Assistant }
                }
            }
            if let Some(badge) = badge {
                span { class: "badge", "{badge}" }
            }
            if let (Role::Assistant, Some(usage)) = (message.role, message.usage) {
                super::MessageUsage { usage, model: message.model.clone() }
            }
            super::MessageTools { message: message.clone() }
        }
    }
}

/// One block of a message; `markdown` renders text blocks as Markdown.
#[component]
fn ContentBlockView(block: ContentBlock, markdown: bool) -> Element {
    match block {
        ContentBlock::Text { text } if markdown => rsx! { Markdown { text } },
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

/// Markdown text, rendered once per distinct text: the component re-runs
/// only when its props change.
#[component]
fn Markdown(text: String) -> Element {
    let html = markdown::to_html(&text, Highlight::Code);
    rsx! { div { class: "text markdown", dangerous_inner_html: html } }
}

/// The reply being written now. Finished blocks (everything before the
/// last blank line outside a code fence) are their own components, each
/// rendered once and never again; only the growing tail is rendered on a
/// flush, without code highlighting. A flush therefore renders one block
/// whatever the length of the reply (plus a linear scan for block ends,
/// 33 µs for 10,000 words; BENCHMARKS.md).
#[component]
pub fn StreamingMessage() -> Element {
    let state = use_context::<ChatState>();
    if !state.streaming_here() {
        return rsx! {};
    }
    let turn = *state.turn.read();
    let agent_state = turn.map(|t| t.state).unwrap_or_default();
    // While the provider is retried, the reply says why it waits.
    let retrying = turn.and_then(|t| t.retry).map(Retry::notice);
    let text = state.live_text.read();
    let (finished, tail) = markdown::split_finished(&text);
    let tail = markdown::to_html(tail, Highlight::Plain);
    rsx! {
        article { class: "message assistant streaming", "aria-busy": "true",
            div { class: "bubble",
                if let Some(notice) = retrying.filter(|_| text.is_empty()) {
                    div { class: "pending retrying", role: "status", "{notice}" }
                } else if text.is_empty() {
                    div { class: "pending cursor",
                        if agent_state == AgentState::Thinking { "Thinking" } else { "" }
                    }
                } else {
                    for (i, block) in finished.into_iter().enumerate() {
                        Markdown { key: "{i}", text: block.to_owned() }
                    }
                    div { class: "text markdown cursor", dangerous_inner_html: tail }
                }
            }
        }
    }
}

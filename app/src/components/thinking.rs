//! The model's thinking while a reply streams: shown as it arrives, in a
//! quiet, collapsible block above the reply text (finished messages show
//! their thinking blocks in the transcript).

use dioxus::prelude::*;

use crate::state::ChatState;

#[component]
pub fn LiveThinking() -> Element {
    let state = use_context::<ChatState>();
    if !state.streaming_here() {
        return rsx! {};
    }
    let thinking = state.live_thinking.read();
    if thinking.is_empty() {
        return rsx! {};
    }
    let answering = !state.live_text.read().is_empty();
    rsx! {
        details { class: "thinking live", open: !answering,
            summary { if answering { "Thought" } else { "Thinking…" } }
            div { class: "text", "{thinking}" }
        }
    }
}

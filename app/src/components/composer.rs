//! The composer: the draft, its live token estimate (computed by the
//! `kestrel-kernels` token kernel, which is wasm in the browser), and Send
//! or Stop. Enter sends, Shift+Enter starts a new line, Esc stops a reply.

use dioxus::prelude::*;
use kestrel_shared::MAX_USER_MESSAGE_BYTES;

use crate::state::{self, ChatState};

#[component]
pub fn Composer() -> Element {
    let mut state = use_context::<ChatState>();
    crate::drafts::use_drafts(state);
    let tokens = use_memo(move || kestrel_kernels::estimate_tokens(&state.draft.read()));
    let busy = state.turn.read().is_some();
    let streaming_here = state.streaming_here();
    let empty = state.draft.read().trim().is_empty();
    let draft_bytes = state.draft.read().len();
    let too_long = draft_bytes > MAX_USER_MESSAGE_BYTES;
    let no_key = state
        .key_status
        .read()
        .as_ref()
        .is_some_and(|k| !k.is_configured());
    rsx! {
        div { class: "composer",
            div { class: "composer-box",
                textarea {
                    id: "composer-input",
                    "aria-label": "Message",
                    placeholder: if no_key { "Add an API key in Settings to start…" } else { "Message Kestrel…" },
                    autofocus: true,
                    value: "{state.draft}",
                    oninput: move |evt| state.draft.set(evt.value()),
                    onkeydown: move |evt: KeyboardEvent| {
                        if evt.key() == Key::Enter && !evt.modifiers().shift() && !evt.is_composing() {
                            evt.prevent_default();
                            state::send(state);
                        }
                    },
                }
                div { class: "composer-row",
                    span { class: "token-count", "aria-live": "off",
                        if too_long {
                            span { class: "too-long",
                                "Too long to send: {draft_bytes / 1024} KiB of at most {MAX_USER_MESSAGE_BYTES / 1024} KiB"
                            }
                        } else if tokens() > 0 {
                            "≈ {tokens} tokens"
                        }
                    }
                    if streaming_here {
                        button {
                            class: "stop",
                            title: "Stop (Esc)",
                            onclick: move |_| state::stop(state),
                            "Stop"
                        }
                    } else {
                        button {
                            class: "primary send",
                            disabled: empty || busy || too_long,
                            onclick: move |_| state::send(state),
                            "Send"
                        }
                    }
                }
            }
        }
    }
}

//! The root component: provides [`ChatState`], applies the theme, loads the
//! first screen's data, and handles app-wide keys (Esc stops a reply).

use dioxus::prelude::*;

use super::{ChatPane, SettingsDialog, Sidebar};
use crate::state::{self, ChatState, InitialData};

#[component]
pub fn App() -> Element {
    let initial = try_consume_context::<InitialData>();
    let prefetched = initial.is_some();
    let state = use_context_provider(move || match initial {
        Some(initial) => ChatState::with_initial(initial),
        None => ChatState::new(),
    });
    // Effects run only where the UI is live (not during server rendering),
    // so the first client render matches the server's HTML.
    use_effect(move || {
        if !prefetched {
            spawn(state::load_initial(state));
        }
    });
    let theme = state.settings.read().theme;
    rsx! {
        Head {}
        div {
            class: "app",
            "data-theme": theme.as_attr(),
            "data-ready": if (state.ready)() { "true" } else { "false" },
            tabindex: "-1",
            onkeydown: move |evt: KeyboardEvent| {
                if evt.key() == Key::Escape && state.turn.peek().is_some() {
                    evt.prevent_default();
                    state::stop(state);
                }
            },
            Sidebar {}
            ChatPane {}
            if (state.show_settings)() {
                SettingsDialog {}
            }
        }
    }
}

/// The document head. Its own component with no props, so it renders once
/// and never asks the document to replace the stylesheet. The desktop
/// window already has the stylesheet in its initial HTML.
#[component]
fn Head() -> Element {
    #[cfg(feature = "desktop")]
    let styles_in_head = try_consume_context::<crate::desktop::StylesInHead>().is_some();
    #[cfg(not(feature = "desktop"))]
    let styles_in_head = false;
    // No `document::Title`: on the web it sets the title with `eval`, which
    // the Content-Security-Policy refuses. The title comes from index.html
    // (Dioxus.toml) on the web and from the window config on desktop.
    rsx! {
        if !styles_in_head {
            document::Style { {crate::STYLE} }
        }
    }
}

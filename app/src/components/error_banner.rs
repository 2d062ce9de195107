//! Shows the last error: a headline from its kind, the details, and the
//! action that fixes it (settings for key problems, a wait for rate limits).

use dioxus::prelude::*;

use crate::state::ChatState;

#[component]
pub fn ErrorBanner() -> Element {
    let mut state = use_context::<ChatState>();
    let Some(error) = state.error.read().clone() else {
        return rsx! {};
    };
    rsx! {
        div { class: "error-banner", role: "alert", "data-kind": "{serde_json::to_value(error.kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()}",
            div { class: "body",
                strong { "{error.kind.headline()}" }
                div { class: "detail",
                    "{error.message}"
                    if let Some(secs) = error.retry_after_secs {
                        " Try again in {secs} s."
                    }
                }
                if error.kind.needs_settings() {
                    button { class: "link open-settings-from-error", onclick: move |_| state.show_settings.set(true), "Open settings" }
                }
            }
            button { class: "dismiss", "aria-label": "Dismiss", onclick: move |_| state.error.set(None), "×" }
        }
    }
}

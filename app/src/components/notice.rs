//! What the user must be told about this start, shown once above the
//! composer until dismissed: today, that an unreadable database was kept
//! aside (never deleted) and a fresh one started.

use dioxus::prelude::*;
use kestrel_server::api;

#[component]
pub fn StartupNotice() -> Element {
    let mut notices = use_signal(Vec::<String>::new);
    // Only where the UI is live; the server-rendered page shows none.
    use_effect(move || {
        spawn(async move {
            if let Ok(list) = api::startup_notices().await {
                notices.set(list);
            }
        });
    });
    let list = notices.read();
    if list.is_empty() {
        return rsx! {};
    }
    rsx! {
        div { class: "startup-notice", role: "status",
            for (i, text) in list.iter().enumerate() {
                p { key: "{i}", "{text}" }
            }
            button {
                class: "dismiss",
                "aria-label": "Dismiss",
                onclick: move |_| notices.set(Vec::new()),
                "×"
            }
        }
    }
}

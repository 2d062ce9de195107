//! The settings dialog: the API key (its source and last four characters
//! only; the key itself never comes back from the backend) and the theme.

use dioxus::prelude::*;
use kestrel_shared::{KeySource, Theme};

use crate::state::{self, ChatState};

#[component]
pub fn SettingsDialog() -> Element {
    let mut state = use_context::<ChatState>();
    let mut key_input = use_signal(String::new);
    let status = state.key_status.read().clone().unwrap_or_default();
    let key_line = match (status.source, status.last_four.as_deref()) {
        (Some(KeySource::Environment), Some(four)) => {
            format!("Using ANTHROPIC_API_KEY from the environment (…{four}).")
        }
        (Some(KeySource::Session), Some(four)) => {
            format!("Using the key entered here (…{four}), kept in memory until Kestrel exits.")
        }
        _ => "No API key is configured.".to_owned(),
    };
    let from_env = status.source == Some(KeySource::Environment);
    let theme = state.settings.read().theme;
    rsx! {
        div { class: "overlay",
            onclick: move |_| state.show_settings.set(false),
            div { class: "dialog", role: "dialog", "aria-modal": "true", "aria-labelledby": "settings-title",
                onclick: move |evt| evt.stop_propagation(),
                onkeydown: move |evt: KeyboardEvent| {
                    if evt.key() == Key::Escape {
                        state.show_settings.set(false);
                    }
                },
                h2 { id: "settings-title", "Settings" }
                section {
                    h3 { "Anthropic API key" }
                    p { class: "hint key-status", "{key_line}" }
                    if from_env {
                        p { class: "hint", "Unset ANTHROPIC_API_KEY to use a key entered here instead." }
                    } else {
                        form { class: "row",
                            onsubmit: move |evt| {
                                evt.prevent_default();
                                let key = key_input();
                                key_input.set(String::new());
                                spawn(state::save_api_key(state, key));
                            },
                            input {
                                id: "api-key-input",
                                r#type: "password",
                                autocomplete: "off",
                                placeholder: "sk-ant-…",
                                "aria-label": "API key",
                                value: "{key_input}",
                                oninput: move |evt| key_input.set(evt.value()),
                            }
                            button { class: "primary save-key", r#type: "submit", disabled: key_input.read().trim().is_empty(), "Save" }
                        }
                        if status.source == Some(KeySource::Session) {
                            button { class: "link remove-key", onclick: move |_| { spawn(state::save_api_key(state, String::new())); }, "Remove key" }
                        }
                    }
                    p { class: "hint", "Requests go to {status.base_url}." }
                }
                section {
                    h3 { "Theme" }
                    div { class: "segmented", role: "radiogroup", "aria-label": "Theme",
                        for option in Theme::ALL {
                            button {
                                key: "{option.as_attr()}",
                                class: if option == theme { "selected theme-{option.as_attr()}" } else { "theme-{option.as_attr()}" },
                                role: "radio",
                                "aria-checked": if option == theme { "true" } else { "false" },
                                onclick: move |_| { spawn(state::choose_theme(state, option)); },
                                "{option.label()}"
                            }
                        }
                    }
                }
                div { class: "row end",
                    button { class: "close-settings", onclick: move |_| state.show_settings.set(false), "Done" }
                }
            }
        }
    }
}

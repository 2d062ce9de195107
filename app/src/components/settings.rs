//! The settings dialog: the API key (its source and last four characters
//! only; the key itself never comes back from the backend) with save,
//! replace, check and remove, and the theme. When the OS keychain is
//! unavailable it says so and offers a key for this session only.

use dioxus::prelude::*;
use kestrel_server::api;
use kestrel_shared::{KeyCheck, KeySource, KeyStatus, SecureStore, Theme};

use crate::state::{self, ChatState};

/// What the key section says about where the key comes from.
fn key_line(status: &KeyStatus) -> String {
    match (status.source, status.last_four.as_deref()) {
        (Some(KeySource::Environment), Some(four)) => {
            format!("Using ANTHROPIC_API_KEY from the environment (…{four}).")
        }
        (Some(KeySource::Keychain), Some(four)) => {
            format!("Using the key saved in the system keychain (…{four}).")
        }
        (Some(KeySource::Session), Some(four)) => {
            format!("Using the key entered here (…{four}), kept in memory until Kestrel exits.")
        }
        _ => "No API key is configured.".to_owned(),
    }
}

/// The outcome of the last key action, shown under the key line.
#[derive(Debug, Clone, PartialEq)]
enum KeyNote {
    Working(&'static str),
    Good(String),
    Bad(String),
}

async fn run_key_action(
    mut state: ChatState,
    mut note: Signal<Option<KeyNote>>,
    action: KeyAction,
) {
    note.set(Some(KeyNote::Working(match action {
        KeyAction::Save(_) => "Saving…",
        KeyAction::Delete => "Removing…",
        KeyAction::Check => "Checking the key with the provider…",
    })));
    let result = match action {
        KeyAction::Save(key) => api::set_api_key(key).await.map(|status| {
            let saved = match status.source {
                Some(KeySource::Keychain) => "Saved in the system keychain.",
                _ => "Saved for this session only.",
            };
            state.key_status.set(Some(status));
            KeyNote::Good(saved.to_owned())
        }),
        KeyAction::Delete => api::delete_api_key().await.map(|status| {
            state.key_status.set(Some(status));
            KeyNote::Good("The key was removed.".to_owned())
        }),
        KeyAction::Check => api::check_api_key().await.map(|check| match check {
            KeyCheck::Valid => KeyNote::Good("The provider accepted the key.".to_owned()),
            KeyCheck::Rejected { message } => {
                KeyNote::Bad(format!("The provider rejected the key: {message}"))
            }
            KeyCheck::Failed { message } => {
                KeyNote::Bad(format!("The key could not be checked: {message}"))
            }
            _ => KeyNote::Bad("The key could not be checked.".to_owned()),
        }),
    };
    match result {
        Ok(outcome) => note.set(Some(outcome)),
        Err(error) => {
            note.set(Some(KeyNote::Bad(api::to_kestrel_error(error).message)));
            // The keychain may have just become unavailable: show it.
            if let Ok(status) = api::key_status().await {
                state.key_status.set(Some(status));
            }
        }
    }
    if state
        .key_status
        .read()
        .as_ref()
        .is_some_and(KeyStatus::is_configured)
        && state
            .error
            .read()
            .as_ref()
            .is_some_and(|e| e.kind.needs_settings())
    {
        state.error.set(None);
    }
}

enum KeyAction {
    Save(String),
    Delete,
    Check,
}

#[component]
pub fn SettingsDialog() -> Element {
    let mut state = use_context::<ChatState>();
    let mut key_input = use_signal(String::new);
    let note = use_signal(|| None::<KeyNote>);
    let status = state.key_status.read().clone().unwrap_or_default();
    let key_line = key_line(&status);
    let from_env = status.source == Some(KeySource::Environment);
    let unavailable = match &status.secure_store {
        SecureStore::Unavailable { reason } => Some(reason.clone()),
        _ => None,
    };
    let theme = state.settings.read().theme;
    let act = move |action: KeyAction| {
        spawn(run_key_action(state, note, action));
    };
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
                    if let Some(reason) = unavailable.as_ref().filter(|_| !from_env) {
                        p { class: "hint keychain-unavailable", role: "status",
                            "No secure key store is available ({reason}). A key entered here is kept in memory for this session only and is never written to disk."
                        }
                    }
                    if from_env {
                        p { class: "hint", "Unset ANTHROPIC_API_KEY to manage the key here." }
                    } else {
                        form { class: "row",
                            onsubmit: move |evt| {
                                evt.prevent_default();
                                let key = key_input();
                                key_input.set(String::new());
                                act(KeyAction::Save(key));
                            },
                            input {
                                id: "api-key-input",
                                r#type: "password",
                                autocomplete: "off",
                                spellcheck: "false",
                                placeholder: "sk-ant-…",
                                "aria-label": "API key",
                                value: "{key_input}",
                                oninput: move |evt| key_input.set(evt.value()),
                            }
                            button { class: "primary save-key", r#type: "submit", disabled: key_input.read().trim().is_empty(),
                                if status.is_configured() { "Replace" }
                                else if unavailable.is_some() { "Use for this session" }
                                else { "Save" }
                            }
                        }
                    }
                    if status.is_configured() {
                        div { class: "row",
                            button { class: "check-key", onclick: move |_| act(KeyAction::Check), "Check key" }
                            if !from_env {
                                button { class: "link remove-key", onclick: move |_| act(KeyAction::Delete), "Remove key" }
                            }
                        }
                    }
                    match note() {
                        Some(KeyNote::Working(text)) => rsx! { p { class: "hint key-note", role: "status", "{text}" } },
                        Some(KeyNote::Good(text)) => rsx! { p { class: "hint key-note good", role: "status", "{text}" } },
                        Some(KeyNote::Bad(text)) => rsx! { p { class: "hint key-note bad", role: "alert", "{text}" } },
                        None => rsx! {},
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
                super::DataSection {}
                div { class: "row end",
                    button { class: "close-settings", onclick: move |_| state.show_settings.set(false), "Done" }
                }
            }
        }
    }
}

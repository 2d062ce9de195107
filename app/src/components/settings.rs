//! The settings dialog: provider keys and the theme. The key section first
//! asks which provider (Anthropic or an OpenAI-compatible server) and then
//! works the same for both: the active key's source and last four
//! characters only (the key itself never comes back from the backend), with
//! save, replace, check and remove. For an OpenAI-compatible server it also
//! holds the server's address; keys are kept per address, so changing it
//! shows that server's key. When the OS keychain is unavailable it says so
//! and offers a key for this session only.

use dioxus::prelude::*;
use kestrel_server::api;
use kestrel_shared::{KeyCheck, KeySource, KeyStatus, ProviderKind, SecureStore, Theme};

use crate::state::{self, ChatState};

/// The environment variable that overrides `provider`'s key.
fn env_var(provider: ProviderKind) -> &'static str {
    match provider {
        ProviderKind::OpenAi => "OPENAI_API_KEY",
        _ => "ANTHROPIC_API_KEY",
    }
}

/// What the key section says about where the key comes from.
pub(crate) fn key_line(provider: ProviderKind, status: &KeyStatus) -> String {
    match (status.source, status.last_four.as_deref()) {
        (Some(KeySource::Environment), Some(four)) => format!(
            "Using {} from the environment (…{four}).",
            env_var(provider)
        ),
        (Some(KeySource::Keychain), Some(four)) => {
            format!("Using the key saved in the system keychain (…{four}).")
        }
        (Some(KeySource::Session), Some(four)) => {
            format!("Using the key entered here (…{four}), kept in memory until Kestrel exits.")
        }
        _ => match provider {
            ProviderKind::OpenAi => "No key is set for this server.".to_owned(),
            _ => "No API key is configured.".to_owned(),
        },
    }
}

/// The outcome of the last key action, shown under the key line.
#[derive(Debug, Clone, PartialEq)]
enum KeyNote {
    Working(&'static str),
    Good(String),
    Bad(String),
}

enum KeyAction {
    Save(String),
    Delete,
    Check,
    SetBaseUrl(String),
}

/// Where one provider's key section keeps what it shows.
#[derive(Clone, Copy, PartialEq)]
struct KeyView {
    provider: ProviderKind,
    /// The provider the dialog shows now: an action's note is shown only
    /// while its provider is.
    shown: Signal<ProviderKind>,
    /// The Anthropic status is the app's (the composer reads it too); an
    /// OpenAI-compatible server's is the dialog's own.
    status: Signal<Option<KeyStatus>>,
    note: Signal<Option<KeyNote>>,
    /// What is typed in the key field; emptied when the provider changes,
    /// so a key typed for one never goes to the other.
    key_input: Signal<String>,
    base_url_input: Signal<String>,
}

async fn run_key_action(mut state: ChatState, view: KeyView, action: KeyAction) {
    let KeyView {
        provider,
        shown,
        mut status,
        mut base_url_input,
        ..
    } = view;
    let mut note_signal = view.note;
    let mut note = move |text: KeyNote| {
        if shown() == provider {
            note_signal.set(Some(text));
        }
    };
    let (accepted, checking) = match provider {
        ProviderKind::OpenAi => (
            "The server accepted the key.",
            "Checking the key with the server…",
        ),
        _ => (
            "The provider accepted the key.",
            "Checking the key with the provider…",
        ),
    };
    note(KeyNote::Working(match action {
        KeyAction::Save(_) => "Saving…",
        KeyAction::Delete => "Removing…",
        KeyAction::Check => checking,
        KeyAction::SetBaseUrl(_) => "Switching the server…",
    }));
    let result = match action {
        KeyAction::Save(key) => api::set_api_key(provider, key).await.map(|new| {
            let saved = match new.source {
                Some(KeySource::Keychain) => "Saved in the system keychain.",
                _ => "Saved for this session only.",
            };
            status.set(Some(new));
            KeyNote::Good(saved.to_owned())
        }),
        KeyAction::Delete => api::delete_api_key(provider).await.map(|new| {
            status.set(Some(new));
            KeyNote::Good("The key was removed.".to_owned())
        }),
        KeyAction::Check => api::check_api_key(provider).await.map(|check| match check {
            KeyCheck::Valid => KeyNote::Good(accepted.to_owned()),
            KeyCheck::Rejected { message } => {
                KeyNote::Bad(format!("The provider rejected the key: {message}"))
            }
            KeyCheck::Failed { message } => {
                KeyNote::Bad(format!("The key could not be checked: {message}"))
            }
            _ => KeyNote::Bad("The key could not be checked.".to_owned()),
        }),
        KeyAction::SetBaseUrl(url) => api::set_openai_base_url(url).await.map(|new| {
            let said = format!("Requests now go to {}.", new.base_url);
            base_url_input.set(new.base_url.clone());
            status.set(Some(new));
            KeyNote::Good(said)
        }),
    };
    match result {
        Ok(outcome) => note(outcome),
        Err(error) => {
            note(KeyNote::Bad(api::to_kestrel_error(error).message));
            // The keychain may have just become unavailable: show it.
            if let Ok(new) = api::key_status(provider).await {
                status.set(Some(new));
            }
        }
    }
    if status.read().as_ref().is_some_and(KeyStatus::is_configured)
        && state
            .error
            .read()
            .as_ref()
            .is_some_and(|e| e.kind.needs_settings())
    {
        state.error.set(None);
    }
}

/// Reads the OpenAI-compatible server's key status (and address) into
/// the section's signals.
async fn load_openai_status(view: KeyView) {
    let KeyView {
        mut status,
        mut note,
        mut base_url_input,
        ..
    } = view;
    match api::key_status(ProviderKind::OpenAi).await {
        Ok(new) => {
            base_url_input.set(new.base_url.clone());
            status.set(Some(new));
        }
        Err(error) => note.set(Some(KeyNote::Bad(api::to_kestrel_error(error).message))),
    }
}

#[component]
pub fn SettingsDialog() -> Element {
    let mut state = use_context::<ChatState>();
    let mut provider = use_signal(|| ProviderKind::Anthropic);
    let openai_status = use_signal(|| None::<KeyStatus>);
    let mut note = use_signal(|| None::<KeyNote>);
    let mut key_input = use_signal(String::new);
    let base_url_input = use_signal(String::new);
    let chosen = provider();
    let view = KeyView {
        provider: chosen,
        shown: provider,
        status: if chosen == ProviderKind::OpenAi {
            openai_status
        } else {
            state.key_status
        },
        note,
        key_input,
        base_url_input,
    };
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
                section { class: "key-section", "data-provider": chosen.as_str(),
                    h3 { "API key" }
                    div { class: "segmented key-provider", role: "radiogroup", "aria-label": "Provider",
                        for option in ProviderKind::ALL {
                            button {
                                key: "{option.as_str()}",
                                class: if option == chosen { "selected key-provider-{option.as_str()}" } else { "key-provider-{option.as_str()}" },
                                role: "radio",
                                "aria-checked": if option == chosen { "true" } else { "false" },
                                onclick: move |_| {
                                    if provider() == option {
                                        return;
                                    }
                                    note.set(None);
                                    key_input.set(String::new());
                                    provider.set(option);
                                    if option == ProviderKind::OpenAi {
                                        // Read again each time: the server
                                        // and its key may have changed.
                                        spawn(load_openai_status(KeyView {
                                            provider: option,
                                            shown: provider,
                                            status: openai_status,
                                            note,
                                            key_input,
                                            base_url_input,
                                        }));
                                    }
                                },
                                "{option.label()}"
                            }
                        }
                    }
                    KeySection { view }
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

/// One provider's key: its status, the key field, check and remove, and
/// for an OpenAI-compatible server its address.
#[component]
fn KeySection(view: KeyView) -> Element {
    let state = use_context::<ChatState>();
    let KeyView {
        provider,
        note,
        mut key_input,
        mut base_url_input,
        ..
    } = view;
    let openai = provider == ProviderKind::OpenAi;
    let loaded = view.status.read().clone();
    let status = loaded.clone().unwrap_or_default();
    let key_line = if openai && loaded.is_none() {
        "Reading the key status…".to_owned()
    } else {
        key_line(provider, &status)
    };
    let from_env = status.source == Some(KeySource::Environment);
    let unavailable = match &status.secure_store {
        SecureStore::Unavailable { reason } => Some(reason.clone()),
        _ => None,
    };
    let base_url_unchanged = loaded
        .as_ref()
        .is_some_and(|s| s.base_url == base_url_input.read().trim());
    let act = move |action: KeyAction| {
        spawn(run_key_action(state, view, action));
    };
    rsx! {
        if openai {
            label { class: "field-label", r#for: "openai-base-url-input", "Server address" }
            form { class: "row base-url-form", novalidate: true,
                onsubmit: move |evt| {
                    evt.prevent_default();
                    act(KeyAction::SetBaseUrl(base_url_input()));
                },
                input {
                    id: "openai-base-url-input",
                    r#type: "text",
                    inputmode: "url",
                    autocomplete: "off",
                    spellcheck: "false",
                    placeholder: "https://api.openai.com/v1",
                    value: "{base_url_input}",
                    oninput: move |evt| base_url_input.set(evt.value()),
                }
                button { class: "save-base-url", r#type: "submit", disabled: base_url_unchanged,
                    "Use this server"
                }
            }
            p { class: "hint",
                "The address up to and including /v1 (for Ollama: http://localhost:11434/v1). Each server keeps its own key. Leave it empty to go back to the default."
            }
        }
        p { class: "hint key-status", "{key_line}" }
        if let Some(reason) = unavailable.as_ref().filter(|_| !from_env) {
            p { class: "hint keychain-unavailable", role: "status",
                "No secure key store is available ({reason}). A key entered here is kept in memory for this session only and is never written to disk."
            }
        }
        if from_env {
            p { class: "hint", "Unset {env_var(provider)} to manage the key here." }
        } else {
            form { class: "row key-form",
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
                    placeholder: if openai { "sk-…" } else { "sk-ant-…" },
                    "aria-label": if openai { "API key for this server" } else { "API key" },
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
        } else if openai && loaded.is_some() {
            p { class: "hint", "Local servers such as Ollama or llama.cpp may need no key." }
        }
        match note() {
            Some(KeyNote::Working(text)) => rsx! { p { class: "hint key-note", role: "status", "{text}" } },
            Some(KeyNote::Good(text)) => rsx! { p { class: "hint key-note good", role: "status", "{text}" } },
            Some(KeyNote::Bad(text)) => rsx! { p { class: "hint key-note bad", role: "alert", "{text}" } },
            None => rsx! {},
        }
        if loaded.is_some() {
            p { class: "hint", "Requests go to {status.base_url}." }
        }
    }
}

/// The OpenAI-compatible section alone, before its status has arrived, for
/// the component tests.
#[cfg(test)]
#[component]
pub(crate) fn OpenAiKeySection() -> Element {
    let view = KeyView {
        provider: ProviderKind::OpenAi,
        shown: use_signal(|| ProviderKind::OpenAi),
        status: use_signal(|| None),
        note: use_signal(|| None),
        key_input: use_signal(String::new),
        base_url_input: use_signal(String::new),
    };
    rsx! { KeySection { view } }
}

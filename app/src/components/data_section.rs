//! Settings → "Conversations": import a file (Kestrel's JSON archive, a
//! Claude.ai export or a ChatGPT export, told apart by shape) and export
//! every conversation as one JSON archive. The file is read here (browser
//! or webview) and sent to the backend, which imports all of it or nothing.

use dioxus::html::FileData;
use dioxus::prelude::*;
use kestrel_server::api;

use crate::state::ChatState;

/// The largest file the app imports: the backend's limit
/// (`transfer::MAX_IMPORT_BYTES`), checked here before the file is read.
pub const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// The largest file the browser sends: `kestrel serve` takes request bodies
/// up to 8 MiB, and the file's text travels inside a JSON string, where
/// quotes and line breaks take two bytes.
pub const MAX_BROWSER_FILE_BYTES: u64 = 3 * 1024 * 1024;

/// What the last import or export did.
#[derive(Debug, Clone, PartialEq)]
enum Note {
    Working(String),
    Good(String),
    Bad(String),
}

/// Why a file of `size` bytes is not sent, if it is too large.
pub fn refusal(size: u64, in_browser: bool) -> Option<String> {
    let mib = |bytes: u64| bytes.div_ceil(1024 * 1024);
    if size > MAX_FILE_BYTES {
        Some(format!(
            "This file is {} MiB; Kestrel imports files up to {} MiB. Nothing was imported.",
            mib(size),
            mib(MAX_FILE_BYTES)
        ))
    } else if in_browser && size > MAX_BROWSER_FILE_BYTES {
        Some(format!(
            "This file is {} MiB; the web app sends files up to {} MiB. Import it where Kestrel \
             runs with `kestrel import FILE`, or in the desktop app. Nothing was imported.",
            mib(size),
            mib(MAX_BROWSER_FILE_BYTES)
        ))
    } else {
        None
    }
}

async fn import(mut state: ChatState, mut note: Signal<Option<Note>>, file: FileData) {
    let name = file.name();
    if let Some(reason) = refusal(file.size(), cfg!(target_arch = "wasm32")) {
        note.set(Some(Note::Bad(reason)));
        return;
    }
    note.set(Some(Note::Working(format!("Importing {name}…"))));
    let text = match file.read_bytes().await {
        Ok(bytes) => match String::from_utf8(bytes.to_vec()) {
            Ok(text) => text,
            Err(_) => {
                note.set(Some(Note::Bad(format!(
                    "{name} is not a text file (not UTF-8). Nothing was imported."
                ))));
                return;
            }
        },
        Err(e) => {
            note.set(Some(Note::Bad(format!("Cannot read {name}: {e}"))));
            return;
        }
    };
    match api::import_conversations(text).await {
        Ok(summary) => {
            note.set(Some(Note::Good(summary)));
            if let Ok(list) = api::list_conversations().await {
                state.conversations.set(list);
            }
        }
        Err(e) => note.set(Some(Note::Bad(format!(
            "Nothing was imported: {}",
            api::to_kestrel_error(e).message
        )))),
    }
}

async fn export_all(mut note: Signal<Option<Note>>) {
    if cfg!(target_arch = "wasm32") {
        match api::export_all().await {
            Ok(text) => {
                crate::page::download("kestrel-all-conversations.json", &text, "application/json");
                note.set(None);
            }
            Err(e) => note.set(Some(Note::Bad(api::to_kestrel_error(e).message))),
        }
    } else {
        match api::save_export_all().await {
            Ok(path) => note.set(Some(Note::Good(format!("Saved to {path}")))),
            Err(e) => note.set(Some(Note::Bad(api::to_kestrel_error(e).message))),
        }
    }
}

#[component]
pub fn DataSection() -> Element {
    let state = use_context::<ChatState>();
    let note = use_signal(|| None::<Note>);
    rsx! {
        section { class: "data-section",
            h3 { "Conversations" }
            p { class: "hint",
                "Import Kestrel's JSON export, a Claude.ai export or a ChatGPT export (conversations.json). All of a file is imported, or nothing."
            }
            div { class: "row",
                label { class: "button import-file",
                    "Import a file…"
                    input {
                        class: "import-input",
                        r#type: "file",
                        accept: ".json,application/json",
                        onchange: move |evt: FormEvent| {
                            if let Some(file) = evt.files().into_iter().next() {
                                spawn(import(state, note, file));
                            }
                        },
                    }
                }
                button { class: "export-all", onclick: move |_| { spawn(export_all(note)); }, "Export all (JSON)" }
            }
            match note() {
                Some(Note::Working(text)) => rsx! { p { class: "hint import-note", role: "status", "{text}" } },
                Some(Note::Good(text)) => rsx! { p { class: "hint import-note good", role: "status", "{text}" } },
                Some(Note::Bad(text)) => rsx! { p { class: "hint import-note bad", role: "alert", "{text}" } },
                None => rsx! {},
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_app_checks_the_backends_limit() {
        assert_eq!(MAX_FILE_BYTES, kestrel_server::transfer::MAX_IMPORT_BYTES);
        // The browser's file, inflated by JSON escaping (at most 2×) and
        // wrapped in its argument, fits the web server's body limit.
        assert!(
            2 * MAX_BROWSER_FILE_BYTES + 1024 < 2 * kestrel_shared::MAX_USER_MESSAGE_BYTES as u64
        );
    }

    #[test]
    fn files_over_a_limit_are_refused_with_the_reason() {
        assert_eq!(refusal(1024, true), None);
        assert_eq!(refusal(MAX_BROWSER_FILE_BYTES + 1, false), None);
        let browser = refusal(MAX_BROWSER_FILE_BYTES + 1, true).unwrap();
        assert!(browser.contains("kestrel import FILE"), "{browser}");
        let huge = refusal(MAX_FILE_BYTES + 1, false).unwrap();
        assert!(huge.contains("up to 256 MiB"), "{huge}");
    }
}

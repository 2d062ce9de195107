//! "Export" in the conversation's header: Markdown or JSON (re-importable),
//! of the branch on screen or of every branch. The browser downloads the
//! file; the desktop app saves it to the Downloads folder and says where.

use dioxus::prelude::*;
use kestrel_server::api;

use crate::state::ChatState;

#[component]
pub fn ExportMenu() -> Element {
    let mut state = use_context::<ChatState>();
    let mut open = use_signal(|| false);
    let mut saved = use_signal(|| None::<String>);
    let Some(conversation) = state.current.read().clone() else {
        return rsx! {};
    };
    let id = conversation.id;
    let mut export = move |markdown: bool, branch_only: bool| {
        open.set(false);
        spawn(async move {
            if cfg!(target_arch = "wasm32") {
                match api::export_conversation(id, markdown, branch_only).await {
                    Ok(text) => download(
                        &format!(
                            "kestrel-{id}{}.{}",
                            if branch_only { "-branch" } else { "" },
                            if markdown { "md" } else { "json" }
                        ),
                        &text,
                        markdown,
                    ),
                    Err(e) => state.error.set(Some(api::to_kestrel_error(e))),
                }
            } else {
                match api::save_export(id, markdown, branch_only).await {
                    Ok(path) => saved.set(Some(path)),
                    Err(e) => state.error.set(Some(api::to_kestrel_error(e))),
                }
            }
        });
    };
    rsx! {
        div { class: "export-menu",
            button {
                class: "toggle-export",
                "aria-expanded": "{open}",
                onclick: move |_| open.toggle(),
                "Export"
            }
            if open() {
                div { class: "export-choices", role: "menu",
                    button { class: "export-markdown", role: "menuitem", onclick: move |_| export(true, true), "Markdown (this branch)" }
                    button { class: "export-markdown-tree", role: "menuitem", onclick: move |_| export(true, false), "Markdown (all branches)" }
                    button { class: "export-json", role: "menuitem", onclick: move |_| export(false, false), "JSON (all branches)" }
                    button { class: "export-json-branch", role: "menuitem", onclick: move |_| export(false, true), "JSON (this branch)" }
                }
            }
            if let Some(path) = saved() {
                span { class: "export-saved", role: "status", "Saved to {path}" }
            }
        }
    }
}

/// Hands `text` to the browser as a file download.
fn download(name: &str, text: &str, markdown: bool) {
    let mime = if markdown {
        "text/markdown"
    } else {
        "application/json"
    };
    crate::page::download(name, text, mime);
}

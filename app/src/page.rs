//! The few things the UI does to the page itself, outside the component
//! tree: the clock, the Ctrl/Cmd+K shortcut, bringing a message into view,
//! and handing a file to the browser. In the browser they go through
//! web-sys, because evaluating strings needs `'unsafe-eval'`, which the web
//! server's Content-Security-Policy refuses. The desktop webview has no
//! such policy and no web-sys, so there they are short scripts.

use std::time::Duration;

/// How long a found message stays marked.
const MARK_FOR: Duration = Duration::from_millis(2500);

/// The page's clock, in milliseconds since the epoch.
pub fn now_ms() -> i64 {
    #[cfg(target_arch = "wasm32")]
    {
        js_sys::Date::now() as i64
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }
}

/// Makes Ctrl+K (Cmd+K) focus the element `input_id`, once per page.
pub fn install_search_shortcut(input_id: &'static str) {
    #[cfg(target_arch = "wasm32")]
    web::install_search_shortcut(input_id);
    #[cfg(not(target_arch = "wasm32"))]
    {
        let id = serde_json::to_string(input_id).unwrap_or_default();
        let _ = dioxus::document::eval(&format!(
            r#"if (!window.__kestrelSearchKey) {{
  window.__kestrelSearchKey = true;
  window.addEventListener('keydown', (e) => {{
    if ((e.ctrlKey || e.metaKey) && !e.altKey && !e.shiftKey && e.key.toLowerCase() === 'k') {{
      const box = document.getElementById({id});
      if (box) {{ e.preventDefault(); box.focus(); box.select(); }}
    }}
  }}, true);
}}"#
        ));
    }
}

/// Waits (up to about two seconds) for the message to be on the page,
/// scrolls it to the middle of the view and marks it with the class
/// `search-target` for a moment.
pub async fn reveal_message(message_id: String) {
    for _ in 0..40 {
        if mark(&message_id, true).await {
            crate::time::sleep(MARK_FOR).await;
            mark(&message_id, false).await;
            return;
        }
        crate::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Marks (or unmarks) the message; whether it is on the page.
async fn mark(message_id: &str, on: bool) -> bool {
    #[cfg(target_arch = "wasm32")]
    {
        web::mark(message_id, on)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let id = serde_json::to_string(message_id).unwrap_or_default();
        let code = format!(
            r#"const el = document.querySelector(`.transcript [data-message-id=${{JSON.stringify({id})}}]`);
if (!el) return false;
if ({on}) {{
  document.querySelectorAll('.search-target').forEach((old) => old.classList.remove('search-target'));
  el.scrollIntoView({{ block: 'center' }});
  el.classList.add('search-target');
}} else {{
  el.classList.remove('search-target');
}}
return true;"#
        );
        dioxus::document::eval(&code)
            .join::<bool>()
            .await
            .unwrap_or(false)
    }
}

/// Hands `text` to the browser as a file named `name` of type `mime`.
pub fn download(name: &str, text: &str, mime: &str) {
    #[cfg(target_arch = "wasm32")]
    web::download(name, text, mime);
    #[cfg(not(target_arch = "wasm32"))]
    {
        let (Ok(name), Ok(text), Ok(kind)) = (
            serde_json::to_string(name),
            serde_json::to_string(text),
            serde_json::to_string(&format!("{mime};charset=utf-8")),
        ) else {
            return;
        };
        let _ = dioxus::document::eval(&format!(
            "const url = URL.createObjectURL(new Blob([{text}], {{ type: {kind} }}));
             const a = document.createElement('a');
             a.href = url; a.download = {name};
             document.body.appendChild(a); a.click(); a.remove();
             setTimeout(() => URL.revokeObjectURL(url), 10000);"
        ));
    }
}

#[cfg(target_arch = "wasm32")]
mod web {
    use std::cell::Cell;

    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;
    use web_sys::{
        Blob, BlobPropertyBag, HtmlAnchorElement, HtmlInputElement, KeyboardEvent,
        ScrollIntoViewOptions, ScrollLogicalPosition, Url,
    };

    thread_local! {
        static SHORTCUT_INSTALLED: Cell<bool> = const { Cell::new(false) };
    }

    fn document() -> Option<web_sys::Document> {
        web_sys::window()?.document()
    }

    pub fn install_search_shortcut(input_id: &'static str) {
        if SHORTCUT_INSTALLED.with(|done| done.replace(true)) {
            return;
        }
        let Some(window) = web_sys::window() else {
            return;
        };
        let handler = Closure::<dyn FnMut(KeyboardEvent)>::new(move |e: KeyboardEvent| {
            let shortcut = (e.ctrl_key() || e.meta_key())
                && !e.alt_key()
                && !e.shift_key()
                && e.key().eq_ignore_ascii_case("k");
            if !shortcut {
                return;
            }
            let input = document()
                .and_then(|d| d.get_element_by_id(input_id))
                .and_then(|el| el.dyn_into::<HtmlInputElement>().ok());
            if let Some(input) = input {
                e.prevent_default();
                let _ = input.focus();
                input.select();
            }
        });
        let _ = window.add_event_listener_with_callback_and_bool(
            "keydown",
            handler.as_ref().unchecked_ref(),
            true,
        );
        // The listener lives as long as the page.
        handler.forget();
    }

    pub fn mark(message_id: &str, on: bool) -> bool {
        let Some(document) = document() else {
            return false;
        };
        let selector = format!(".transcript [data-message-id=\"{message_id}\"]");
        let Ok(Some(element)) = document.query_selector(&selector) else {
            return false;
        };
        if on {
            if let Ok(old) = document.query_selector_all(".search-target") {
                for i in 0..old.length() {
                    if let Some(el) = old
                        .item(i)
                        .and_then(|n| n.dyn_into::<web_sys::Element>().ok())
                    {
                        let _ = el.class_list().remove_1("search-target");
                    }
                }
            }
            let options = ScrollIntoViewOptions::new();
            options.set_block(ScrollLogicalPosition::Center);
            element.scroll_into_view_with_scroll_into_view_options(&options);
            let _ = element.class_list().add_1("search-target");
        } else {
            let _ = element.class_list().remove_1("search-target");
        }
        true
    }

    pub fn download(name: &str, text: &str, mime: &str) {
        let Some(document) = document() else {
            return;
        };
        let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
        let options = BlobPropertyBag::new();
        options.set_type(&format!("{mime};charset=utf-8"));
        let Ok(blob) = Blob::new_with_str_sequence_and_options(&parts, &options) else {
            return;
        };
        let Ok(url) = Url::create_object_url_with_blob(&blob) else {
            return;
        };
        let anchor = document
            .create_element("a")
            .ok()
            .and_then(|el| el.dyn_into::<HtmlAnchorElement>().ok());
        if let (Some(anchor), Some(body)) = (anchor, document.body()) {
            anchor.set_href(&url);
            anchor.set_download(name);
            if body.append_child(&anchor).is_ok() {
                anchor.click();
                anchor.remove();
            }
        }
        // Revoked once the browser has had time to start the download.
        gloo_timers::callback::Timeout::new(10_000, move || {
            let _ = Url::revoke_object_url(&url);
        })
        .forget();
    }
}

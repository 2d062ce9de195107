//! The page address (`#<conversation id>`) in the browser, read and written
//! through web-sys rather than `document::eval`: evaluating strings needs
//! `'unsafe-eval'`, which the web server's Content-Security-Policy refuses.
//! Natively (desktop, server rendering) there is no address: reads give
//! `None` and writes do nothing.

/// The fragment of the page address, without `#`.
pub fn fragment() -> Option<String> {
    #[cfg(target_arch = "wasm32")]
    {
        let hash = web_sys::window()?.location().hash().ok()?;
        Some(hash.trim_start_matches('#').to_owned())
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        None
    }
}

/// Replaces the fragment (`None` removes it) without a new history entry.
pub fn set_fragment(fragment: Option<&str>) {
    #[cfg(target_arch = "wasm32")]
    {
        let Some(window) = web_sys::window() else {
            return;
        };
        let location = window.location();
        let path = location.pathname().unwrap_or_default();
        let search = location.search().unwrap_or_default();
        let hash = fragment.map(|f| format!("#{f}")).unwrap_or_default();
        if let Ok(history) = window.history() {
            let _ = history.replace_state_with_url(
                &wasm_bindgen::JsValue::NULL,
                "",
                Some(&format!("{path}{search}{hash}")),
            );
        }
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = fragment;
    }
}

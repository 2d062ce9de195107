//! How the desktop window opens: one place for the `kestrel` binary, the
//! desktop smoke test and the benchmarks, so all three start the same app.
//!
//! The stylesheet goes into the page's initial HTML (`with_custom_head`)
//! rather than being inserted by the first render: the webview then styles
//! and lays out the first frame once, instead of laying it out unstyled and
//! again when the stylesheet arrives.

use dioxus::desktop::{Config, LogicalSize, WindowBuilder};
use dioxus::prelude::*;

/// Provided as a root context when the stylesheet is already in the page's
/// head, so the app does not insert it a second time.
#[derive(Debug, Clone, Copy)]
pub struct StylesInHead;

/// The window and webview configuration.
pub fn config() -> Config {
    let window = WindowBuilder::new()
        .with_title("Kestrel")
        .with_inner_size(LogicalSize::new(1120.0, 780.0))
        .with_min_inner_size(LogicalSize::new(520.0, 400.0));
    Config::new()
        .with_window(window)
        .with_menu(None)
        .with_custom_head(format!("<style>{}</style>", crate::STYLE))
}

/// Opens the window with `root` (normally [`crate::App`]) and runs it until
/// the window closes.
pub fn launch(root: fn() -> Element) {
    dioxus::LaunchBuilder::desktop()
        .with_cfg(config())
        .with_context(StylesInHead)
        .launch(root);
}

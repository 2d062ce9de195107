//! How the desktop window opens: one place for the `kestrel` binary, the
//! desktop smoke test and the benchmarks, so all three start the same app.
//!
//! The stylesheet goes into the page's initial HTML (`with_custom_head`)
//! rather than being inserted by the first render: the webview then styles
//! and lays out the first frame once, instead of laying it out unstyled and
//! again when the stylesheet arrives.
//!
//! The webview never leaves the app's page. Dioxus already sends `http:`,
//! `https:` and `mailto:` navigations (a click on a link in a reply) to the
//! system browser and cancels them; [`allow_navigation`] refuses every
//! other one.

use dioxus::desktop::{Config, LogicalSize, WindowBuilder};
use dioxus::prelude::*;
use kestrel_server::Backend;

use crate::state::InitialData;

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
        .with_navigation_handler(allow_navigation)
        .with_custom_head(format!("<style>{}</style>", crate::STYLE))
}

/// Whether the webview may navigate to `url`: never. Called for the
/// addresses dioxus-desktop does not handle itself (it serves the app's own
/// `dioxus://` page and opens web and mail links in the system browser), so
/// a link in a reply with another scheme (`file:`, `data:`, a custom
/// protocol) is dropped instead of replacing the app.
pub fn allow_navigation(url: &str) -> bool {
    let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme);
    tracing::warn!(scheme, "blocked a navigation away from the app");
    false
}

/// Opens the window with `root` (normally [`crate::App`]) and runs it until
/// the window closes. With a backend installed, the first screen's data is
/// read before the window opens (about a millisecond), so the first frame
/// is the finished first screen.
pub fn launch(root: fn() -> Element) {
    choose_rendering_mode();
    let mut builder = dioxus::LaunchBuilder::desktop()
        .with_cfg(config())
        .with_context(StylesInHead);
    if let Some(initial) = prefetch() {
        builder = builder.with_context(initial);
    }
    builder.launch(root);
}

/// Without a GPU, WebKitGTK composites through software GL, which costs more
/// than its plain software path in every measure we took: slower first
/// paint, ~70 MB more memory, and a core kept busy painting tiles of long
/// scrolling lists (see BENCHMARKS.md). So where no GPU device exists,
/// compositing is turned off, unless the user already chose a mode
/// through `WEBKIT_DISABLE_COMPOSITING_MODE`.
fn choose_rendering_mode() {
    const VARIABLE: &str = "WEBKIT_DISABLE_COMPOSITING_MODE";
    if cfg!(target_os = "linux")
        && std::env::var_os(VARIABLE).is_none()
        && !std::path::Path::new("/dev/dri").exists()
    {
        tracing::info!("no GPU device: WebKit compositing off");
        // SAFETY: called before the webview exists, from the thread that
        // will run it; no other thread of this process reads the
        // environment (dioxus-desktop sets GDK_BACKEND the same way).
        #[allow(unsafe_code)]
        unsafe {
            std::env::set_var(VARIABLE, "1");
        }
    }
}

/// The first screen's data from the installed backend; `None` if there is
/// no backend or reading fails (the app then loads it, and shows the error).
fn prefetch() -> Option<InitialData> {
    let backend = Backend::global().ok()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    runtime.block_on(async {
        let (conversations, settings) =
            futures::join!(backend.list_conversations(), backend.settings());
        Some(InitialData {
            conversations: conversations.ok()?,
            settings: settings.ok()?,
            key_status: backend
                .key_status(kestrel_shared::ProviderKind::Anthropic)
                .await,
        })
    })
}

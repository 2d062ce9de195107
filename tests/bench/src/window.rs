//! What the two paint binaries share: the floor's launch code (the same
//! window settings as `kestrel`'s desktop mode), the in-page probe that waits for a selector and
//! then two animation frames, and the `FIRST_PAINT`/`PHASES` lines.

use std::io::Write;
use std::sync::OnceLock;
use std::time::Instant;

use anyhow::anyhow;
use dioxus::prelude::*;

use crate::{FIRST_PAINT, PHASES};

static MAIN_STARTED: OnceLock<Instant> = OnceLock::new();

/// Call first thing in `main`: the origin of the in-process timings.
pub fn mark_main_started() -> Instant {
    *MAIN_STARTED.get_or_init(Instant::now)
}

/// Milliseconds since [`mark_main_started`].
pub fn ms_since_main() -> f64 {
    MAIN_STARTED
        .get()
        .map(|start| start.elapsed().as_secs_f64() * 1000.0)
        .unwrap_or(f64::NAN)
}

/// Opens the floor's window with the same window settings as
/// `kestrel_app::desktop::config` (title, size, minimum size, no menu), but
/// none of Kestrel's page content. Does not return while the window is
/// open. (`paint-kestrel` launches through `kestrel_app::desktop::launch`
/// itself, so it starts exactly as `kestrel` does.)
pub fn launch(root: fn() -> Element) {
    use dioxus::desktop::{Config, LogicalSize, WindowBuilder};

    let window = WindowBuilder::new()
        .with_title("Kestrel")
        .with_inner_size(LogicalSize::new(1120.0, 780.0))
        .with_min_inner_size(LogicalSize::new(520.0, 400.0));
    let config = Config::new().with_window(window).with_menu(None);
    dioxus::LaunchBuilder::desktop()
        .with_cfg(config)
        .launch(root);
}

/// JavaScript that resolves once `first` matches (the first render is in
/// the page), then once `ready` matches, then once two animation frames
/// have begun (the frame that first showed `ready` has been painted).
/// Matches are checked on every DOM change, so there is no polling delay.
/// It returns those three moments in the page's clock (`performance.now()`,
/// milliseconds since the page's navigation started).
pub fn paint_probe_js(first: &str, ready: &str) -> String {
    format!(
        r#"const waitFor = (sel) => new Promise((resolve) => {{
  if (document.querySelector(sel)) return resolve(performance.now());
  const mo = new MutationObserver(() => {{
    if (document.querySelector(sel)) {{ mo.disconnect(); resolve(performance.now()); }}
  }});
  mo.observe(document.documentElement, {{ subtree: true, childList: true, attributes: true }});
}});
const first_dom_ms = await waitFor({first:?});
const ready_ms = await waitFor({ready:?});
await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
return {{ first_dom_ms, ready_ms, painted_ms: performance.now() }};"#
    )
}

/// Waits (in the page) until `first`, then `ready`, match and two frames
/// have begun; returns the page-clock timings of [`paint_probe_js`].
pub async fn wait_painted(first: &str, ready: &str) -> anyhow::Result<serde_json::Value> {
    document::eval(&paint_probe_js(first, ready))
        .join::<serde_json::Value>()
        .await
        .map_err(|e| anyhow!("the paint probe failed: {e}"))
}

/// Prints the `FIRST_PAINT` line and flushes stdout.
pub fn report_first_paint() {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{FIRST_PAINT}");
    let _ = out.flush();
}

/// Prints the `PHASES {json}` line (in-process timings) and flushes.
pub fn report_phases(phases: &serde_json::Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{PHASES}{phases}");
    let _ = out.flush();
}

/// Prints a failure to stderr and exits with status 1: the runner sees the
/// process end without `FIRST_PAINT`.
pub fn fail(error: &anyhow::Error) -> ! {
    eprintln!("benchmark app failed: {error:#}");
    std::process::exit(1)
}

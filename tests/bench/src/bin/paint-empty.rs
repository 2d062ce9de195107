//! `paint-empty`: the floor. An empty Dioxus desktop app (one div with a
//! line of text), launched with the same code as Kestrel's desktop window.
//! Once mounted, it waits for the div and two animation frames, prints
//! `FIRST_PAINT` (and a `PHASES` line with its in-process timings) and
//! stays open until it is killed.

use dioxus::prelude::*;
use kestrel_bench::window;

fn main() {
    window::mark_main_started();
    window::launch(Floor);
}

#[allow(non_snake_case)]
fn Floor() -> Element {
    use_effect(|| {
        let mounted_ms = window::ms_since_main();
        spawn(async move {
            let page = match window::wait_painted("#floor", "#floor").await {
                Ok(page) => page,
                Err(error) => window::fail(&error),
            };
            let painted_ms = window::ms_since_main();
            window::report_first_paint();
            window::report_phases(&serde_json::json!({
                "mounted_ms": mounted_ms,
                "painted_ms": painted_ms,
                "page": page,
            }));
        });
    });
    rsx! {
        div { id: "floor", "An empty Dioxus desktop app: the floor for Kestrel's benchmarks." }
    }
}

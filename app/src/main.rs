//! The `kestrel` binary.
//!
//! - `kestrel`: the desktop app, with the backend in this process (no
//!   backend port). Without a display it serves the web UI instead.
//! - `kestrel serve [--port N] [--host ADDR] [--data-dir DIR]`: the web UI
//!   and its backend on 127.0.0.1 (another address needs the access token).
//! - `kestrel search QUERY [--titles-only] [--since DATE] [--until DATE]
//!   [--limit N]`: full-text search of every conversation, as JSON.
//! - `kestrel export [--conversation ID] [--format json|markdown]
//!   [--branch] [-o FILE]` and `kestrel import FILE [--from …]`.
//!
//! Built for wasm32 (the `web` feature), the same `main` starts the
//! browser client, which talks to `kestrel serve` on its own origin.

#[cfg(feature = "server")]
mod cli;

#[cfg(feature = "server")]
fn main() -> std::process::ExitCode {
    cli::main()
}

#[cfg(not(feature = "server"))]
fn main() {
    dioxus::launch(kestrel_app::App);
}

//! Kestrel's user interface: one Dioxus component tree that runs as the
//! desktop app (backend in-process) and as the web app (wasm, talking to the
//! `kestrel` web server on its own origin).
//!
//! [`App`] is the root. The state and the actions that change it are in
//! [`state`]; components live in [`components`], one room each and named
//! for what the person sees. Business logic stays in `kestrel-server`.

mod address;
pub mod branching;
pub mod components;
pub mod conversations;
#[cfg(feature = "desktop")]
pub mod desktop;
pub mod drafts;
pub mod markdown;
mod page;
pub mod state;
mod time;

pub use components::App;

/// The stylesheet, compiled in so every platform renders it without an
/// asset pipeline.
pub const STYLE: &str = include_str!("../../assets/style.css");

//! Kestrel's backend and the server functions the UI calls.
//!
//! With the `server` feature (the default) this is the whole backend as
//! plain async Rust: [`Backend`] owns the [`store::Store`] (SQLite), the
//! [`secrets::KeyStore`] and the [`anthropic::AnthropicClient`], and runs
//! turns ([`chat`]). Without it, only [`api`] remains: the client side of
//! the server functions, which is what the wasm UI links.
//!
//! Layers point one way: [`sse`] (framing) → [`anthropic`] (wire format and
//! client) → [`llm`] (provider-neutral events) and [`provider`] (the
//! provider trait, retries, models, prices) → [`chat`] (the turn) →
//! [`api`] (server functions). [`store`], [`secrets`] and [`config`] are
//! leaves. [`web_guard`] is the web server's front door (host, origin,
//! access token, size and rate limits, security headers).

pub mod api;

#[cfg(feature = "server")]
pub mod anthropic;
#[cfg(feature = "server")]
mod backend;
#[cfg(feature = "server")]
pub mod chat;
#[cfg(feature = "server")]
pub mod config;
#[cfg(feature = "server")]
pub mod llm;
#[cfg(feature = "server")]
pub mod logging;
#[cfg(feature = "server")]
pub mod openai;
#[cfg(feature = "server")]
pub mod provider;
#[cfg(feature = "server")]
pub mod secrets;
#[cfg(feature = "server")]
pub mod sse;
#[cfg(feature = "server")]
pub mod store;
#[cfg(feature = "server")]
pub mod transfer;
#[cfg(feature = "server")]
pub mod web_guard;

#[cfg(feature = "server")]
pub use backend::{Backend, ExportFormat, Providers, StartError};

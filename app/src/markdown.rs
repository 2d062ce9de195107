//! Replies as formatted text: Markdown to HTML ([`render`]), code blocks
//! highlighted ([`highlight`]), and every byte of the result passed through
//! an allow-list sanitiser ([`sanitize`]) before the UI inserts it. The
//! streaming reply is cut into finished blocks and a live tail by
//! [`split`], so each block is rendered once.
//!
//! The same code runs in the desktop process and in the browser's wasm.
//! Model output is untrusted: the renderer shows raw HTML in it as text,
//! and the sanitiser removes anything that could run script, load a page
//! or restyle the app even if the renderer let it through.

mod highlight;
mod render;
mod sanitize;
mod split;

pub use render::{Highlight, to_html};
pub use sanitize::sanitize;
pub use split::split_finished;

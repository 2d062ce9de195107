//! One behaviour per file.

mod client;
mod common;
mod turns;

//! One behaviour per file.

mod client;
mod common;
mod keys;
mod turns;

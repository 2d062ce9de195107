//! One behaviour per file.

mod branches;
mod client;
mod common;
mod turns;

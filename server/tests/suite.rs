//! One behaviour per file.

mod bad_input;
mod client;
mod common;
mod conformance;
mod fake_clock;
mod models;
mod openai;
mod retry;
mod turns;

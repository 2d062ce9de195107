//! One behaviour per file.

mod bad_input;
mod branches;
mod client;
mod common;
mod conformance;
mod conversations;
mod fake_clock;
mod keys;
mod migrations;
mod models;
mod openai;
mod recovery;
mod retry;
mod turns;

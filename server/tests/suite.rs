//! One behaviour per file.

mod branches;
mod client;
mod common;
mod migrations;
mod recovery;
mod turns;

//! One behaviour per file.

mod branches;
mod client;
mod common;
mod conversations;
mod migrations;
mod recovery;
mod turns;

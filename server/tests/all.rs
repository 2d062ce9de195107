//! Integration tests of the backend against the mock Anthropic server over
//! real HTTP on loopback, with real SQLite files in temp dirs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod suite;

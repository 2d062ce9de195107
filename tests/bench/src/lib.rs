//! `kestrel-bench`: Kestrel's desktop benchmarks, measured from outside the
//! app against an empty Dioxus desktop app (the floor).
//!
//! This file owns the crate layout. The binaries (all built at once with
//! `cargo build --release -p kestrel-bench`):
//!
//! - `paint-empty`: the floor, an empty Dioxus desktop app launched like
//!   Kestrel; prints `FIRST_PAINT` once its first frame is on screen.
//! - `paint-kestrel`: the real Kestrel UI with its backend in-process;
//!   prints `FIRST_PAINT` once it is ready and painted, and optionally
//!   streams a reply and reports what that cost the DOM.
//! - `fill-db`: a Kestrel database with many stored conversations.
//! - `stream-bench`: the streaming client benchmark: `kestrel -p`, the
//!   official Python and TypeScript SDKs and `stream-floor` (the least a
//!   Rust client can do) against the mock server; see
//!   `tests/bench/stream-bench.sh`; `stream-reqwest` is a reference row
//!   between the floor and Kestrel (the floor's parsing through tokio and
//!   reqwest, nothing else). `measure-child` is its launcher, which
//!   reports a client's own CPU time and peak RSS.
//! - `desktop-bench`: the runner. Starts Xvfb, the mock Anthropic server and
//!   the apps, measures cold start, memory and streaming, and writes
//!   `target/bench/desktop.json`.
//!
//! `tests/bench/web-bundle-size.sh` measures the web bundle.
//!
//! The modules: [`window`] (the launch code and the in-page probes the
//! paint binaries share), [`child`] (a child's own CPU time and peak RSS
//! from `wait4`), [`words`] (deterministic realistic text),
//! [`procs`] (reading `/proc`), [`run`] (spawning, timing and killing one
//! app), [`xvfb`] (a private X server), [`session_bus`] (a private D-Bus
//! session bus) and [`stats`] (medians).

pub mod child;
pub mod procs;
pub mod run;
pub mod session_bus;
pub mod stats;
pub mod window;
pub mod words;
pub mod xvfb;

/// The line the paint binaries print (and flush) once the first frame is
/// painted. The runner times spawn → this line.
pub const FIRST_PAINT: &str = "FIRST_PAINT";

/// Prefix of the line the paint binaries print after [`FIRST_PAINT`] with
/// their in-process timings as JSON.
pub const PHASES: &str = "PHASES ";

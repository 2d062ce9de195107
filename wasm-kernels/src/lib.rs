//! Pure, synchronous compute kernels: no I/O, no panics on any input, no
//! unbounded allocation. The same code runs natively in the backend and as
//! wasm32 inside the web UI.
//!
//! So far: [`estimate_tokens`], the live token count under the composer.
//!
//! ```
//! assert_eq!(kestrel_kernels::estimate_tokens(""), 0);
//! assert!(kestrel_kernels::estimate_tokens("Hello, world!") >= 3);
//! ```

mod tokens;

pub use tokens::estimate_tokens;

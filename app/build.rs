//! Link settings for the native binaries.
//!
//! On Linux with glibc the binaries are linked with packed relative
//! relocations (`DT_RELR`, `-z pack-relative-relocs`): a position-
//! independent executable keeps its address randomisation, but the loader
//! no longer reads a 1.3 MB relocation table at every start. That table
//! was resident in every process, so `kestrel -p` starts ~3 MB smaller
//! (BENCHMARKS.md, "Streaming clients"). GNU ld only emits the packed form
//! when the C library supports it (glibc 2.36 and later), and ignores the
//! option otherwise.

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
    println!("cargo:rerun-if-changed=build.rs");
}

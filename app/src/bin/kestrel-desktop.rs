//! The `kestrel-desktop` binary: the desktop window with the backend in
//! this process (no backend port). `kestrel` starts it by exec'ing it from
//! its own directory, so the command-line paths (`kestrel -p`, `kestrel
//! serve`) never load WebKitGTK and GTK; see docs/architecture.md.
//!
//! Flags: `--data-dir DIR` (or `KESTREL_DATA_DIR`), as for `kestrel`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use kestrel_server::config::Config;
use kestrel_server::secrets::KeyStore;
use kestrel_server::{Backend, logging};

/// Kestrel's desktop window.
#[derive(Debug, Parser)]
#[command(name = "kestrel-desktop", version, about)]
struct Args {
    /// Where conversations, settings and logs are kept [env: KESTREL_DATA_DIR]
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let config = match Config::resolve(args.data_dir) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("kestrel: {error}");
            return ExitCode::FAILURE;
        }
    };
    let _log_guard = logging::init(&config.log_dir());
    let backend = match Backend::open(config, KeyStore::open()) {
        Ok(backend) => backend,
        Err(error) => {
            tracing::error!("{error}");
            eprintln!("kestrel: {error}");
            return ExitCode::FAILURE;
        }
    };
    Backend::install(backend);
    tracing::info!("opening the desktop window");
    kestrel_app::desktop::launch(kestrel_app::App);
    ExitCode::SUCCESS
}

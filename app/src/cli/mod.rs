//! Command-line handling for the native `kestrel` binary: parse flags,
//! start logging and the backend, then run the desktop window or the web
//! server. Each subcommand lives in its own file beside this one.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use kestrel_server::config::Config;
use kestrel_server::secrets::KeyStore;
use kestrel_server::{Backend, logging};

mod export;
mod import;
mod search;
mod serve;

/// Kestrel: a fast, private AI assistant.
#[derive(Debug, Parser)]
#[command(name = "kestrel", version, about)]
struct Cli {
    /// Where conversations, settings and logs are kept [env: KESTREL_DATA_DIR]
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the web UI (on 127.0.0.1 unless --host says otherwise).
    Serve(serve::ServeArgs),
    /// Search every conversation and print the hits as JSON.
    Search(search::SearchArgs),
    /// Export conversations as JSON or Markdown.
    Export(export::ExportArgs),
    /// Import Kestrel's JSON, a Claude.ai or a ChatGPT export.
    Import(import::ImportArgs),
    /// Open the desktop window (the default when a display is available).
    #[cfg(feature = "desktop")]
    Desktop,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::resolve(cli.data_dir) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("kestrel: {error}");
            return ExitCode::FAILURE;
        }
    };
    let command = match cli.command {
        Some(Command::Search(args)) => return search::run(&config, args),
        other => other,
    };
    let _log_guard = logging::init(&config.log_dir());
    let data_dir = config.data_dir.clone();
    let backend = match Backend::open(config, KeyStore::open()) {
        Ok(backend) => backend,
        Err(error) => {
            tracing::error!("{error}");
            eprintln!("kestrel: {error}");
            return ExitCode::FAILURE;
        }
    };
    let handle = std::sync::Arc::clone(&backend);
    Backend::install(backend);

    match command {
        Some(Command::Search(_)) => ExitCode::SUCCESS,
        Some(Command::Serve(args)) => serve::serve(args, &data_dir),
        Some(Command::Export(args)) => export::export(handle, args),
        Some(Command::Import(args)) => import::import(handle, args),
        #[cfg(feature = "desktop")]
        Some(Command::Desktop) => desktop(),
        #[cfg(feature = "desktop")]
        None if has_display() => desktop(),
        None => {
            println!("No display found; serving the web UI instead.");
            serve::serve(serve::ServeArgs::loopback(), &data_dir)
        }
    }
}

/// A runtime for a one-shot subcommand.
fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| {
            eprintln!("kestrel: cannot start the async runtime: {error}");
            ExitCode::FAILURE
        })
}

/// Whether a desktop window can open here.
#[cfg(feature = "desktop")]
fn has_display() -> bool {
    if cfg!(any(
        target_os = "linux",
        target_os = "freebsd",
        target_os = "openbsd"
    )) {
        std::env::var_os("DISPLAY").is_some_and(|v| !v.is_empty())
            || std::env::var_os("WAYLAND_DISPLAY").is_some_and(|v| !v.is_empty())
    } else {
        true
    }
}

#[cfg(feature = "desktop")]
fn desktop() -> ExitCode {
    tracing::info!("opening the desktop window");
    kestrel_app::desktop::launch(kestrel_app::App);
    ExitCode::SUCCESS
}
